extension StageCostModel {
    /// The ops Megatron-Core's output-discarding checkpoints rerun under `--recompute-granularity selective
    /// --recompute-modules layernorm moe_act` (`RecomputeMode.normAct`), in the transformer blocks (`checkpointed`,
    /// among the layer runs `runs` numbers):
    /// - `moe_act`: the experts' activation function (`ExpertDataFlow.activationOperations`);
    /// - `layernorm`: the norm whose result the experts' dispatch carries, found by following each expert GEMM's
    ///   activation back through the ops that only move or copy data (the permutation, a token's copies, reshapes):
    ///   the norm before a mixture of experts, which Megatron-Core runs as a TransformerEngine norm of its own. It
    ///   fuses every other norm of a block into the linear layer after it (`TELayerNormColumnParallelLinear`), where
    ///   `layernorm` has nothing to rerun; a multi-head latent attention's input norm, a module of its own that
    ///   Megatron-Core reruns too, is kept here.
    /// Whether `norm-act` reruns any op of `graph`: whether it holds a mixture of experts in a transformer block.
    public static func rerunsUnderNormActivation(_ graph: Graph) -> Bool {
        let checkpoints = operatorCheckpoints(of: graph)
        return !normActivationReruns(graph, runs: checkpoints.runs, checkpointed: checkpoints.checkpointed).isEmpty
    }

    static func normActivationReruns(_ graph: Graph, runs: [Int], checkpointed: Set<Int>) -> Set<Int> {
        let flow = ExpertDataFlow(graph)
        var reruns = Set(flow.activationOperations(in: graph))
        for (index, operation) in graph.operations.enumerated() {
            guard let expert = flow.experts[index] else { continue }
            var value = operation.inputs[1 - expert.weightOperand]
            following: while let producer = graph[value].operationIndex {
                let source = graph.operations[producer]
                switch source.op {
                case .layerNorm, .rmsNorm:
                    reruns.insert(producer)
                    break following
                case .broadcast, .transpose, .reshape, .slice, .cast, .unary(.identity), .unary(.stopGradient):
                    value = source.inputs[0]
                case .concat:
                    value = source.inputs.max { graph[$0].type.elementCount < graph[$1].type.elementCount }!
                default:
                    break following
                }
            }
        }
        return reruns.filter { checkpointed.contains(runs[$0]) }
    }
}
