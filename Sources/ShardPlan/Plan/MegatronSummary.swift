/// Describes a searched stage layout in Megatron's terms when it matches them: a mesh axis that splits the
/// batch of (nearly) every weight-reading contraction is data parallelism, one that splits their weights is
/// tensor parallelism ("tp=8 dp=2"), one that does neither but splits every attention op's queries is context
/// parallelism ("cp=16"), and so is one that splits the products' sequence and attention's heads, DeepSpeed-Ulysses'
/// ("cp=8 cp-comm=all-to-all"); anything else is named as a mixed axis. An axis that splits every expert GEMM's experts is
/// expert parallelism too ("ep=8"), and takes its other role from the other products.
public enum MegatronSummary {
    /// The share of weight-reading contractions an axis must split the same way to be named tp or dp.
    static let agreement = 0.9

    /// What one mesh axis splits.
    public enum AxisRole: String, Sendable, Equatable {
        /// The batch of (nearly) every weight-reading contraction.
        case data
        /// Their weights.
        case tensor
        /// Neither, but every attention op's queries (Megatron's context axis, `MegatronLayout`).
        case context
        /// Neither consistently.
        case mixed
        /// Nothing: the axis has one device.
        case none
    }

    /// What each mesh axis of a stage does, in Megatron's terms.
    public struct Roles: Sendable, Equatable {
        /// One role per mesh axis.
        public var axes: [AxisRole] = []
        /// Product of the sizes of the axes that split weights (tensor parallelism).
        public var tensorParallel = 1
        /// Product of the sizes of the axes that split the batch (data parallelism).
        public var dataParallel = 1
        /// Product of the sizes of the axes that split every attention op's queries, or split the products' sequence
        /// and attention's heads (context parallelism).
        public var contextParallel = 1
        /// Whether a context-parallel axis splits attention's heads, reached by all-to-alls from the sequence the
        /// products split (DeepSpeed-Ulysses', Megatron's `--cp-comm-type a2a`), rather than its queries.
        public var contextByHeads = false
        /// Axes of more than one device that do neither consistently: "y=4".
        public var mixedAxes: [String] = []
        /// Product of the sizes of the mixed axes that split weights at least as often as the batch: the tensor
        /// parallelism a uniform layout nearest to the stage would take from them.
        public var mixedTensorParallel = 1
        /// Product of the sizes of the other mixed axes.
        public var mixedDataParallel = 1
        /// Product of the sizes of the axes that split every expert GEMM's experts (expert parallelism; each is also
        /// the role its other products give it).
        public var expertParallel = 1
        /// The axes that split every expert GEMM's experts.
        public var expertAxes: [Int] = []
        /// The highest ZeRO stage the stage gives a parameter (its first reader's, `StageLayout.parameterZeroStages`).
        public var zeroStage = 0
        /// Whether every parameter of the stage takes that stage.
        public var zeroStageOnEveryParameter = true
        /// Every ZeRO stage the stage gives a parameter, highest first.
        public var zeroStages: [Int] = []

        /// Whether the stage has devices for ZeRO to shard training state over: data-parallel ones, context-parallel
        /// ones (which hold the same weights) or mixed axes. ZeRO over one data-parallel device shards nothing.
        public var shardsTrainingState: Bool { dataParallel > 1 || contextParallel > 1 || !mixedAxes.isEmpty }
    }

