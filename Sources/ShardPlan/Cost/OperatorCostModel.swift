/// Prices ops under strategies on a mesh: the per-device shapes follow from the strategy's splits (and the
/// microbatch count, which divides the batch index), and the `KernelModel` turns shapes into seconds.
public struct OperatorCostModel: Sendable {
    public let graph: Graph
    public let kernels: KernelModel
    public let meshShape: [Int]
    /// Microbatches per iteration: the batch index of every op is divided by this.
    public let microbatches: Int
    /// The arithmetic of linear layers and, for FP8, the recipe.
    public let precision: MatmulPrecision
    public let fp8Recipe: FP8Recipe
    /// Whether the FP8 linear layers' weights are kept in FP8 (`TrainingOptions.fp8Parameters`).
    public let fp8Parameters: Bool
    /// How the stack fuses kernels (`TrainingOptions.kernelFusion`).
    public let fusionLevel: KernelFusionLevel
    /// Whether the loss is one fused kernel per pass instead of Megatron's kernel-by-kernel cross-entropy.
    public let fusedCrossEntropy: Bool
    /// How the loss's kernels run (`TrainingOptions.lossFusion`): as every other op's, or eager in a compiled step.
    public let lossFusionLevel: KernelFusionLevel
    /// Whether an eager loss upcasts the logits to fp32 first (`TrainingOptions.upcastsLoss`).
    public let upcastsLoss: Bool
    /// How attention that splits its queries exchanges keys and values (`TrainingOptions.contextParallelCommunication`).
    public let contextParallelCommunication: ContextParallelCommunication
    let roles: TensorRoles
    let gradients: GradientFlow
    let fusion: KernelFusion
    let linearLayers: LinearLayers
    let accumulation: GradientAccumulation

    public init(graph: Graph, kernels: KernelModel, meshShape: [Int], microbatches: Int,
                precision: MatmulPrecision = .bf16, fp8Recipe: FP8Recipe = .tensorwise, fp8Parameters: Bool = false,
                fusion fusionLevel: KernelFusionLevel = .fused, fusedCrossEntropy: Bool = false,
                lossFusion: KernelFusionLevel? = nil, upcastsLoss: Bool = true,
                contextParallelCommunication: ContextParallelCommunication = .ring, roles: TensorRoles? = nil, gradients: GradientFlow? = nil, fusion: KernelFusion? = nil,
                linearLayers: LinearLayers? = nil, accumulation: GradientAccumulation? = nil) {
        self.graph = graph
        self.fusionLevel = fusionLevel
        self.fusedCrossEntropy = fusedCrossEntropy
        self.lossFusionLevel = lossFusion ?? fusionLevel
        self.upcastsLoss = upcastsLoss
        self.contextParallelCommunication = contextParallelCommunication
        self.kernels = kernels
        self.meshShape = meshShape
        self.microbatches = microbatches
        self.precision = precision
        self.fp8Recipe = fp8Recipe
        self.fp8Parameters = fp8Parameters
        self.roles = roles ?? TensorRoles(graph)
        self.gradients = gradients ?? GradientFlow(graph)
        self.fusion = fusion ?? KernelFusion(graph, level: fusionLevel)
        self.linearLayers = linearLayers ?? LinearLayers(graph)
        self.accumulation = accumulation ?? GradientAccumulation(graph, gradients: self.gradients, level: fusionLevel)
    }

    /// Per-device extent of every index of op `operationIndex` under `strategy`, for one microbatch.
    public func localSizes(_ operationIndex: Int, _ strategy: OpStrategy) -> [Double] {
        let operation = graph.operations[operationIndex]
        let batch = roles.batchIndex[operationIndex]
        return operation.indexSpace.indices.indices.map { index in
            var size = Double(operation.indexSpace.indices[index].size) / Double(strategy.splitFactor(of: index, meshShape: meshShape))
            if index == batch { size /= Double(microbatches) }
            return size
        }
    }

