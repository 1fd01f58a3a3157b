/// The parallel degrees `plan --tp/--pp/--dp/--cp/--ep` fix, the rest left to the search (nil: not pinned).
///
/// A Megatron-LM configuration keeps a pin where its degree is the pinned one. A stage DP plan shards each op on its
/// own, so its degrees are what its summary names (`MegatronSummary.roles`, the same reading `plan` prints as
/// "tp=8 dp=2"): it keeps `pipelineParallel` where it has that many pipeline ranks, and the other pins where every
/// stage (every chunk of every rank) has no mixed axis and its tensor-, data-, context- and expert-parallel axes
/// multiply to the pinned degrees (an axis is tensor-parallel where it splits the weights of 90% or more of the
/// weight-reading contractions, and so on). The planner keeps only plans that keep every pin.
public struct ParallelPins: Sendable, Equatable {
    public var tensorParallel: Int?
    public var pipelineParallel: Int?
    public var dataParallel: Int?
    public var contextParallel: Int?
    public var expertParallel: Int?

    public init(tensorParallel: Int? = nil, pipelineParallel: Int? = nil, dataParallel: Int? = nil,
                contextParallel: Int? = nil, expertParallel: Int? = nil) {
        self.tensorParallel = tensorParallel
        self.pipelineParallel = pipelineParallel
        self.dataParallel = dataParallel
        self.contextParallel = contextParallel
        self.expertParallel = expertParallel
    }

    /// Whether nothing is pinned.
    public var isEmpty: Bool { self == ParallelPins() }

    /// Whether a degree is pinned that a stage DP plan has only as its op shardings name it (all but the pipeline's).
    public var pinsStageLayout: Bool {
        tensorParallel != nil || dataParallel != nil || contextParallel != nil || expertParallel != nil
    }

    /// The pinned degrees by their short names, in the order `plan` takes them: `[("tp", 8), ("pp", 2)]`.
    public var degrees: [(name: String, degree: Int)] {
        [("tp", tensorParallel), ("pp", pipelineParallel), ("dp", dataParallel), ("cp", contextParallel), ("ep", expertParallel)]
            .compactMap { name, value in value.map { (name, $0) } }
    }

    /// The pins as options, in the order `plan` takes them: "--tp 8 --pp 2".
    public var flags: String {
        degrees.map { "--\($0.name) \($0.degree)" }.joined(separator: " ")
    }

    /// The `[dp, tp]` logical mesh every stage of a plan keeping the pins takes, where tp and dp are pinned and
    /// context parallelism is pinned to 1 or left free (the stage DP then searches that view only; a plan with
    /// context parallelism has another).
    public var stageMeshShape: [Int]? {
        guard let tensorParallel, let dataParallel, (contextParallel ?? 1) == 1 else { return nil }
        return [dataParallel, tensorParallel]
    }

    /// Whether a stage may take the logical view `shape` (`StageSearchOracle.views`) under a pinned tensor-parallel
    /// degree: its innermost axis is the pinned tp, where Megatron-LM lays tensor parallelism (`[devices / tp, tp]`,
    /// `[dp, cp, tp]`), or, with tp pinned to 1, it is the one-row view `[1, n]` whose axis data parallelism takes.
    /// Every view is allowed where tp is free. The DP's op shardings may still read as other degrees on such a view
    /// (`breach`), but on the others a plan keeps tp only with it across the slower axis.
    public func admitsView(_ shape: [Int]) -> Bool {
        guard let tensorParallel else { return true }
        return tensorParallel == 1 ? shape.count == 2 && shape[0] == 1 || shape.count > 2 && shape.last == 1 : shape.last == tensorParallel
    }

    /// Whether `configuration`, whose data-parallel degree is `dataParallel`, keeps every pin.
    public func admits(_ configuration: MegatronConfiguration, dataParallel dp: Int) -> Bool {
        (tensorParallel ?? configuration.tensorParallel) == configuration.tensorParallel
            && (pipelineParallel ?? configuration.pipelineParallel) == configuration.pipelineParallel
            && (dataParallel ?? dp) == dp
            && (contextParallel ?? configuration.contextParallel) == configuration.contextParallel
            && (expertParallel ?? configuration.expertParallel) == configuration.expertParallel
    }

