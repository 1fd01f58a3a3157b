extension OperatorCostModel {
    /// A linear layer in FP8 under `fp8Recipe` (Docs/cost-model.md, "FP8"): its three GEMMs (forward, the
    /// input gradient, the weight gradient) at the device's FP8 rate, plus the recipe's casts as memory-bound
    /// kernels of their own (`FP8Recipe.Traffic`), weight casts spread over the microbatches where the recipe
    /// caches its FP8 weights for the iteration (with FP8 parameters, only the transpose of the FP8 weight). The GEMMs
    /// write 16-bit results, so nothing downstream changes.
    func fp8LinearCost(_ operation: Operation, weightOperand: Int, batch: Double, m: Double, n: Double,
                       k: Double) -> OperatorCost {
        let traffic = fp8Recipe.traffic(fp8Parameters: fp8Parameters)
        let inputOperand = 1 - weightOperand
        // Operand 0 is m x k, operand 1 is k x n (`contractionCost`); the output gradient is m x n.
        let operandElements = [batch * m * k, batch * k * n]
        let (inputElements, weightElements) = (operandElements[inputOperand], operandElements[weightOperand])
        let gradientElements = batch * m * n
        func casts(_ bytesPerElement: [Double], _ elements: Double) -> Double {
            bytesPerElement.reduce(0) { $0 + kernels.memorySeconds(bytes: $1 * elements) }
        }
        let weightCasts = casts(traffic.weightCasts, weightElements)
            / (traffic.castsWeightsEveryMicrobatch ? 1 : Double(microbatches))
        let aligned = KernelModel.fillsVectors(n, dtype: .fp8) && KernelModel.fillsVectors(k, dtype: .fp8)
        let forward = kernels.matmulSeconds(batch: batch, m: m, n: n, k: k, dtype: .fp8, aligned: aligned)
            + casts(traffic.forwardInputCasts, inputElements) + weightCasts
        var backward = 0.0
        let inputNeedsGradient = gradients[operation.inputs[inputOperand]]
        let weightNeedsGradient = gradients[operation.inputs[weightOperand]]
        if inputNeedsGradient || weightNeedsGradient { backward += casts(traffic.gradientCasts, gradientElements) }
        if gradients[operation.inputs[0]] {
            backward += kernels.matmulSeconds(batch: batch, m: m, n: k, k: n, dtype: .fp8, aligned: aligned)
        }
        if gradients[operation.inputs[1]] {
            backward += kernels.matmulSeconds(batch: batch, m: k, n: n, k: m, dtype: .fp8, aligned: aligned)
        }
        if inputNeedsGradient { backward += casts(traffic.backwardWeightCasts, weightElements) }
        if weightNeedsGradient { backward += casts(traffic.backwardInputCasts, inputElements) }
        let use = OperatorCost.FP8Use(inputOperand: inputOperand,
                                      savedInputBytesPerElement: traffic.savedInputBytesPerElement,
                                      weightCopyBytes: weightElements * traffic.weightCopyBytesPerElement)
        return OperatorCost(category: .matmul, forwardSeconds: forward, backwardSeconds: backward,
                            forwardCollectives: [], backwardCollectives: [], forwardFLOPs: 2 * batch * m * n * k, fp8: use)
    }
}