    /// Per-device elements of a tensor laid out as `spec`, for one microbatch.
    public func localElements(_ value: ValueID, _ spec: ShardingSpec) -> Double {
        let type = graph[value].type
        var elements = Double(type.elementCount) / Double(spec.totalSplitFactor(meshShape: meshShape))
        if roles.batchDimension[value.rawValue] != nil { elements /= Double(microbatches) }
        return elements
    }

    /// Per-device bytes of a tensor laid out as `spec`, for one microbatch.
    public func localBytes(_ value: ValueID, _ spec: ShardingSpec) -> Double {
        localElements(value, spec) * Double(graph[value].type.dtype.byteSize)
    }

    /// The cost of op `operationIndex` under `strategy`.
    public func cost(_ operationIndex: Int, _ strategy: OpStrategy) -> OperatorCost {
        let operation = graph.operations[operationIndex]
        let space = operation.indexSpace
        let sizes = localSizes(operationIndex, strategy)
        let needsBackward = operation.inputs.contains { gradients[$0] }
        var cost: OperatorCost
        switch operation.op {
        case .einsum, .matmul:
            cost = contractionCost(operation, operationIndex, sizes)
        case .attention(let causal, let window, _):
            cost = attentionCost(operation, strategy, sizes, causal: causal, window: window,
                                 ringSize: ContextParallelExchange.ringSize(operation, strategy, meshShape: meshShape))
        case .conv2d:
            cost = convolutionCost(operation, operationIndex, strategy, sizes)
        default:
            cost = memoryBoundCost(operation, operationIndex, strategy)
        }
        if !needsBackward { cost.backwardSeconds = 0 }
        // Autograd sums the gradients of the result's readers before this op's backward runs (eager stacks).
        let accumulations = Double(accumulation[operation.result])
        if accumulations > 0 {
            let bytes = localBytes(operation.result, strategy.resultSpec(in: space))
            cost.backwardSeconds += accumulations * kernels.memorySeconds(bytes: 3 * bytes)
        }
        // Splitting a coupled index (softmax or norm axis, cross-entropy classes) costs an all-reduce of the
        // per-row statistics in each direction.
        for (axis, assigned) in strategy.indexOfAxis.enumerated() {
            guard let index = assigned, meshShape[axis] > 1, case .coupled(let statistics) = space.indices[index].role else { continue }
            let coupled = Set(space.indices.indices.filter { if case .coupled = space.indices[$0].role { true } else { false } })
            let rows = space.operandIndices[0].compactMap { $0 }.filter { !coupled.contains($0) }.reduce(1.0) { $0 * sizes[$1] }
            cost.forwardCollectives.append(Collective(.allReduce, axes: [axis], bytes: rows * Double(statistics) * 4))
            if needsBackward {
                let backward = Self.backwardStatistics(operation.op) ?? statistics
                cost.backwardCollectives.append(Collective(.allReduce, axes: [axis], bytes: rows * Double(backward) * 4))
            }
        }
        // A graph output (the loss) leaves the step whole: XLA all-reduces its partial sums, one collective per
        // summed index that is split (the mean over a split batch is a 4-byte all-reduce).
        let result = strategy.resultSpec(in: space)
        if !result.partialSums.isEmpty && graph.outputs.contains(operation.result) {
            let type = graph[operation.result].type
            cost.forwardCollectives += Resharding.collectives(from: result, to: result.reduced,
                                                              elementCount: localElements(operation.result, .replicated(rank: type.rank)),
                                                              bytesPerElement: type.dtype.byteSize, meshShape: meshShape)
        }
        return cost
    }

    /// Per-row statistics the backward pass of a coupled op all-reduces, where fewer than the forward pass's.
    /// Softmax and log-softmax need one, the row sum of the cotangent times the output (the maximum is a
    /// constant shift); cross-entropy's backward is log-softmax's (forward: maximum, sum of exponentials and
    /// the target logit). Norms reduce two sums in backward as in forward. Seen in the HLO of the JAX check
    /// (Docs/jax.md): one `[b, h, s]` all-reduce in the backward pass of an attention softmax split over keys.
    private static func backwardStatistics(_ op: Operator) -> Int? {
        switch op {
        case .softmax, .logSoftmax, .crossEntropy: return 1
        default: return nil
        }
    }

