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
    ///   the norm before a mixture of experts, which Megatron-Core runs as a TransformerEngine norm of its own (with the
    ///   cast after it beside an fp32 residual stream: TransformerEngine's norm writes the compute type itself);
    /// - `layernorm`: a multi-head latent attention's input norm (`latentInputNorms`), also a module of its own.
    /// Megatron-Core fuses every other norm of a block into the linear layer after it (`TELayerNormColumnParallelLinear`),
    /// where `layernorm` has nothing to rerun.
    static func normActivationReruns(_ graph: Graph, runs: [Int], checkpointed: Set<Int>) -> Set<Int> {
        let flow = ExpertDataFlow(graph)
        var reruns = Set(flow.activationOperations(in: graph)).union(latentInputNorms(graph))
        for (index, operation) in graph.operations.enumerated() {
            guard let expert = flow.experts[index] else { continue }
            var value = operation.inputs[1 - expert.weightOperand]
            // The casts met right before the norm (to the compute type beside an fp32 residual stream): what the router
            // and the dispatch read, which TransformerEngine's norm writes itself, so they rerun with it.
            var casts: [Int] = []
            following: while let producer = graph[value].operationIndex {
                let source = graph.operations[producer]
                switch source.op {
                case _ where source.op.isNormalization:
                    reruns.insert(producer)
                    reruns.formUnion(casts)
                    break following
                case .cast:
                    casts.append(producer)
                    value = source.inputs[0]
                case .broadcast, _ where source.op.onlyMovesData:
                    casts = []
                    value = source.inputs[0]
                case .concat:
                    casts = []
                    value = source.inputs.max { graph[$0].type.elementCount < graph[$1].type.elementCount }!
                default:
                    break following
                }
            }
        }
        return reruns.filter { checkpointed.contains(runs[$0]) }
    }

    /// The norms whose result a linear layer projects down to a latent that is normalized again before the next
    /// linear layer, with the ops that only move or copy data between them and that layer: multi-head latent attention's input norm, read by the query's and the key-value's down-projections
    /// (`q_a`, `kv_a`), whose latents have norms of their own before the up-projections. Megatron-Core cannot fuse such
    /// a norm into one linear layer and runs it as a module (`input_layernorm` in `gpt_layer_specs.py`'s MLA spec),
    /// which `layernorm` reruns. A query-key norm (Qwen3's) normalizes heads that attention reads, not a linear layer,
    /// so the norm before it stays fused.
    static func latentInputNorms(_ graph: Graph) -> Set<Int> {
        let consumers = graph.consumers()
        /// The products with a trainable weight that read `value`, directly or through ops that only move or copy
        /// data (`between`: a cast to the compute type beside an fp32 residual stream, a reshape, a slice).
        func linearReaders(of value: ValueID) -> (linears: [Int], between: [Int]) {
            var result: (linears: [Int], between: [Int]) = ([], [])
            for reader in consumers[value.rawValue] {
                let operation = graph.operations[reader]
                if operation.op.onlyMovesData {
                    let further = linearReaders(of: operation.result)
                    guard !further.linears.isEmpty else { continue }
                    result.linears += further.linears
                    result.between += [reader] + further.between
                } else if operation.isLinearLayer(in: graph) {
                    result.linears.append(reader)
                }
            }
            return result
        }
        /// Whether `value`, through ops that only move or copy data, is normalized and then read by a linear layer.
        func feedsNormalizedLinear(_ value: ValueID) -> Bool {
            consumers[value.rawValue].contains { reader in
                let operation = graph.operations[reader]
                if operation.op.isNormalization { return !linearReaders(of: operation.result).linears.isEmpty }
                return operation.op.onlyMovesData && feedsNormalizedLinear(operation.result)
            }
        }
        /// The norm at `index` and the ops between it and its linear readers, where one of those projects to a latent
        /// that is normalized again: TransformerEngine's norm writes the compute type itself, so a cast after it
        /// (beside an fp32 residual stream) is part of what reruns.
        func rerun(_ index: Int) -> Set<Int> {
            let readers = linearReaders(of: graph.operations[index].result)
            guard readers.linears.contains(where: { feedsNormalizedLinear(graph.operations[$0].result) }) else { return [] }
            return Set([index] + readers.between)
        }
        return graph.operations.indices.filter { graph.operations[$0].op.isNormalization }.reduce(into: Set<Int>()) { $0.formUnion(rerun($1)) }
    }
}
