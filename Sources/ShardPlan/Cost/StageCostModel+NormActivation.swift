extension StageCostModel {
    /// Whether `norm-act` reruns any op of `graph`: whether a transformer block holds a mixture of experts or a
    /// multi-head latent attention.
    public static func rerunsUnderNormActivation(_ graph: Graph) -> Bool {
        let checkpoints = operatorCheckpoints(of: graph)
        return !normActivationReruns(graph, runs: checkpoints.runs, checkpointed: checkpoints.checkpointed).isEmpty
    }

    /// The ops Megatron-Core's output-discarding checkpoints rerun under `--recompute-granularity selective
    /// --recompute-modules layernorm moe_act` (`RecomputeMode.normAct`), in the transformer blocks (`checkpointed`,
    /// among the layer runs `runs` numbers):
    /// - `moe_act`: the experts' activation function (`ExpertDataFlow.activationOperations`);
    /// - `layernorm`: the norm whose result the experts' dispatch carries, found by following each expert GEMM's
    ///   activation back through the ops that only move or copy data (the permutation, a token's copies, reshapes):
    ///   the norm before a mixture of experts, which Megatron-Core runs as a TransformerEngine norm of its own;
    /// - `layernorm`: a multi-head latent attention's input norm (`latentInputNorms`), also a module of its own.
    /// Megatron-Core fuses every other norm of a block into the linear layer after it (`TELayerNormColumnParallelLinear`),
    /// where `layernorm` has nothing to rerun.
    static func normActivationReruns(_ graph: Graph, runs: [Int], checkpointed: Set<Int>) -> Set<Int> {
        let flow = ExpertDataFlow(graph)
        var reruns = Set(flow.activationOperations(in: graph)).union(latentInputNorms(graph))
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

    /// The norms whose result a linear layer projects down to a latent that is normalized again before the next
    /// linear layer: multi-head latent attention's input norm, read by the query's and the key-value's down-projections
    /// (`q_a`, `kv_a`), whose latents have norms of their own before the up-projections. Megatron-Core cannot fuse such
    /// a norm into one linear layer and runs it as a module (`input_layernorm` in `gpt_layer_specs.py`'s MLA spec),
    /// which `layernorm` reruns. A query-key norm (Qwen3's) normalizes heads that attention reads, not a linear layer,
    /// so the norm before it stays fused.
    static func latentInputNorms(_ graph: Graph) -> Set<Int> {
        let consumers = graph.consumers()
        /// Whether `index` is a product of its input with a trainable weight.
        func isLinear(_ index: Int) -> Bool {
            let operation = graph.operations[index]
            return operation.op.isContraction && operation.inputs.contains { graph[$0].isParameter }
        }
        /// Whether `value`, through ops that only move or copy data, is normalized and then read by a linear layer.
        func feedsNormalizedLinear(_ value: ValueID) -> Bool {
            consumers[value.rawValue].contains { reader in
                let operation = graph.operations[reader]
                switch operation.op {
                case .layerNorm, .rmsNorm:
                    return consumers[operation.result.rawValue].contains(where: isLinear)
                case .transpose, .reshape, .slice, .cast, .unary(.identity):
                    return feedsNormalizedLinear(operation.result)
                default:
                    return false
                }
            }
        }
        return Set(graph.operations.indices.filter { index in
            switch graph.operations[index].op {
            case .layerNorm, .rmsNorm:
                return consumers[graph.operations[index].result.rawValue].contains { isLinear($0) && feedsNormalizedLinear(graph.operations[$0].result) }
            default:
                return false
            }
        })
    }
}