    /// A contraction as batched GEMMs: indices in both operands and the result are the batch, indices of
    /// one operand and the result are the rows (m) or columns (n), summed indices the depth (k). The
    /// backward pass is one product of the same size per operand that needs a gradient.
    private func contractionCost(_ operation: Operation, _ operationIndex: Int, _ sizes: [Double]) -> OperatorCost {
        let space = operation.indexSpace
        let dtype = graph[operation.result].type.dtype
        guard operation.inputs.count == 2 else {
            // A one-operand einsum (a transpose or a sum) moves data; one of three or more operands is a chain
            // of products, priced at the best matmul rate since its shapes depend on the contraction order.
            let flops = 2 * sizes.reduce(1, *) * Double(max(operation.inputs.count - 1, 1))
            let bytes = sizes.reduce(1, *) * Double(dtype.byteSize) * 2
            let seconds = operation.inputs.count == 1 ? kernels.memorySeconds(bytes: bytes)
                : kernels.launchSeconds + flops / (kernels.peak(for: dtype) * kernels.bestMatmulEfficiency)
            return OperatorCost(category: operation.inputs.count == 1 ? .memoryBound : .matmul, forwardSeconds: seconds,
                                backwardSeconds: 2 * seconds, forwardCollectives: [], backwardCollectives: [],
                                forwardFLOPs: operation.inputs.count == 1 ? 0 : flops)
        }
        let left = Set(space.operandIndices[0].compactMap { $0 }), right = Set(space.operandIndices[1].compactMap { $0 })
        let result = Set(space.resultIndices.compactMap { $0 })
        var batch = 1.0, m = 1.0, n = 1.0, k = 1.0
        for index in space.indices.indices {
            let size = sizes[index]
            switch (left.contains(index), right.contains(index), result.contains(index)) {
            case (true, true, true): batch *= size
            case (true, false, _): if result.contains(index) { m *= size } else { k *= size }
            case (false, true, _): if result.contains(index) { n *= size } else { k *= size }
            case (true, true, false): k *= size
            case (false, false, _): m *= size
            }
        }
        // What the op sums over before sharding: a product is shallow by its kind (the rotary rotation), not
        // because a strategy splits a deep sum into short local ones, which still run as GEMMs.
        let depth = space.indices.indices.filter { !result.contains($0) && (left.contains($0) || right.contains($0)) }
            .reduce(1.0) { $0 * Double(space.indices[$1].size) }
        if depth < Self.minimumTensorCoreDepth {
            return shallowProductCost(operation, batch: batch, m: m, n: n, k: k, dtype: dtype)
        }
        let cost = gemmCost(operation, batch: batch, m: m, n: n, k: k, dtype: dtype)
        guard precision != .bf16, let weight = linearLayers[operationIndex] else { return cost }
        let fp8 = fp8LinearCost(operation, weightOperand: weight, batch: batch, m: m, n: n, k: k)
        if precision == .auto && fp8.forwardSeconds + fp8.backwardSeconds >= cost.forwardSeconds + cost.backwardSeconds {
            return cost
        }
        return fp8
    }

    /// Products summing fewer terms than this run as pointwise kernels, not as tensor-core GEMMs: the rotary
    /// embedding's 2 x 2 rotation of each pair (`bshpj,spij->bshpi`, depth 2) is an elementwise multiply-add
    /// in every implementation (Meta's complex multiply, TransformerEngine's and Apex's fused RoPE kernels),
    /// and a tensor-core tile's smallest depth is 16 elements (8 for tf32).
    static let minimumTensorCoreDepth = 8.0

