/// A complete parallel training plan: the graph's ops cut into pipeline stages, each run by a logical mesh
/// of devices with a strategy for every op, the schedule and microbatching, and the training-stack options.
///
/// With the interleaved schedule the graph is cut into `stages.count = ranks x virtualStages` chunks and
/// chunk c runs on pipeline rank `c % ranks` (Narayanan et al. 2021).
public struct TrainingPlan: Sendable {
    public var graph: Graph
    public var cluster: Cluster
    /// The name the cluster was given as (a preset such as `dgx-a100-80g:8`, or a file).
    public var clusterName: String
    /// Pipeline chunks in pipeline order.
    public var stages: [StageLayout]
    /// Number of distinct device groups (pipeline ranks).
    public var pipelineRanks: Int
    public var virtualStages: Int
    public var schedule: PipelineSchedule
    public var microbatches: Int
    public var options: TrainingOptions
    /// A short Megatron-style description of the layout ("tp=8 pp=8 dp=1"), when it has one.
    public var summary: String?
    /// The graph rewrites that turned the model's graph into `graph`, in the order they apply (empty when
    /// the plan is of the graph as given). The plan document lists each with the stage it falls in.
    public var rewrites: [GraphRewrite] = []
    /// The model's graph before `rewrites`, as a training framework builds it; nil when `rewrites` is empty.
    public var graphBeforeRewrites: Graph?
    /// The global batch of the model's graph as given, when `graph` is that graph at another batch
    /// (`Graph.rebatched(to:)`, `plan --batch`); nil when the plan is of the graph's own batch. The plan
    /// document writes it as `rebatched_from`, so that `score --plan` with the graph as given prices the plan's batch.
    public var rebatchedFrom: Int?
    /// The memory a device was taken to have when the plan was made (`--memory-limit`), where less than the cluster's;
    /// nil otherwise. A record only: the plan document writes it as `memory_limit_gb`, so that a later `score --plan`
    /// can say what headroom the plan was made with, and nothing prices or checks memory against it. To plan or price
    /// under a limit, cut the cluster's devices to it (`Cluster.limitingDeviceMemory(toGB:)`), plan or price on that
    /// cluster, then set this to the limit in bytes.
    public var memoryLimitBytes: Double?
    /// Which search found the plan, when a search did.
    public var provenance: SearchProvenance?

    /// A plan with these parts, taken as given: `PlanValidator.violation(in:)` says whether they make a sound plan,
    /// and `PlanEvaluator.evaluate(checking:)` prices one after checking it.
    public init(graph: Graph, cluster: Cluster, clusterName: String, stages: [StageLayout], pipelineRanks: Int,
                virtualStages: Int, schedule: PipelineSchedule, microbatches: Int, options: TrainingOptions,
                summary: String? = nil) {
        self.graph = graph
        self.cluster = cluster
        self.clusterName = clusterName
        self.stages = stages
        self.pipelineRanks = pipelineRanks
        self.virtualStages = virtualStages
        self.schedule = schedule
        self.microbatches = microbatches
        self.options = options
        self.summary = summary
    }

    /// How reports title the cluster: `clusterName`, after the name a cluster file gives itself where it gives one
    /// (`4x DGX A100 80GB from lab.json`); a preset as its argument (`dgx-a100-80g:8`).
    public var clusterTitle: String { cluster.title(asNamed: clusterName) }

    /// The pipeline rank that runs chunk `stage`.
    public func rank(ofStage stage: Int) -> Int { stage % pipelineRanks }

    /// The plan's graph rewrites by rule, in the order each rule first applies: "split-contraction x24,
    /// merge-parallel-contractions x2".
    public var rewriteCounts: String {
        var counts: [(rule: String, count: Int)] = []
        for rewrite in rewrites {
            if let index = counts.firstIndex(where: { $0.rule == rewrite.rule }) { counts[index].count += 1 } else { counts.append((rewrite.rule, 1)) }
        }
        return counts.map { "\($0.rule) x\($0.count)" }.joined(separator: ", ")
    }

    /// Devices the plan uses.
    public var deviceCount: Int { Set(stages.flatMap(\.mesh.devices)).count }

    /// Whether ZeRO-3 gradients really accumulate unsharded (`TrainingOptions.accumulatesUnshardedGradients`): the
    /// option is on, there are several microbatches, and some trainable parameter at ZeRO-3 has its gradients reduced over
    /// more than one data-parallel device (in shard groups of more than one, where there are groups).
    public var accumulatesUnshardedGradients: Bool {
        guard options.accumulatesUnshardedGradients(over: microbatches), (options.zeroShardGroup ?? 2) > 1 else { return false }
        return stages.contains { stage in
            zip(stage.operations, stage.strategies).contains { operationIndex, strategy in
                let operation = graph.operations[operationIndex]
                return max(options.zeroStage, strategy.zeroStage) >= 3 && operation.inputs.indices.contains { operand in
                    graph[operation.inputs[operand]].isTrainableParameter
                        && stage.mesh.size(ofAxes: strategy.gradientSpec(operand, in: operation.indexSpace).partialAxes) > 1
                }
            }
        }
    }

    /// The plan's batch as the text and HTML reports write it, with `count` writing each number: "global batch
    /// 16", and for a plan of the graph at another batch "global batch 16 (the graph's 8, rebatched)", since its
    /// samples per second are of a batch the graph file does not hold.
    func globalBatchText(count: (Int) -> String = { String($0) }) -> String {
        let text = "global batch \(count(graph.batchSize ?? 1))"
        return rebatchedFrom.map { "\(text) (the graph's \(count($0)), rebatched)" } ?? text
    }
}