    public static func roles(of stage: StageLayout, graph: Graph, roles tensorRoles: TensorRoles? = nil) -> Roles {
        let tensorRoles = tensorRoles ?? TensorRoles(graph)
        let contractions = stage.operations.filter { op in
            graph.operations[op].isLinearLayer(in: graph)
        }
        let attention = stage.operations.compactMap { op -> (op: Int, query: Int, heads: Int?)? in
            guard case .attention = graph.operations[op].op,
                  let query = graph.operations[op].indexSpace.indices.firstIndex(where: { $0.name == "query" }) else { return nil }
            return (op, query, graph.operations[op].indexSpace.indices.firstIndex { $0.name == "heads" })
        }
        var roles = Roles()
        roles.axes = Array(repeating: .none, count: stage.mesh.shape.count)
        let experts = contractions.compactMap { op in MegatronLayout.expertGEMMIndex(graph.operations[op], graph: graph).map { (op: op, index: $0.index) } }
        for axis in stage.mesh.shape.indices where stage.mesh.shape[axis] > 1 {
            // An axis that splits every expert GEMM's experts is expert parallelism; the other products say what
            // else it is (data parallelism, as Megatron-Core takes expert ranks from the data-parallel ones, or tensor).
            let splitsExperts = !experts.isEmpty && experts.allSatisfy { stage.strategy(of: $0.op).indexOfAxis[axis] == $0.index }
            let voting = splitsExperts ? contractions.filter { op in !experts.contains { $0.op == op } } : contractions
            if splitsExperts {
                roles.expertParallel *= stage.mesh.shape[axis]
                roles.expertAxes.append(axis)
            }
            var batchSplits = 0, weightSplits = 0, sequenceSplits = 0
            for op in voting {
                let operation = graph.operations[op]
                guard let index = stage.strategy(of: op).indexOfAxis[axis] else { continue }
                if index == tensorRoles.batchIndex[op] { batchSplits += 1; continue }
                if index == tensorRoles.sequenceIndex[op] { sequenceSplits += 1; continue }
                let weights = operation.inputs.indices.filter { graph[operation.inputs[$0]].isParameter }
                if weights.contains(where: { operation.indexSpace.operandIndices[$0].contains(index) }) { weightSplits += 1 }
            }
            let total = Double(max(voting.count, 1))
            let size = stage.mesh.shape[axis]
            if Double(batchSplits) >= agreement * total {
                roles.dataParallel *= size
                roles.axes[axis] = .data
            } else if Double(weightSplits) >= agreement * total {
                roles.tensorParallel *= size
                roles.axes[axis] = .tensor
            } else if !attention.isEmpty && attention.allSatisfy({ stage.strategy(of: $0.op).indexOfAxis[axis] == $0.query }) {
                roles.contextParallel *= size
                roles.axes[axis] = .context
            } else if !attention.isEmpty && Double(sequenceSplits) >= agreement * total
                        && attention.allSatisfy({ $0.heads != nil && stage.strategy(of: $0.op).indexOfAxis[axis] == $0.heads }) {
                // DeepSpeed-Ulysses' context parallelism: the products split the sequence, attention the heads, and
                // all-to-alls change one into the other (Megatron's --cp-comm-type a2a).
                roles.contextParallel *= size
                roles.axes[axis] = .context
                roles.contextByHeads = true
            } else {
                roles.axes[axis] = .mixed
                roles.mixedAxes.append("\(stage.mesh.axisNames[axis])=\(size)")
                if weightSplits >= batchSplits { roles.mixedTensorParallel *= size } else { roles.mixedDataParallel *= size }
            }
        }
        let parameterStages = stage.parameterZeroStages(in: graph, planStage: 0)
        roles.zeroStage = parameterStages.max() ?? 0
        roles.zeroStageOnEveryParameter = parameterStages.allSatisfy { $0 == roles.zeroStage }
        roles.zeroStages = Set(parameterStages).sorted(by: >)
        return roles
    }

    /// "tp=4 dp=2", with context parallelism ("cp=16"), expert parallelism ("ep=8"), mixed axes ("y=4 mixed") and the ZeRO stage ("zero=1", or "zero=3 on some parameters"
    /// where other parameters of the stage have a lower one, each lower one but none named: ", zero=2 on others, zero=1 on the rest", "on the rest"
    /// for the lowest where no parameter has none), where the stage has data-parallel devices for it to shard over.
    public static func describe(_ stage: StageLayout, graph: Graph) -> String {
        describe(roles(of: stage, graph: graph))
    }

    /// `describe(_:graph:)` of a stage whose roles are already found.
    public static func describe(_ roles: Roles) -> String {
        var parts = ["tp=\(roles.tensorParallel)", "dp=\(roles.dataParallel)"]
            + (roles.contextParallel > 1 ? ["cp=\(roles.contextParallel)" + (roles.contextByHeads ? " cp-comm=\(ContextParallelCommunication.allToAll.rawValue)" : "")] : [])
            + (roles.expertParallel > 1 ? ["ep=\(roles.expertParallel)"] : [])
            + roles.mixedAxes.map { "\($0) mixed" }
        // ZeRO over one data-parallel device shards nothing.
        if roles.zeroStage > 0 && roles.shardsTrainingState {
            let lower = roles.zeroStages.dropFirst()
            parts.append("zero=\(roles.zeroStage)" + (roles.zeroStageOnEveryParameter ? ""
                : " on some parameters" + lower.filter { $0 > 0 }.map { ", zero=\($0) on \($0 == lower.last ? "the rest" : "others")" }.joined()))
        }
        return parts.joined(separator: " ")
    }
}