    /// A product too shallow for tensor cores (`minimumTensorCoreDepth`) as memory-bound kernels. Fused (a
    /// fused RoPE kernel, torch.compile): forward reads both operands and writes the result in one kernel.
    /// Eager PyTorch runs a 16-bit product through fp32 as Meta's and torchtitan's `apply_rotary_emb` does:
    /// upcast the first operand (width + 4 bytes an element), the complex multiply (reads fp32, writes fp32,
    /// and reads the table as complex64, 2 bytes an element of its 2 x 2 form), downcast (4 + width): three
    /// kernels. Backward runs the same kernels once per operand that needs a gradient (autograd's complex
    /// multiply by the conjugate between the same casts).
    private func shallowProductCost(_ operation: Operation, batch: Double, m: Double, n: Double, k: Double,
                                    dtype: DType) -> OperatorCost {
        let width = Double(dtype.byteSize)
        let (left, right, result) = (batch * m * k, batch * k * n, batch * m * n)
        let forward = fusionLevel == .eager && width < 4
            ? kernels.memorySeconds(bytes: (width + 4) * left) + kernels.memorySeconds(bytes: 4 * left + 2 * right + 4 * result)
                + kernels.memorySeconds(bytes: (4 + width) * result)
            : kernels.memorySeconds(bytes: (left + right + result) * width)
        let backward = forward * Double(operation.inputs.prefix(2).filter { gradients[$0] }.count)
        return OperatorCost(category: .memoryBound, forwardSeconds: forward, backwardSeconds: backward,
                            forwardCollectives: [], backwardCollectives: [], forwardFLOPs: 2 * batch * m * n * k)
    }

    /// A batched GEMM (m x k times k x n) forward, and in backward one GEMM per operand that needs a
    /// gradient: m x n times n x k for the first, k x m times m x n for the second. All three read the forward
    /// product's columns and depth as their leading dimensions (the rows are tokens), so those decide whether
    /// they run at full speed (`KernelModel.unalignedMatmulSlowdown`).
    private func gemmCost(_ operation: Operation, batch: Double, m: Double, n: Double, k: Double, dtype: DType) -> OperatorCost {
        let aligned = KernelModel.fillsVectors(n, dtype: dtype) && KernelModel.fillsVectors(k, dtype: dtype)
        let forward = kernels.matmulSeconds(batch: batch, m: m, n: n, k: k, dtype: dtype, aligned: aligned)
        var backward = 0.0
        if gradients[operation.inputs[0]] {
            backward += kernels.matmulSeconds(batch: batch, m: m, n: k, k: n, dtype: dtype, aligned: aligned)
        }
        if gradients[operation.inputs[1]] {
            backward += kernels.matmulSeconds(batch: batch, m: k, n: n, k: m, dtype: dtype, aligned: aligned)
        }
        return OperatorCost(category: .matmul, forwardSeconds: forward, backwardSeconds: backward,
                            forwardCollectives: [], backwardCollectives: [], forwardFLOPs: 2 * batch * m * n * k)
    }

    /// A convolution as an implicit GEMM: rows are output pixels of every image, columns output channels
    /// (per group), depth the input channels of a group times the window.
    private func convolutionCost(_ operation: Operation, _ operationIndex: Int, _ strategy: OpStrategy, _ sizes: [Double]) -> OperatorCost {
        let space = operation.indexSpace
        func size(_ name: String) -> Double? { space.indices.firstIndex { $0.name == name }.map { sizes[$0] } }
        let groups = size("group") ?? 1
        let depth = (size("c") ?? size("c_per_group") ?? 1) * (size("kh") ?? 1) * (size("kw") ?? 1)
        let outputElements = localElements(operation.result, strategy.resultSpec(in: space))
        let channels = graph[operation.result].type.shape[1]
        let columns = Double(channels) / Double(strategy.resultSpec(in: space).splitFactor(ofDimension: 1, meshShape: meshShape)) / groups
        let rows = outputElements / (columns * groups)
        let dtype = graph[operation.result].type.dtype
        return gemmCost(operation, batch: groups, m: rows, n: columns, k: depth, dtype: dtype)
    }