    /// The first pin `plan` breaks and how, as "--tp 8 (stage 1 runs tp=4 dp=2)"; nil where it keeps every pin.
    public func breach(of plan: TrainingPlan) -> String? {
        if let pipelineParallel, plan.pipelineRanks != pipelineParallel {
            return "--pp \(pipelineParallel) (the plan has \(plan.pipelineRanks) pipeline rank\(plan.pipelineRanks == 1 ? "" : "s"))"
        }
        guard pinsStageLayout else { return nil }
        let tensorRoles = TensorRoles(plan.graph)
        for (index, stage) in plan.stages.enumerated() where !stage.operations.isEmpty {
            let roles = MegatronSummary.roles(of: stage, graph: plan.graph, roles: tensorRoles)
            let mixed = !roles.mixedAxes.isEmpty
            let degrees: [(String, Int?, Int)] = [("--tp", tensorParallel, roles.tensorParallel), ("--dp", dataParallel, roles.dataParallel),
                                                  ("--cp", contextParallel, roles.contextParallel), ("--ep", expertParallel, roles.expertParallel)]
            for (flag, pinned, degree) in degrees {
                guard let pinned, mixed || pinned != degree else { continue }
                let runs = mixed ? "has mixed axes (\(MegatronSummary.describe(roles)))" : "runs \(MegatronSummary.describe(roles))"
                return "\(flag) \(pinned) (stage \(index) \(runs))"
            }
        }
        return nil
    }

    /// Refuses pins no plan of `graph` on `cluster` can keep, naming the pin: degrees whose product does not divide
    /// the devices (or, all four of tp, pp, dp and cp pinned, does not equal them), a tensor-parallel degree that does
    /// not split every attention's heads whole, more pipeline ranks than layers, a context-parallel degree that does
    /// not cut the sequence into its `2 x cp` load-balanced chunks, an expert-parallel degree that does not divide
    /// every layer's experts, or that every pipeline stage cannot hold (each stage splits the experts over ep of its
    /// own devices, so ep x pp may not exceed the devices).
    public func check(graph: Graph, cluster: Cluster, clusterName: String) throws(InputError) {
        let devices = cluster.deviceCount
        let product = [tensorParallel, pipelineParallel, dataParallel, contextParallel].compactMap { $0 }.reduce(1, *)
        let complete = tensorParallel != nil && pipelineParallel != nil && dataParallel != nil && contextParallel != nil
        if complete ? product != devices : devices % product != 0 {
            throw refusal(String(flags.prefix { $0 != " " }), "the pinned degrees (\(flags)) multiply to \(product), which \(complete ? "is not" : "does not divide") the \(devices) devices of \(clusterName)")
        }
        if let tensorParallel, let undivided = AttentionHeads.undivided(AttentionHeads.all(in: graph), over: tensorParallel) {
            throw refusal("--tp", "\(tensorParallel) tensor-parallel ranks do not split \(graph.name)'s \(undivided) whole")
        }
        if let pipelineParallel {
            let layers = GraphAnalysis(graph).layers.count
            if pipelineParallel > layers {
                throw refusal("--pp", "\(pipelineParallel) pipeline ranks need as many layers, and \(graph.name) has \(layers)")
            }
        }
        if let contextParallel, contextParallel > 1, let length = StageCostModel.sequenceLength(graph, roles: TensorRoles(graph)),
           length % (2 * contextParallel) != 0 {
            throw refusal("--cp", "\(contextParallel) context-parallel ranks do not cut \(graph.name)'s sequence of \(length) tokens into \(2 * contextParallel) equal load-balanced chunks")
        }
        if let expertParallel, let count = ExpertLayers(graph).expertCounts.sorted().first(where: { $0 % expertParallel != 0 }) {
            throw refusal("--ep", "\(expertParallel) expert-parallel ranks do not divide the \(count) experts of a layer of \(graph.name)")
        }
        if let expertParallel, expertParallel * (pipelineParallel ?? 1) > devices {
            let stages = pipelineParallel.map { "each of \($0) pipeline stages" } ?? "the one stage"
            throw refusal("--ep", "\(stages) needs \(expertParallel) devices of its own for \(expertParallel) expert-parallel ranks, and \(clusterName) has \(devices)")
        }
    }

    /// Whether `graph` has expert GEMMs for `expertParallel` to split (`ExpertLayers`).
    public static func hasExperts(_ graph: Graph) -> Bool { !ExpertLayers(graph).expertCounts.isEmpty }

    private func refusal(_ flag: String, _ message: String) -> InputError {
        InputError(.invalidValue, at: JSONPath([.key(flag)]), message)
    }
}