    /// Fused (flash) attention: 4 x batch x queries x keys x heads x head_dim FLOPs forward over the whole score
    /// matrix, the backward kernel 2.5 times that; a causal mask saves about half (`KernelModel+Attention`). The
    /// backward call also runs the kernel's memory-bound side kernels (`AttentionKernel.backwardSideKernelBytes`).
    ///
    /// With the queries split over a ring of `ringSize` devices (context parallelism) the kernel runs once per
    /// ring step on the key chunk that step holds, as TransformerEngine's ring attention does
    /// (`AttnFuncWithCPAndKVP2P`): the first step causal over the local chunk, and under a causal mask with
    /// Megatron-Core's load-balanced chunks every later step unmasked over half of it (all local queries against
    /// the first half of an earlier rank's keys, or the second half of the queries against all of a later rank's;
    /// priced as the shorter keys, the slowest rank's case). The work is the unsplit kernel's; each step pays its
    /// launch and the rate of its shorter key range, and the ring's copies, corrections and accumulations are
    /// added as memory-bound kernels (`ContextParallelExchange.bookkeeping`).
    ///
    /// PyTorch's ring (`ContextParallelCommunication.pytorchRing`) runs the same kernels a step, and its own eager
    /// merging and fp32 accumulation around them (`ContextParallelExchange.pytorchRingBookkeeping`).
    ///
    /// Under the all-gather exchange the queries' two chunks run one kernel each (`gatheredAttentionCost`); under the
    /// all-to-all one kernel runs over the whole sequence for a share of the heads (`allToAllAttentionCost`); under
    /// hierarchical context parallelism the ring runs over `ringSize` ranks with each device's queries `allToAllSize`
    /// times longer for as many times fewer heads, its own chunk of K and V still 1/(ring x all-to-all) of them
    /// (`hierarchicalAttentionCost`).
    ///
    /// A sliding window (causal only, shorter than the keys) narrows the unsplit kernel's pass to its band
    /// (`KernelModel.attentionSeconds`). Under context parallelism the ring is priced as for full causal attention:
    /// no step is skipped for keys outside every local query's window (TransformerEngine's ring runs each step), and
    /// no step's kernel is narrowed (an assumption that overprices a windowed layer on a ring).
    func attentionCost(_ operation: Operation, _ strategy: OpStrategy, _ sizes: [Double], causal: Bool,
                       window: Int? = nil, ringSize: Int = 1, allToAllSize: Int = 1) -> OperatorCost {
        if ringSize > 1 && contextParallelCommunication == .hierarchical && allToAllSize == 1 {
            return hierarchicalAttentionCost(operation, strategy, sizes, causal: causal, window: window, ringSize: ringSize)
        }
        if ringSize > 1 && contextParallelCommunication == .allGather {
            return gatheredAttentionCost(operation, strategy, sizes, causal: causal, window: window, ringSize: ringSize)
        }
        if ringSize > 1 && contextParallelCommunication == .allToAll {
            return allToAllAttentionCost(operation, strategy, sizes, causal: causal, window: window, ringSize: ringSize)
        }
        let space = operation.indexSpace
        let shape = AttentionShape(operation, localSizes: sizes, in: graph)
        let (batch, queries, heads, headDimension, keys, groupSize) = (shape.batch, shape.queries, shape.heads, shape.headDimension, shape.keys, shape.groupSize)
        let dense = 4 * batch * queries * keys * heads * headDimension
        let dtype = graph[operation.result].type.dtype
        func kernel(_ flops: Double, keys: Double, causal: Bool, window: Int? = nil, backward: Bool) -> Double {
            kernels.attentionSeconds(denseFLOPs: backward ? 2.5 * flops : flops, headDimension: headDimension, keyLength: keys,
                                     causal: causal, window: window.map(Double.init), dtype: dtype, backward: backward)
        }
        func seconds(backward: Bool) -> Double {
            guard ringSize > 1 else { return kernel(dense, keys: keys, causal: causal, window: window, backward: backward) }
            let chunk = keys / Double(ringSize)
            let later = causal ? chunk / 2 : chunk
            return kernel(dense / Double(ringSize), keys: chunk, causal: causal, backward: backward)
                + Double(ringSize - 1) * kernel(4 * batch * queries * later * heads * headDimension, keys: later, causal: false,
                                                backward: backward)
        }
        var (forward, backward) = (seconds(backward: false), seconds(backward: true))
        // Every backward call (one per ring step) runs the kernel's side kernels over the local queries and the
        // step's keys; grouped k and v hold `groupSize` query heads' keys each.
        let stepKeyValue = batch * keys / Double(ringSize) * heads / groupSize * headDimension
        backward += Double(ringSize) * kernels.attentionBackwardSideSeconds(
            queryElements: batch * queries * heads * headDimension, rows: batch * queries * heads,
            keyValueElements: stepKeyValue, expandedKeyValueElements: stepKeyValue * groupSize, width: Double(dtype.byteSize))
        if ringSize > 1 {
            // K and V arrive whole (gathered by the ring); a device's own chunk is 1/N of them.
            let keyValue = (localBytes(operation.inputs[1], strategy.operandSpec(1, in: space))
                + localBytes(operation.inputs[2], strategy.operandSpec(2, in: space))) / Double(ringSize * allToAllSize)
            let (query, statistics) = (localBytes(operation.result, strategy.resultSpec(in: space)), batch * queries * heads * 4)
            let ring = contextParallelCommunication.isPyTorchRing
                ? ContextParallelExchange.pytorchRingBookkeeping(ringSize: ringSize, query: query, keyValue: keyValue, statistics: statistics)
                : ContextParallelExchange.bookkeeping(ringSize: ringSize, query: query, keyValue: keyValue, statistics: statistics)
            forward += kernels.streamSeconds(bytes: ring.forward.bytes) + Double(ring.forward.kernels) * kernels.launchSeconds
            backward += kernels.streamSeconds(bytes: ring.backward.bytes) + Double(ring.backward.kernels) * kernels.launchSeconds
        }
        return OperatorCost(category: .attention, forwardSeconds: forward, backwardSeconds: backward,
                            forwardCollectives: [], backwardCollectives: [], forwardFLOPs: dense)
    }

    /// Memory-bound ops: bytes read and written over achievable bandwidth, minus what fusion keeps in
    /// registers. The backward pass moves about twice the forward bytes (it reads the result's gradient and
    /// saved inputs and writes the inputs' gradients).
    private func memoryBoundCost(_ operation: Operation, _ operationIndex: Int, _ strategy: OpStrategy) -> OperatorCost {
        if operation.op.isView || fusion.isReadInPlace[operation.result.rawValue] { return .free }
        if case .crossEntropy = operation.op { return crossEntropyCost(operation, strategy) }
        let space = operation.indexSpace
        if fusion.isAddedInEpilogue[operation.result.rawValue] {
            // The product's GEMM writes the sum; backward, the bias gradient's reduction reads the result's gradient.
            let resultBytes = localBytes(operation.result, strategy.resultSpec(in: space))
            return OperatorCost(category: .memoryBound, forwardSeconds: 0, backwardSeconds: kernels.memorySeconds(bytes: resultBytes),
                                forwardCollectives: [], backwardCollectives: [], forwardFLOPs: 0)
        }
        var bytes = 0.0
        // A compiled step normalises inside the kernel that computes the norm's input when that is pointwise (the
        // residual add before each norm): llm.c's `fused_residual_forward`, Inductor's multi-output reduction
        // kernels. The sum is still written for its other readers, but the norm neither reads it back nor
        // launches a kernel of its own.
        let normalisedByProducer = fusionLevel == .compiled && operation.op.isNormalization && !fusion[operation.inputs[0]]
            && graph.producer(of: operation.inputs[0]).map { $0.op.isPointwise } == true
        var producerWrote = 0.0
        for (operand, input) in operation.inputs.enumerated() where !(operation.op.absorbsPointwiseProducers && fusion[input]) {
            let spec = strategy.operandSpec(operand, in: space)
            if normalisedByProducer && operand == 0 {
                producerWrote = localBytes(input, spec)
                continue
            }
            if let producer = graph.producer(of: input), case .broadcast = producer.op {
                // The kernel reads the broadcast's source, not the broadcast result.
                let source = producer.inputs[0]
                bytes += localBytes(input, spec) * Double(graph[source].type.elementCount) / Double(graph[input].type.elementCount)
            } else {
                bytes += localBytes(input, spec)
            }
        }
        let resultBytes = localBytes(operation.result, strategy.resultSpec(in: space))
        if !fusion[operation.result] { bytes += resultBytes }
        if case .dropout = operation.op { bytes += localElements(operation.result, strategy.resultSpec(in: space)) }
        // A pointwise op fused into its consumer runs inside the consumer's kernel: no launch of its own.
        let insideConsumer = operation.op.isPointwise && fusion[operation.result] || normalisedByProducer
        if case .rmsNorm(let axes) = operation.op, fusionLevel == .eager {
            let shape = graph[operation.result].type.shape
            return eagerRMSNormCost(elements: localElements(operation.result, strategy.resultSpec(in: space)),
                                    rowLength: Double(axes.reduce(1) { $0 * shape[$1] }),
                                    width: Double(graph[operation.result].type.dtype.byteSize))
        }
        let forward = insideConsumer ? kernels.streamSeconds(bytes: bytes) : kernels.memorySeconds(bytes: bytes)
        // The backward pass still reads the norm's input (`normalisedByProducer` saves only the forward read).
        // Eager autograd hands an add's gradient to both operands as it is, launching nothing when neither is
        // broadcast (their sums where both are read elsewhere too: `GradientAccumulation`).
        let passesGradient = fusionLevel == .eager && operation.op == .binary(.add)
            && operation.inputs.allSatisfy { graph[$0].type.shape == graph[operation.result].type.shape }
        // A copy of a broadcast (`repeat_kv`'s reshape of an expanded view) passes its gradient through, and the
        // broadcast's backward sums it over the copies: one kernel moving the forward's bytes.
        let materialisesBroadcast = operation.op == .unary(.identity)
            && graph.producer(of: operation.inputs[0]).map { if case .broadcast = $0.op { true } else { false } } == true
        let backward = passesGradient ? 0 : materialisesBroadcast ? forward
            : normalisedByProducer ? 2 * kernels.memorySeconds(bytes: bytes + producerWrote) : 2 * forward
        return OperatorCost(category: .memoryBound, forwardSeconds: forward, backwardSeconds: backward,
                            forwardCollectives: [], backwardCollectives: [], forwardFLOPs: 0)
    }

    /// RMSNorm as the Llama reference implementation runs it in eager PyTorch (meta-llama `model.py`, torchtitan's
    /// and Hugging Face's `RMSNorm`: `(x.float() * rsqrt(x.float().pow(2).mean(-1) + eps)).type_as(x) * weight`),
    /// kernel by kernel over `elements` of `width`-byte activations, as PyTorch's dispatcher runs it and autograd's
    /// backward over it (the ATen ops traced with a dispatch mode; Docs/cost-model.md, "Issue 14, eleventh pass").
    /// Forward, 8 kernels: upcast (width + 4 bytes an element), square (8), mean (4), the row's `+ eps` and `rsqrt`
    /// (8 bytes a row each), scale (8), downcast (4 + width), weight (2 x width): 36 bytes an element in bf16.
    /// Backward, 16 kernels: the weight's gradient (the product with the normalised rows, 3 x width, and its sum
    /// over the tokens, width), the gradient through the weight (2 x width), its upcast (width + 4), the products
    /// with the fp32 input (12) and with the row's scale (8), the row sum (4), three row ops (8, 8 and 12 bytes a
    /// row), the mean's gradient spread over the row (4), the square's (8, 8, 12), the sum of the two paths into
    /// the fp32 input (12) and the downcast (4 + width): 92 bytes an element in bf16. Rows are `rowLength` long.
    private func eagerRMSNormCost(elements: Double, rowLength: Double, width: Double) -> OperatorCost {
        let rows = elements / max(rowLength, 1)
        func seconds(perElement: [Double], perRow: [Double]) -> Double {
            perElement.reduce(0) { $0 + kernels.memorySeconds(bytes: $1 * elements) }
                + perRow.reduce(0) { $0 + kernels.memorySeconds(bytes: $1 * rows) }
        }
        let forward = seconds(perElement: [width + 4, 8, 4, 8, 4 + width, 2 * width], perRow: [8, 8])
        let backward = seconds(perElement: [3 * width, width, 2 * width, width + 4, 12, 8, 4, 4, 8, 8, 12, 12, 4 + width],
                               perRow: [8, 8, 12])
        return OperatorCost(category: .memoryBound, forwardSeconds: forward, backwardSeconds: backward,
                            forwardCollectives: [], backwardCollectives: [], forwardFLOPs: 0)
    }

    /// Megatron's vocabulary-parallel cross-entropy (`tensor_parallel/cross_entropy.py`, unfused) as the
    /// kernels it launches over the per-device logits: forward upcasts 16-bit logits to fp32 (2 + 4 bytes an
    /// element), takes the row maximum (4), subtracts it in place (8), exponentiates in place (8), sums (4)
    /// and normalises in place (8), keeping the fp32 softmax for the backward pass; backward scales it by the
    /// loss gradient in place (8) and casts it back to 16 bits (4 + 2).
    ///
    /// Eager PyTorch's `cross_entropy(logits.float(), labels)` (torchtitan's loss, a compiled step's loss left
    /// eager) launches fewer: forward the upcast (2 + 4), log-softmax (one kernel a row, reading 4 and writing 4
    /// bytes an element; its second and third reads of a row hit the L2 cache) and the NLL's gather (a few bytes a
    /// row); backward the NLL's zeroed fp32 gradient (4) and its scatter, log-softmax's backward (reading the
    /// gradient and the output, writing 4: 12) and the cast back to 16 bits (4 + 2). Without the upcast
    /// (`upcastsLoss` false) the same kernels run in the logits' type: log-softmax's read and write forward, the NLL's
    /// zeroed gradient and log-softmax's backward (three reads and writes) backward. Priced per PyTorch's
    /// `SoftMax.cu` and `LossNLL.cu`; the per-row bytes are left out.
    private func crossEntropyCost(_ operation: Operation, _ strategy: OpStrategy) -> OperatorCost {
        let space = operation.indexSpace
        let logits = operation.inputs[0]
        let elements = localElements(logits, strategy.operandSpec(0, in: space))
        let width = Double(graph[logits].type.dtype.byteSize)
        if fusedCrossEntropy {
            // One fused kernel each way (llm.c's fused classifier, Inductor's fused log-softmax and NLL): the
            // forward pass reads the logits once for the row maximum and sum of exponentials, the backward pass
            // reads them again and writes their gradient.
            return OperatorCost(category: .memoryBound, forwardSeconds: kernels.memorySeconds(bytes: width * elements),
                                backwardSeconds: kernels.memorySeconds(bytes: 2 * width * elements),
                                forwardCollectives: [], backwardCollectives: [], forwardFLOPs: 0)
        }
        let upcast = width < 4 ? [width + 4] : []
        let downcast = width < 4 ? [4 + width] : []
        // Streaming kernels of `bytesPerElement` each, and `launches` kernels whose bytes are per row (left out).
        func seconds(_ bytesPerElement: [Double], launches: Double = 0) -> Double {
            bytesPerElement.reduce(0) { $0 + kernels.memorySeconds(bytes: $1 * elements) } + launches * kernels.launchSeconds
        }
        let eager = lossFusionLevel == .eager
        if eager && !upcastsLoss {
            // `cross_entropy` on the 16-bit logits: log-softmax reads and writes them in their type, the NLL gathers
            // a row's target; backward, the NLL's zeroed gradient and scatter, then log-softmax's backward reads
            // that gradient and its output and writes the logits' gradient.
            return OperatorCost(category: .memoryBound, forwardSeconds: seconds([2 * width], launches: 1),
                                backwardSeconds: seconds([width, 3 * width], launches: 1),
                                forwardCollectives: [], backwardCollectives: [], forwardFLOPs: 0)
        }
        let forward = eager ? seconds(upcast + [8], launches: 1) : seconds(upcast + [4, 8, 8, 4, 8])
        let backward = eager ? seconds([4, 12] + downcast, launches: 1) : seconds([8] + downcast)
        return OperatorCost(category: .memoryBound, forwardSeconds: forward, backwardSeconds: backward,
                            forwardCollectives: [], backwardCollectives: [], forwardFLOPs: 0)
    }
}
