/// Prices one pipeline stage: every op's kernels under its strategy, every layout change between ops
/// (forward and backward), the gradient synchronisation and optimizer step of the stage's parameters, and
/// the memory each device needs. The search and `shardplan score` both go through this one model.
public struct StageCostModel: Sendable {
    public let graph: Graph
    public let kernels: KernelModel
    public private(set) var options: TrainingOptions
    /// Microbatches per iteration (each device of the stage processes its share of each).
    public private(set) var microbatches: Int
    /// Under the experts' overlapped all-to-alls, the share of the stage's passes that run beside another
    /// microbatch's, as its pipeline rank has it (`ExpertParallelOverlap.pairedShare(schedule:...)`); nil for
    /// (m - 1)/m, a stage priced apart from a rank.
    var expertOverlapPairedShare: Double?
    let roles: TensorRoles
    let gradients: GradientFlow
    let fusion: KernelFusion
    let linearLayers: LinearLayers
    let accumulation: GradientAccumulation
    let consumers: [[Int]]
    let sequenceLength: Int?
    /// For each value, how many of its dimensions carry a sequence from the token inputs (the queries' and the
    /// keys' in attention scores), or nil where the roles do not reach it.
    let sequenceDimensionCounts: [Int?]
    /// The run of consecutive ops of one layer that each op belongs to, numbered over the whole graph.
    let layerRun: [Int]
    /// The layer runs the op-level recomputation modes (`RecomputeMode.isOperatorLevel`), norm-act and `.full` checkpoint:
    /// the transformer blocks.
    let checkpointedRuns: Set<Int>
    /// Each checkpointed run's place among them, from 0 in graph order.
    let blockOrdinals: [Int: Int]
    /// The layer runs with a backward pass: some op's result carries a gradient. A block of frozen layers below every
    /// trained weight has none, so no recomputation mode reruns it or keeps its input as a checkpoint (a checkpoint
    /// whose outputs need no gradient never runs its backward function); it still counts among the blocks
    /// `TrainingOptions.recomputedBlocks` numbers, as Megatron's block method counts layers.
    let runsWithBackward: Set<Int>
    /// For each op index (and the graph's end), the place of the first checkpointed run at or after it (`Int.max`
    /// where none follows): a stage's first block, for `TrainingOptions.recomputedBlocks`.
    let firstBlockOrdinal: [Int]
    /// The ops each op-level recomputation mode reruns in the backward pass (`operatorCheckpoints`), one set a mode:
    /// MaxText's `minimal_with_context` (`.elementwise`), torchtitan's op-level policy (`.selectiveOperators`), and
    /// MaxText's `save_dot_with_context_except_mlp` (`.mlp`) and `save_qkv_proj` (`.allButQKV`).
    let elementwiseRecomputation, alternateProductRecomputation, mlpRecomputation, allButQKVRecomputation: Set<Int>
    /// The ops Megatron-Core's `layernorm` and `moe_act` checkpoints rerun (`normActivationReruns`): the norm before
    /// each mixture of experts, a multi-head latent attention's input norm and the experts' activation function, in
    /// the transformer blocks.
    let normActivationRecomputation: Set<Int>
    /// What torchtitan's op-level policy reruns when the linear layers run in FP8: every product with a weight an FP8
    /// recipe converts, besides `alternateProductRecomputation`. The policy saves the results of `aten.mm` (and of
    /// attention, `aten.max` and the reduce-scatters: `_save_list` in torchtitan's `activation_checkpoint.py`); an
    /// FP8 linear layer's product is torchao's `torch._scaled_mm`, which is not on the list, so it reruns.
    let fp8AlternateProductRecomputation: Set<Int>
    /// The ops the options' op-level recomputation reruns in the backward pass (empty under any other mode).
    var operatorRecomputation: Set<Int> {
        switch options.recompute {
        case .elementwise: elementwiseRecomputation
        case .selectiveOperators: options.precision == .bf16 ? alternateProductRecomputation : fp8AlternateProductRecomputation
        case .mlp: mlpRecomputation
        case .allButQKV: allButQKVRecomputation
        case .normAct: normActivationRecomputation
        case .none, .selective, .full: []
        }
    }

    public init(graph: Graph, kernels: KernelModel, options: TrainingOptions, microbatches: Int) {
        self.graph = graph
        var kernels = kernels
        if let kernel = options.attentionKernel { kernels.attentionKernel = kernel }
        if options.kernelFusion == .compiled { kernels.launchSeconds = KernelModel.compiledLaunchSeconds }
        self.kernels = kernels
        self.options = options
        self.microbatches = microbatches
        roles = TensorRoles(graph)
        gradients = GradientFlow(graph)
        fusion = KernelFusion(graph, level: options.kernelFusion)
        linearLayers = LinearLayers(graph)
        accumulation = GradientAccumulation(graph, gradients: gradients, level: options.kernelFusion)
        consumers = graph.consumers()
        let roles = self.roles
        sequenceLength = Self.sequenceLength(graph, roles: roles)
        sequenceDimensionCounts = Self.sequenceDimensionCounts(graph, roles: roles)
        let (length, counts) = (sequenceLength, sequenceDimensionCounts)
        let isAttentionCore = { (value: ValueID) in
            Self.isAttentionCore(value, in: graph, sequenceLength: length, sequenceDimensionCounts: counts)
        }
        let checkpoints = Self.operatorCheckpoints(graph, isAttentionCore: isAttentionCore)
        (layerRun, checkpointedRuns) = (checkpoints.runs, checkpoints.checkpointed)
        var ordinals: [Int: Int] = [:]
        for run in checkpoints.runs where checkpoints.checkpointed.contains(run) && ordinals[run] == nil { ordinals[run] = ordinals.count }
        blockOrdinals = ordinals
        var firstBlock = Array(repeating: Int.max, count: graph.operations.count + 1)
        for op in graph.operations.indices.reversed() { firstBlock[op] = ordinals[checkpoints.runs[op]] ?? firstBlock[op + 1] }
        firstBlockOrdinal = firstBlock
        let gradients = self.gradients
        let backwardRuns = Set(graph.operations.indices.filter { gradients[graph.operations[$0].result] }.map { checkpoints.runs[$0] })
        runsWithBackward = backwardRuns
        let withBackward = { (ops: Set<Int>) in ops.filter { backwardRuns.contains(checkpoints.runs[$0]) } }
        (elementwiseRecomputation, alternateProductRecomputation) = (withBackward(checkpoints.reruns[.elementwise]!),
                                                                     withBackward(checkpoints.reruns[.selectiveOperators]!))
        (mlpRecomputation, allButQKVRecomputation) = (withBackward(checkpoints.reruns[.mlp]!), withBackward(checkpoints.reruns[.allButQKV]!))
        normActivationRecomputation = withBackward(Self.normActivationReruns(graph, runs: checkpoints.runs, checkpointed: checkpoints.checkpointed))
        let linearLayers = self.linearLayers, checkpointed = checkpointedRuns, runs = layerRun
        fp8AlternateProductRecomputation = alternateProductRecomputation.union(graph.operations.indices.filter {
            linearLayers[$0] != nil && checkpointed.contains(runs[$0]) && backwardRuns.contains(runs[$0])
        })
    }

    /// How many transformer blocks `graph` holds: the layer runs the recomputation modes checkpoint
    /// (`checkpointedRuns`), which `TrainingOptions.recomputedBlocks` counts.
    public static func transformerBlockCount(in graph: Graph) -> Int {
        operatorCheckpoints(of: graph).checkpointed.count
    }

    /// `operatorCheckpoints` of `graph`, its attention cores found from its own roles (for a graph without a model).
    static func operatorCheckpoints(of graph: Graph) -> (runs: [Int], checkpointed: Set<Int>, reruns: [RecomputeMode: Set<Int>]) {
        let roles = TensorRoles(graph)
        let (length, counts) = (sequenceLength(graph, roles: roles), sequenceDimensionCounts(graph, roles: roles))
        return operatorCheckpoints(graph) { isAttentionCore($0, in: graph, sequenceLength: length, sequenceDimensionCounts: counts) }
    }

    /// The tokens of a sequence: the length of the first graph input with a sequence dimension (`TensorRoles`).
    static func sequenceLength(_ graph: Graph, roles: TensorRoles) -> Int? {
        graph.inputs.first { roles.sequenceDimension[$0.rawValue] != nil }
            .map { graph[$0].type.shape[roles.sequenceDimension[$0.rawValue]!] }
    }

    /// Numbers the layer runs of `graph` and picks what op-level selective recomputation checkpoints and reruns:
    /// every run that holds attention, a fused kernel or explicit attention's softmax (a transformer block;
    /// embeddings and the output layer are not checkpointed). Within a block, every mode reruns every op but
    /// attention, convolutions, views and the products with a weight; of those, each mode keeps:
    /// - `elementwise`: all of them (MaxText's `minimal_with_context`: every product with a weight and attention's
    ///   output, `context`);
    /// - `selectiveOperators`: attention, and the products with a weight of odd count in the block (torchtitan's
    ///   policy, `_get_custom_policy` in `activation_checkpoint.py`: it saves the attention kernels' outputs and
    ///   `aten.mm`'s, the product of an activation with a weight, except every mm of even count in the block);
    /// - `mlp`: attention, the products before it (q, k and v) and the first product after it (the output
    ///   projection); the MLP's products, or a mixture of experts' router and experts, rerun (MaxText's
    ///   `save_dot_with_context_except_mlp`);
    /// - `allButQKV`: only the products before attention (q, k and v); attention, the output projection and the
    ///   MLP rerun (MaxText's `save_qkv_proj`).
    /// Batched products without a weight rerun under every mode: under explicit attention (score matrices as
    /// tensors) that is its scores and its context product, which MaxText's policies would keep as `context`;
    /// fused attention has neither. Attention's place in a block is its first op that `marksTransformerBlock`.
    /// `isAttentionCore` tells explicit attention's softmax (over scores with two sequence dimensions) from any
    /// other softmax: a router's, or one in an output layer, which marks no block.
    static func operatorCheckpoints(_ graph: Graph, isAttentionCore: (ValueID) -> Bool)
        -> (runs: [Int], checkpointed: Set<Int>, reruns: [RecomputeMode: Set<Int>]) {
        var runs: [Int] = []
        for (index, operation) in graph.operations.enumerated() {
            let continues = index > 0 && graph.operations[index - 1].layer == operation.layer
            runs.append(continues ? runs[index - 1] : (runs.last ?? -1) + 1)
        }
        var checkpointed = Set<Int>()
        var reruns: [RecomputeMode: Set<Int>] = [.elementwise: [], .selectiveOperators: [], .mlp: [], .allButQKV: []]
        var start = 0
        while start < graph.operations.count {
            var end = start
            while end < graph.operations.count && runs[end] == runs[start] { end += 1 }
            let block = start ..< end
            if let attention = block.first(where: { Self.marksTransformerBlock(graph.operations[$0], isAttentionCore: isAttentionCore) }) {
                checkpointed.insert(runs[start])
                var productCount = 0, productsAfterAttention = 0
                for index in block {
                    let operation = graph.operations[index]
                    if LinearLayers.productWeight(operation, in: graph) != nil {
                        productCount += 1
                        if productCount % 2 == 0 { reruns[.selectiveOperators]!.insert(index) }
                        if index > attention {
                            productsAfterAttention += 1
                            reruns[.allButQKV]!.insert(index)
                            if productsAfterAttention > 1 { reruns[.mlp]!.insert(index) }
                        }
                    } else if case .attention = operation.op {
                        reruns[.allButQKV]!.insert(index)
                    } else if case .conv2d = operation.op {
                    } else if !operation.op.isView {
                        for mode in reruns.keys { reruns[mode]!.insert(index) }
                    }
                }
            }
            start = end
        }
        return (runs, checkpointed, reruns)
    }

    /// Whether full recomputation reruns op `op` of the stage of `operations`: it lies in a transformer block
    /// (`checkpointedRuns`) with a backward pass (`runsWithBackward`) among the first `options.recomputedBlocks` of the
    /// stage (every block where that is nil), or the graph has none and the whole forward pass reruns.
    func rerunsUnderFullRecomputation(_ op: Int, within operations: Range<Int>) -> Bool {
        guard !checkpointedRuns.isEmpty else { return true }
        guard let ordinal = blockOrdinals[layerRun[op]], runsWithBackward.contains(layerRun[op]) else { return false }
        guard let blocks = options.recomputedBlocks else { return true }
        return ordinal - firstBlockOrdinal[operations.lowerBound] < blocks
    }

    /// Whether `--overlap-tp-comm` hides part of `operation`'s own collectives: a linear layer's (a product with a
    /// weight, whose partial sums TransformerEngine's userbuffers and async tensor parallelism split into chunks behind
    /// its GEMM). Another op's own collective (the loss's mean over the batch, a vocabulary-parallel loss's sums, a
    /// router's load-balancing sums over the tokens) has no GEMM to hide behind.
    static func overlapsOwnCollectives(_ operation: Operation, in graph: Graph) -> Bool {
        operation.isLinearLayer(in: graph)
    }

    /// The activations made by `operations` that more than one operand among them reads. Where such a value leaves
    /// its producer as partial sums, they are all-reduced once into the value's reduced layout (the layout the plan
    /// pins it in, `shardings`, as XLA reduces it), which every reader reads from; a value with one reader is reduced
    /// by the layout change into that reader (a reduce-scatter where it splits along a summed axis).
    static func sharedActivations(of operations: Range<Int>, in graph: Graph) -> Set<ValueID> {
        var readers: [ValueID: Int] = [:]
        for index in operations {
            for input in graph.operations[index].inputs where graph[input].operationIndex.map(operations.contains) ?? false {
                readers[input, default: 0] += 1
            }
        }
        return Set(readers.filter { $0.value > 1 }.keys)
    }

    /// Whether `--overlap-tp-comm` hides part of a layout change of `value` into `reader` (or of its gradient out of
    /// it): one beside a linear layer (`overlapsOwnCollectives`), its producer or its reader, as Megatron's
    /// sequence-parallel all-gather into a column-parallel layer and reduce-scatter out of a row-parallel one are.
    static func overlapsLayoutChange(of value: ValueID, into reader: Operation, in graph: Graph) -> Bool {
        overlapsOwnCollectives(reader, in: graph)
            || graph[value].operationIndex.map { overlapsOwnCollectives(graph.operations[$0], in: graph) } ?? false
    }

    /// Whether a rerun of `operation` under selective or op-level recomputation runs its forward communication
    /// again (its own collectives and the layout changes into it): an attention op's, whose context-parallel K/V
    /// exchange (or all-to-alls) belongs to the kernel it reruns, in TransformerEngine's attention functions and in
    /// a JAX rematerialisation alike. Other ops rerun their kernels only: which of their collectives a stack keeps
    /// depends on its saving policy (torchtitan's keeps the reduce-scatters), which the model does not follow.
    /// Full recomputation reruns every block's whole forward pass, collectives included.
    static func rerunsCommunication(_ operation: Operation) -> Bool {
        if case .attention = operation.op { true } else { false }
    }

    /// Whether selective recomputation (Megatron's `--recompute-granularity selective`, `core_attn`) reruns op
    /// `op`: explicit attention's scores, softmax and dropout (the ops whose result is attention's core), and a
    /// fused attention kernel, which Megatron-Core checkpoints whatever its kernel (`checkpoint_core_attention`
    /// in `megatron/core/transformer/attention.py`): it keeps the kernel's inputs and output, drops its softmax
    /// statistics, and reruns its forward pass, exchange included, in the backward pass.
    func rerunsUnderSelectiveRecomputation(_ op: Int) -> Bool {
        let operation = graph.operations[op]
        // A kernel whose output needs no gradient has no backward pass to rerun it for.
        if case .attention = operation.op { return gradients[operation.result] }
        return isAttentionCore(operation.result)
    }

    /// For each layer run of `stage` (`runOfOperation`'s numbering), whether full recomputation reruns it.
    func fullRecomputationReruns(_ stage: StageLayout, runOfOperation: [Int: Int], runCount: Int) -> [Bool] {
        var reruns = Array(repeating: false, count: runCount)
        for op in stage.operations where rerunsUnderFullRecomputation(op, within: stage.operations) { reruns[runOfOperation[op]!] = true }
        return reruns
    }

    /// Whether the plan recomputes op-level selectively and op `op` lies in a block it checkpoints.
    func isInOperatorCheckpointedBlock(_ op: Int) -> Bool {
        options.recompute.isOperatorLevel && checkpointedRuns.contains(layerRun[op]) && runsWithBackward.contains(layerRun[op])
    }

    /// Whether the plan discards the results of some ops of the block op `op` lies in and reruns them
    /// (`RecomputeMode.normAct`): what op `op`'s backward pass reads is kept, but for those results.
    func isInOutputDiscardingBlock(_ op: Int) -> Bool {
        options.recompute == .normAct && checkpointedRuns.contains(layerRun[op]) && runsWithBackward.contains(layerRun[op])
    }

    /// Whether op-level selective recomputation keeps op `op`'s result from the forward pass to the backward pass
    /// whether or not a backward kernel reads it: PyTorch's selective checkpointing stores the output of every op
    /// its policy saves (`_CachingTorchDispatchMode`) until the block's recomputation takes it back.
    func storesResultUnderOperatorRecomputation(_ op: Int) -> Bool {
        checkpointedRuns.contains(layerRun[op]) && !operatorRecomputation.contains(op) && !graph.operations[op].op.isView
    }

    /// The bytes of op `op`'s result that op-level selective recomputation stores on each device: as the op writes
    /// it, or, where the op leaves partial sums (a row-parallel product), as the reduction delivers it to its
    /// readers in the stage (split along the sequence under sequence parallelism, whole otherwise).
    func storedResultBytes(_ op: Int, in stage: StageLayout, model: OperatorCostModel) -> Double {
        let operation = graph.operations[op]
        let spec = stage.strategy(of: op).resultSpec(in: operation.indexSpace)
        var bytes = model.localBytes(operation.result, spec.reduced)
        guard !spec.partialSums.isEmpty else { return bytes }
        for reader in consumers[operation.result.rawValue] where stage.operations.contains(reader) {
            let readerOperation = graph.operations[reader]
            for (operand, input) in readerOperation.inputs.enumerated() where input == operation.result {
                bytes = min(bytes, model.localBytes(input, stage.strategy(of: reader).operandSpec(operand, in: readerOperation.indexSpace)))
            }
        }
        return bytes
    }

    /// What op-level selective recomputation does with a tensor a backward kernel reads.
    enum OperatorRecomputationFate {
        /// Kept from the forward pass: the block's input (or a view of it), or a tensor of a block not checkpointed.
        case kept
        /// Kept once, as the result its producer's policy stores (`storesResultUnderOperatorRecomputation`).
        case stored
        /// Freed at the end of the forward pass and rerun in the block's backward pass.
        case rerun
    }

    /// What op-level selective recomputation does with `tensor`, read by op `reader` of a stage of `operations`,
    /// and the tensor whose storage it is: a checkpointed block keeps only its input and the results its policy
    /// stores; everything else its backward pass reads is rerun. A view holds its source's storage and takes its
    /// source's fate; a tensor produced before the block (or before the stage) is the block's input and is kept.
    func operatorRecomputationFate(of tensor: ValueID, readBy reader: Int, within operations: Range<Int>)
        -> (fate: OperatorRecomputationFate, storage: ValueID) {
        guard checkpointedRuns.contains(layerRun[reader]) else { return (.kept, tensor) }
        var source = tensor
        while let producer = graph[source].operationIndex, operations.contains(producer), layerRun[producer] == layerRun[reader],
              graph.operations[producer].op.isView, let viewed = graph.operations[producer].inputs.first {
            source = viewed
        }
        guard let producer = graph[source].operationIndex, operations.contains(producer),
              layerRun[producer] == layerRun[reader] else { return (.kept, source) }
        return (storesResultUnderOperatorRecomputation(producer) ? .stored : .rerun, source)
    }

    /// Whether op `reader`'s backward pass, in a block that recomputes op-level or discards outputs, finds `tensor`
    /// rerun rather than kept: under op-level modes its fate says so (`operatorRecomputationFate`); under norm-act
    /// only the results of the ops it reruns, and views of them, are (not a constant's or an iota's, which op-level
    /// modes count as rerun).
    func findsRerun(_ tensor: ValueID, readBy reader: Int, within operations: Range<Int>) -> Bool {
        let (fate, storage) = operatorRecomputationFate(of: tensor, readBy: reader, within: operations)
        guard fate == .rerun else { return false }
        guard options.recompute == .normAct else { return true }
        return graph[storage].operationIndex.map(operatorRecomputation.contains) ?? false
    }

    public func operatorModel(meshShape: [Int]) -> OperatorCostModel {
        OperatorCostModel(graph: graph, kernels: kernels, meshShape: meshShape, microbatches: microbatches,
                          precision: options.precision, fp8Recipe: options.fp8Recipe, fp8Parameters: options.fp8Parameters, fusion: options.kernelFusion, fusedCrossEntropy: options.fusedCrossEntropy || options.lossFusion == .compiled, lossFusion: options.lossFusion,
                          upcastsLoss: options.upcastsLoss, contextParallelCommunication: options.contextParallelCommunication,
                          roles: roles, gradients: gradients, fusion: fusion, linearLayers: linearLayers, accumulation: accumulation)
    }

    /// The same model with another recomputation mode (for a stage that recomputes unlike the plan).
    public func recomputing(_ mode: RecomputeMode) -> StageCostModel {
        var model = self
        model.options.recompute = mode
        return model
    }

    /// The same model pricing a stage on rank `stage` of `stages` of `schedule`, whose position sets how many of its
    /// passes the experts' overlapped all-to-alls pair (`expertOverlapPairedShare`).
    public func onRank(_ stage: Int, of stages: Int, schedule: PipelineSchedule, virtualStages: Int) -> StageCostModel {
        guard options.overlapExpertParallelCommunication else { return self }
        var model = self
        model.expertOverlapPairedShare = ExpertParallelOverlap.pairedShare(schedule: schedule, stage: stage, stages: stages,
                                                                           microbatches: microbatches, virtualStages: virtualStages)
        return model
    }

    /// The same model over `microbatches` microbatches: what `init` builds but for the count itself, which none of the
    /// graph's analyses depend on (the Megatron grid analyses the graph once for all its microbatch counts).
    public func with(microbatches: Int) -> StageCostModel {
        var model = self
        model.microbatches = microbatches
        return model
    }

    /// The same model with other training options (the graph's analyses are kept).
    public func with(options: TrainingOptions) -> StageCostModel {
        var model = self
        model.options = options
        return model
    }

    /// The cost of `stage` on each of its devices, with the stage's own recomputation when it has one.
    public func cost(of stage: StageLayout) -> StageCost {
        if let mode = stage.recompute, mode != options.recompute { return recomputing(mode).cost(of: stage) }
        let mesh = stage.mesh
        let model = operatorModel(meshShape: mesh.shape)
        var cost = StageCost()
        /// Charges `collectives`; those of tensor parallelism's kind (`overlapped`, all but context parallelism's
        /// exchange) hide behind the GEMMs as `--overlap-tp-comm` says (`TrainingOptions.tensorParallelOverlapShare`).
        /// The experts' all-to-alls charged whole, which `--overlap-moe-comm` then hides (`ExpertParallelOverlap`).
        var expertAllToAlls = (forward: 0.0, backward: 0.0)
        func charge(_ collectives: [Collective], forward: Bool, scale: Double = 1, timeScale: Double = 1, overlapped: Bool = true,
                    behindGEMM: Bool = true) {
            for collective in collectives where collective.bytes > 0 {
                let shown = overlapped && behindGEMM ? options.tensorParallelOverlapShare(of: collective.kind) : 1
                let seconds = mesh.seconds(for: collective) * shown * scale * timeScale
                if overlapped && collective.kind == .allToAll && options.overlapExpertParallelCommunication {
                    if forward { expertAllToAlls.forward += seconds } else { expertAllToAlls.backward += seconds }
                }
                cost.communicationSeconds[collective.kind, default: 0] += seconds
                cost.communicationBytes[collective.kind, default: 0] += collective.bytes * scale
                cost.communicationBytesByAxes[collective.axes.sorted(), default: [:]][collective.kind, default: 0] += collective.bytes * scale
                if forward { cost.forwardCommunicationSeconds += seconds } else { cost.backwardCommunicationSeconds += seconds }
            }
        }
        /// Each op's forward pass as selective or op-level recomputation reruns it (`rerunsCommunication`).
        var rerunSecondsByOp: [Int: Double] = [:]
        var fp8ByOp: [Int: OperatorCost.FP8Use] = [:]
        var arrivalLayouts: [ValueID: ShardingSpec] = [:]
        // Partial sums several ops read are reduced once, by the first of them (`sharedActivations`).
        let shared = Self.sharedActivations(of: stage.operations, in: graph)
        var reduced = Set<ValueID>()
        for operationIndex in stage.operations {
            let operation = graph.operations[operationIndex]
            for (operand, input) in operation.inputs.enumerated() where arrivalLayouts[input] == nil && !graph[input].isParameter
                && !(graph[input].operationIndex.map(stage.operations.contains) ?? false) {
                arrivalLayouts[input] = stage.strategy(of: operationIndex).operandSpec(operand, in: operation.indexSpace)
            }
        }
        // Consecutive ops of one layer form a run: the unit ZeRO-3 gathers and reduce-scatters around.
        var runs: [(layer: String?, forward: Double, backward: Double)] = []
        var runOfOperation: [Int: Int] = [:]
        for operationIndex in stage.operations {
            let operation = graph.operations[operationIndex]
            if runs.last.map({ $0.layer != operation.layer }) ?? true { runs.append((operation.layer, 0, 0)) }
            runOfOperation[operationIndex] = runs.count - 1
            let before = (forward: cost.forwardSeconds, backward: cost.backwardSeconds)
            defer {
                runs[runs.count - 1].forward += cost.forwardSeconds - before.forward
                runs[runs.count - 1].backward += cost.backwardSeconds - before.backward
            }
            let strategy = stage.strategy(of: operationIndex)
            let space = operation.indexSpace
            let opCost = model.cost(operationIndex, strategy)
            let communicationBefore = cost.forwardCommunicationSeconds
            defer {
                rerunSecondsByOp[operationIndex] = opCost.forwardSeconds
                    + (Self.rerunsCommunication(operation) ? cost.forwardCommunicationSeconds - communicationBefore : 0)
            }
            cost.computeSeconds[opCost.category, default: 0] += opCost.forwardSeconds + opCost.backwardSeconds
            cost.forwardComputeSeconds += opCost.forwardSeconds
            cost.backwardComputeSeconds += opCost.backwardSeconds
            cost.forwardFLOPs += opCost.forwardFLOPs
            if let fp8 = opCost.fp8 {
                fp8ByOp[operationIndex] = fp8
                cost.weightBytes += fp8.weightCopyBytes
            }
            // Context parallelism's K/V ring hides behind the attention kernels; an all-gather does not, and an all-to-all
            // moves each device's chunk instead (`ContextParallelExchange`). Tensor parallelism's overlap hides none of it.
            let ring = ContextParallelExchange.ringSize(operation, strategy, meshShape: mesh.shape)
            let behindGEMM = Self.overlapsOwnCollectives(operation, in: graph)
            charge(opCost.forwardCollectives, forward: true, overlapped: ring == 1, behindGEMM: behindGEMM)
            charge(opCost.backwardCollectives, forward: false, overlapped: ring == 1, behindGEMM: behindGEMM)
            /// Charges an operand's layout change into the op (`forward`, where K and V gather) or its gradient's out of it;
            /// `width` is the operand's bytes an element.
            func chargeExchange(_ collectives: [Collective], forward: Bool, operand: Int, width: Int, attentionSeconds: Double) {
                guard ring > 1, operand > 0, ContextParallelExchange.isRingExchange(collectives, kind: forward ? .allGather : .reduceScatter,
                                                                                    operation, strategy) else {
                    return charge(collectives, forward: forward,
                                  behindGEMM: Self.overlapsLayoutChange(of: operation.inputs[operand], into: operation, in: graph))
                }
                let priced = { (collective: Collective) in collective.bytes > 0 ? mesh.seconds(for: collective) : 0 }
                let (carried, exposed) = ContextParallelExchange.carry(
                    collectives, ringSize: ring, communication: options.contextParallelCommunication, gradientWidening: 4 / Double(width),
                    attentionSeconds: attentionSeconds, forward: forward, meshShape: mesh.shape, priced: priced)
                let seconds = carried.reduce(0) { $0 + priced($1) }
                charge(carried, forward: forward, timeScale: seconds > 0 ? exposed / seconds : 1, overlapped: false)
            }
            for (operand, input) in operation.inputs.enumerated() where !graph[input].isParameter {
                let wanted = strategy.operandSpec(operand, in: space)
                let type = graph[input].type
                let elements = model.localElements(input, .replicated(rank: type.rank))
                // The tensor arrives (from an earlier stage, or as a graph input) in the layout its first reader
                // in the stage wants; other readers reshard it from there, and every reader's gradient goes back
                // to it reduced (the runner's step does the same, Docs/jax.md).
                // An activation's partial sums are reduced by the layout change into its reader; where several ops
                // read them, once, by an all-reduce into the reduced layout charged to the first, and every reader
                // reads the reduced value (`sharedActivations`; XLA reduces such a value once, Docs/jax.md).
                let dispatch = tokenDispatch(of: input)
                var source: ShardingSpec
                var reduction: [Collective] = []
                if let producerIndex = graph[input].operationIndex, stage.operations.contains(producerIndex) {
                    source = stage.strategy(of: producerIndex).resultSpec(in: graph.operations[producerIndex].indexSpace)
                    if !source.partialAxes.isEmpty && shared.contains(input) {
                        if reduced.insert(input).inserted {
                            reduction = Resharding.collectives(from: source, to: source.reduced, elementCount: elements,
                                                               bytesPerElement: type.dtype.byteSize, meshShape: mesh.shape, dispatch: dispatch)
                        }
                        source = source.reduced
                    }
                } else {
                    source = arrivalLayouts[input]!
                }
                chargeExchange(reduction, forward: true, operand: operand, width: type.dtype.byteSize, attentionSeconds: opCost.forwardSeconds)
                var forward = Resharding.collectives(from: source, to: wanted, elementCount: elements,
                                                     bytesPerElement: type.dtype.byteSize, meshShape: mesh.shape, dispatch: dispatch)
                if opCost.gathersInFP8(forward, operand: operand) {
                    forward = Resharding.collectives(from: source, to: wanted, elementCount: elements, bytesPerElement: 1,
                                                     meshShape: mesh.shape, dispatch: dispatch)
                }
                chargeExchange(forward, forward: true, operand: operand, width: type.dtype.byteSize, attentionSeconds: opCost.forwardSeconds)
                if gradients[input] {
                    let backward = Resharding.collectives(from: strategy.gradientSpec(operand, in: space), to: source.reduced,
                                                          elementCount: elements, bytesPerElement: type.dtype.byteSize,
                                                          meshShape: mesh.shape, dispatch: dispatch)
                    chargeExchange(backward, forward: false, operand: operand, width: type.dtype.byteSize, attentionSeconds: opCost.backwardSeconds)
                }
            }
        }
        let parameters = addParameters(of: stage, model: model, runOfOperation: runOfOperation, fp8ByOp: fp8ByOp, to: &cost)
        // A reader's resharding of a weight is part of its run's forward pass: a run full recomputation keeps does
        // not reshard again.
        var weightReshardingByRun: [Int: Double] = [:]
        for (collectives, forward, reader) in parameters.perMicrobatch {
            let before = cost.forwardSeconds
            charge(collectives, forward: forward, behindGEMM: Self.overlapsOwnCollectives(graph.operations[reader], in: graph))
            weightReshardingByRun[runOfOperation[reader]!, default: 0] += cost.forwardSeconds - before
        }
        let recomputeByRun = addActivations(of: stage, model: model, rerunSecondsByOp: rerunSecondsByOp, fp8ByOp: fp8ByOp,
                                            runOfOperation: runOfOperation,
                                            runForwardSeconds: runs.indices.map { runs[$0].forward + (weightReshardingByRun[$0] ?? 0) },
                                            rerunCopyBytesByLayer: parameters.castCopyBytesByLayer,
                                            castSecondsOutsideReruns: parameters.castSecondsOutsideReruns, to: &cost)
        // Autocast's 16-bit copies of the weights live until the backward pass reads them; full recomputation
        // casts again in the rerun forward pass instead, and the rerun layer holds its copies (`addActivations`).
        if options.recompute != .full { cost.activationBytesPerMicrobatch += parameters.castCopyBytes }
        cost.forwardComputeSeconds += parameters.gatheredCopyCastSeconds
        cost.computeSeconds[.memoryBound, default: 0] += parameters.gatheredCopyCastSeconds
        if !parameters.sharded.isEmpty {
            let scheduleRuns = runs.indices.map { index in
                ShardedParameterSchedule.Run(forwardSeconds: runs[index].forward,
                                             backwardSeconds: runs[index].backward + (recomputeByRun[index] ?? 0)
                                                 + (parameters.accumulationByRun[index] ?? 0))
            }
            addShardedParameters(parameters.sharded, runs: scheduleRuns, layers: runs.map(\.layer),
                                 gatheredForBackward: layersGatheredForBackward(stage.operations), mesh: mesh, to: &cost)
        }
        if expertAllToAlls.forward + expertAllToAlls.backward > 0 {
            // The backward compute holds the recomputation already.
            let overlap = ExpertParallelOverlap(forwardAllToAllSeconds: expertAllToAlls.forward, backwardAllToAllSeconds: expertAllToAlls.backward,
                                                forwardComputeSeconds: cost.forwardComputeSeconds, backwardComputeSeconds: cost.backwardComputeSeconds,
                                                pairedShare: expertOverlapPairedShare ?? ExpertParallelOverlap.pairedShare(microbatches: microbatches))
            let hidden = (forward: expertAllToAlls.forward - overlap.forwardShownSeconds,
                          backward: expertAllToAlls.backward - overlap.backwardShownSeconds)
            cost.forwardCommunicationSeconds -= hidden.forward
            cost.backwardCommunicationSeconds -= hidden.backward
            cost.communicationSeconds[.allToAll, default: 0] -= hidden.forward + hidden.backward
        }
        return cost
    }

    /// A layer's ZeRO-3 parameters along one set of data-parallel axes: what is gathered (16-bit weights, or FP8
    /// ones with `TrainingOptions.fp8Parameters`, the whole unsharded layer) and what is reduce-scattered (its
    /// gradients), in bytes. Under ZeRO-2 a unit only
    /// reduce-scatters (nothing to gather). With shard groups (`HybridSharding`) `axes` are the group's and
    /// `replicaAxes` the replicas', which all-reduce the reduce-scattered shard.
    struct ShardedUnit {
        var layer: String?
        var axes: [Int]
        var replicaAxes: [Int] = []
        var gatherBytes: Double
        var reduceBytes: Double
        /// Bytes the casts of fp32 shards to the 16-bit gather's input move before each gather (FSDP's mixed
        /// precision over fp32 weights: read 4 and write 2 bytes a shard element, one foreach kernel for the layer).
        var castBytes: Double = 0
        /// Bytes of the whole layer's gradients in the weights' 16-bit type, which a flat-parameter FSDP
        /// concatenates (the gathered bytes, unless the weights are gathered in FP8).
        var gradientBytes: Double = 0
        /// Whether the layer's gathered weights stay from its forward into its backward pass, so that nothing is
        /// gathered again before it (ZeRO-2 over fp32 weights, FSDP's `SHARD_GRAD_OP`; their bytes are in the
        /// state, `ParameterState.keepsGatheredCopy`).
        var keepsGatheredCopy = false

        /// Whether the unit is ZeRO-3's: it gathers weights it does not keep (ZeRO-2's gather nothing or keep their copy).
        var shardsWeights: Bool { gatherBytes > 0 && !keepsGatheredCopy }

        /// The shard each device keeps of the reduce-scattered gradients, which shard groups all-reduce.
        func shardBytes(on mesh: DeviceMesh) -> Double { reduceBytes / Double(mesh.size(ofAxes: axes)) }

        /// The shard groups' all-reduce of that shard (none without groups).
        func replicaAllReduceSeconds(on mesh: DeviceMesh) -> Double {
            replicaAxes.isEmpty ? 0 : mesh.seconds(for: Collective(.allReduce, axes: replicaAxes, bytes: shardBytes(on: mesh)))
        }

        /// The all-gather's seconds and its contention share (`CollectiveGroup.contention(of:bytes:seconds:)`).
        func gather(on mesh: DeviceMesh) -> (seconds: Double, contention: Double) {
            let group = mesh.collectiveGroup(alongAxes: axes)
            let seconds = group.allGatherSeconds(bytes: gatherBytes)
            return (seconds, group.contention(of: .allGather, bytes: gatherBytes, seconds: seconds))
        }

        /// The reduce-scatter's seconds, with shard groups the all-reduce of its shard after it on the same stream,
        /// and their contention share, by their seconds.
        func reduce(on mesh: DeviceMesh) -> (seconds: Double, contention: Double) {
            let group = mesh.collectiveGroup(alongAxes: axes)
            let scatter = group.reduceScatterSeconds(bytes: reduceBytes)
            let allReduce = replicaAllReduceSeconds(on: mesh)
            guard scatter + allReduce > 0 else { return (0, 0) }
            let scatterShare = group.contention(of: .reduceScatter, bytes: reduceBytes, seconds: scatter)
            let allReduceShare = replicaAxes.isEmpty ? 0
                : mesh.collectiveGroup(alongAxes: replicaAxes).contention(of: .allReduce, bytes: shardBytes(on: mesh), seconds: allReduce)
            return (scatter + allReduce, (scatter * scatterShare + allReduce * allReduceShare) / (scatter + allReduce))
        }
    }

    /// Prices the ZeRO-3 gathers and reduce-scatters of `units` as `ShardedParameterSchedule` plays them
    /// beside the stage's compute, one microbatch at a time: only what does not hide is charged as
    /// communication. The gathered parameters of two layers and the gradients of one stay unsharded at once.
    /// Where ZeRO-3 accumulates its gradients unsharded over several microbatches, its reduce-scatters run in the
    /// last microbatch only: every microbatch is played without them, and what they add to the last one is charged
    /// once an iteration (`StageCost.lastMicrobatchSeconds`).
    /// A unit whose layer is not in `gatheredForBackward` (`layersGatheredForBackward`) gathers its weights before
    /// the forward pass only.
    private func addShardedParameters(_ units: [ShardedUnit], runs: [ShardedParameterSchedule.Run], layers: [String?],
                                      gatheredForBackward: Set<String?>, mesh: DeviceMesh, to cost: inout StageCost) {
        var runs = runs
        var gatherBytesByRun = Array(repeating: 0.0, count: runs.count)
        // Per run, the reduce-scatters that only the last microbatch runs.
        var lastReduceByRun = Array(repeating: 0.0, count: runs.count)
        let reducesOnce = options.accumulatesUnshardedGradients(over: microbatches)
        // The reduce stream's seconds: reduce-scatters, and of them the shard groups' all-reduces.
        var backwardGathers = 0.0, reduceScatters = 0.0, replicaAllReduces = 0.0
        // Each run's collectives' seconds weighted by their contention shares, for the runs' mean shares.
        var forwardGatherContention = Array(repeating: 0.0, count: runs.count)
        var backwardGatherContention = Array(repeating: 0.0, count: runs.count)
        var reduceContention = Array(repeating: 0.0, count: runs.count)
        for unit in units {
            let indices = layers.indices.filter { layers[$0] == unit.layer }
            guard let first = indices.first, let last = indices.last else { continue }
            // ZeRO-2's units only reduce-scatter.
            // The cast of the layer's fp32 shards runs on the gathers' stream ahead of each gather (FSDP2's
            // all-gather copy-in, FSDP1's low-precision shard).
            let collective = unit.gatherBytes > 0 ? unit.gather(on: mesh) : (seconds: 0, contention: 0)
            let gather = unit.gatherBytes > 0 ? collective.seconds + kernels.memorySeconds(bytes: unit.castBytes) : 0
            let gatherShare = collective.contention
            let (reduce, reduceShare) = unit.reduce(on: mesh)
            let regathers = !unit.keepsGatheredCopy && last != runs.count - 1 && gatheredForBackward.contains(unit.layer)
            runs[first].forwardGatherSeconds += gather
            forwardGatherContention[first] += gather * gatherShare
            if regathers {
                runs[last].backwardGatherSeconds += gather
                backwardGatherContention[last] += gather * gatherShare
            }
            reduceContention[first] += reduce * reduceShare
            if options.copiesOutGatheredParameters && unit.gatherBytes > 0 {
                // FSDP2 copies each gathered layer out of the all-gather's buffer into the parameters on the
                // compute stream before the layer runs: read and write its 16-bit weights, one kernel.
                let copyOut = kernels.memorySeconds(bytes: 2 * unit.gatherBytes)
                let copies = regathers ? 2.0 : 1.0
                runs[first].forwardSeconds += copyOut
                if regathers { runs[last].backwardSeconds += copyOut }
                cost.forwardComputeSeconds += copyOut
                cost.backwardComputeSeconds += regathers ? copyOut : 0
                cost.computeSeconds[.memoryBound, default: 0] += copies * copyOut
            } else if unit.gatherBytes > 0 {
                // A flat-parameter FSDP (FSDP1, FairScale) views its parameters as splits of one gathered buffer, so
                // autograd concatenates their gradients into the flat gradient the reduce-scatter reads, on the
                // compute stream at the end of the layer's backward pass: read and write its 16-bit gradients.
                let concat = kernels.memorySeconds(bytes: 2 * unit.gradientBytes)
                runs[first].backwardSeconds += concat
                cost.backwardComputeSeconds += concat
                cost.computeSeconds[.memoryBound, default: 0] += concat
            }
            // ZeRO-3's units reduce once where gradients accumulate unsharded.
            let onlyLast = reducesOnce && unit.shardsWeights
            if onlyLast { lastReduceByRun[first] += reduce } else { runs[first].reduceScatterSeconds += reduce }
            backwardGathers += regathers ? gather : 0
            reduceScatters += onlyLast ? 0 : reduce
            replicaAllReduces += onlyLast ? 0 : unit.replicaAllReduceSeconds(on: mesh)
            // A copy kept through the step is counted in the weights' bytes.
            if !unit.keepsGatheredCopy { gatherBytesByRun[first] += unit.gatherBytes }
            let gathered = unit.gatherBytes * (regathers ? 2 : 1)
            if gathered > 0 { cost.communicationBytes[.allGather, default: 0] += gathered }
            // Bytes are per microbatch: a reduce-scatter once an iteration counts its share of each.
            let perMicrobatch = onlyLast ? 1 / Double(microbatches) : 1
            cost.communicationBytes[.reduceScatter, default: 0] += unit.reduceBytes * perMicrobatch
            if gathered > 0 { cost.communicationBytesByAxes[unit.axes, default: [:]][.allGather, default: 0] += gathered }
            cost.communicationBytesByAxes[unit.axes, default: [:]][.reduceScatter, default: 0] += unit.reduceBytes * perMicrobatch
            if !unit.replicaAxes.isEmpty {
                cost.communicationBytes[.allReduce, default: 0] += unit.shardBytes(on: mesh) * perMicrobatch
                cost.communicationBytesByAxes[unit.replicaAxes, default: [:]][.allReduce, default: 0] += unit.shardBytes(on: mesh) * perMicrobatch
            }
        }
        for index in runs.indices {
            func mean(_ weighted: Double, over seconds: Double) -> Double { seconds > 0 ? weighted / seconds : 0 }
            runs[index].forwardGatherContention = mean(forwardGatherContention[index], over: runs[index].forwardGatherSeconds)
            runs[index].backwardGatherContention = mean(backwardGatherContention[index], over: runs[index].backwardGatherSeconds)
            runs[index].reduceScatterContention = mean(reduceContention[index],
                                                       over: runs[index].reduceScatterSeconds + lastReduceByRun[index])
        }
        func play(_ runs: [ShardedParameterSchedule.Run]) -> ShardedParameterSchedule {
            ShardedParameterSchedule(runs: runs, computeSlowdown: TrainingOptions.overlappedComputeSlowdown,
                                     slowdownLimit: TrainingOptions.overlappedComputeSlowdownLimit)
        }
        let schedule = play(runs)
        if lastReduceByRun.contains(where: { $0 > 0 }) {
            var lastRuns = runs
            for index in lastRuns.indices { lastRuns[index].reduceScatterSeconds += lastReduceByRun[index] }
            let last = play(lastRuns)
            cost.lastMicrobatchSeconds += max(last.forwardSeconds + last.backwardSeconds - schedule.forwardSeconds - schedule.backwardSeconds, 0)
        }
        var exposedBackward = schedule.exposedBackwardSeconds
        if !units.contains(where: \.shardsWeights) {
            // ZeRO-2: no layer waits for a reduce-scatter (only the optimizer step, once per iteration; FSDP's
            // `SHARD_GRAD_OP` gathers only before the forward pass, on a stream of its own), so the last layers'
            // hide behind whatever the device runs next, the next microbatch or another chunk: only what the
            // stream cannot keep up with shows, and the compute it runs beside is slowed as ZeRO-3's is
            // (`ShardedParameterSchedule`).
            let backward = runs.reduce(0) { $0 + $1.backwardSeconds }
            let share = reduceScatters > 0 ? reduceContention.reduce(0, +) / reduceScatters : 0
            exposedBackward = max(reduceScatters - backward, 0)
                + min(TrainingOptions.overlappedComputeSlowdown * share * min(reduceScatters, backward),
                      TrainingOptions.overlappedComputeSlowdownLimit * backward)
        }
        cost.forwardCommunicationSeconds += schedule.exposedForwardSeconds
        cost.backwardCommunicationSeconds += exposedBackward
        let gatherShare = backwardGathers + reduceScatters > 0 ? backwardGathers / (backwardGathers + reduceScatters) : 0
        cost.communicationSeconds[.allGather, default: 0] += schedule.exposedForwardSeconds + exposedBackward * gatherShare
        let allReduceShare = reduceScatters > 0 ? replicaAllReduces / reduceScatters : 0
        cost.communicationSeconds[.reduceScatter, default: 0] += exposedBackward * (1 - gatherShare) * (1 - allReduceShare)
        if replicaAllReduces > 0 {
            cost.communicationSeconds[.allReduce, default: 0] += exposedBackward * (1 - gatherShare) * allReduceShare
        }
        let pairs = zip(gatherBytesByRun, gatherBytesByRun.dropFirst()).map { $0 + $1 }
        cost.gatheredWeightBytes = pairs.max() ?? gatherBytesByRun.max() ?? 0
        // Gradients accumulated unsharded are in the state (`ParameterState`); the reduce-scatter still reads one
        // layer's from an input buffer of its own (FSDP2's `foreach_reduce` copies them into it).
        cost.unshardedGradientBytes = units.map(\.reduceBytes).max() ?? 0
    }

    /// The layers of a stage of `operations` whose ZeRO-3 units gather their weights again for the backward pass: those with a
    /// backward pass (some op's result carries a gradient), and those whose weights a later op with one reads (a
    /// tied embedding's table, which the output layer's backward pass multiplies by). Frozen layers below every
    /// trained weight are not among them.
    func layersGatheredForBackward(_ operations: Range<Int>) -> Set<String?> {
        var layers = Set<String?>()
        var unitOfParameter: [ValueID: String?] = [:]
        for op in operations {
            let operation = graph.operations[op]
            for input in operation.inputs where graph[input].isParameter && unitOfParameter[input] == nil {
                unitOfParameter[input] = .some(operation.layer)
            }
            guard gradients[operation.result] else { continue }
            layers.insert(operation.layer)
            for input in operation.inputs where graph[input].isParameter { layers.insert(unitOfParameter[input]!) }
        }
        return layers
    }

    /// Weights, gradients and optimizer state of the stage's parameters, their gradient synchronisation and
    /// optimizer step. A parameter is stored in the layout its first reader wants; ZeRO shards it further
    /// over the axes along which its gradient is partial (the data-parallel axes).
    /// Returns the per-microbatch collectives the parameters need (resharding for readers that want another
    /// layout, ZeRO-3 gathers), for the caller to charge, with whether each is in the forward pass and the op that
    /// reads the weight.
    private func addParameters(of stage: StageLayout, model: OperatorCostModel, runOfOperation: [Int: Int],
                               fp8ByOp: [Int: OperatorCost.FP8Use], to cost: inout StageCost)
        -> (perMicrobatch: [(collectives: [Collective], forward: Bool, reader: Int)], sharded: [ShardedUnit],
            accumulationByRun: [Int: Double], castCopyBytes: Double, castCopyBytesByLayer: [String?: Double],
            gatheredCopyCastSeconds: Double, castSecondsOutsideReruns: Double) {
        var perMicrobatch: [(collectives: [Collective], forward: Bool, reader: Int)] = []
        var sharded: [ShardedUnit] = []
        /// Adds bytes to the unit of `layer` along `axes`, made the first time.
        func addUnit(layer: String?, axes: [Int], replicaAxes: [Int] = [], gatherBytes: Double, reduceBytes: Double,
                     castBytes: Double = 0, gradientBytes: Double = 0, keepsGatheredCopy: Bool = false) {
            if let index = sharded.firstIndex(where: { $0.layer == layer && $0.axes == axes && $0.replicaAxes == replicaAxes }) {
                sharded[index].gatherBytes += gatherBytes
                sharded[index].reduceBytes += reduceBytes
                sharded[index].castBytes += castBytes
                sharded[index].gradientBytes += gradientBytes
            } else {
                sharded.append(ShardedUnit(layer: layer, axes: axes, replicaAxes: replicaAxes, gatherBytes: gatherBytes,
                                           reduceBytes: reduceBytes, castBytes: castBytes, gradientBytes: gradientBytes,
                                           keepsGatheredCopy: keepsGatheredCopy))
            }
        }
        var accumulationByRun: [Int: Double] = [:]
        var castCopyBytes = 0.0
        var castCopyBytesByLayer: [String?: Double] = [:]
        var gatheredCopyCastSeconds = 0.0
        var castSecondsOutsideReruns = 0.0
        let mesh = stage.mesh
        var readers: [ValueID: [(operation: Int, operand: Int)]] = [:]
        var order: [ValueID] = []
        for operationIndex in stage.operations {
            for (operand, input) in graph.operations[operationIndex].inputs.enumerated() where graph[input].isParameter {
                if readers[input] == nil { order.append(input) }
                readers[input, default: []].append((operationIndex, operand))
            }
        }
        // Gradients are reduced in large buckets (PyTorch DDP, Megatron's grad buffer), so the collectives of
        // all parameters along the same axes are priced as one.
        struct BucketKey: Hashable { var kind: CollectiveKind; var axes: [Int] }
        var bucketed: [BucketKey: Double] = [:]
        // With ZeRO-2 a device keeps only its shard of the gradients, so every microbatch's backward pass
        // reduce-scatters them layer by layer as they are produced (DeepSpeed's stage 2 with overlap_comm,
        // FSDP's SHARD_GRAD_OP), priced beside the compute as ZeRO-3's below with nothing to gather before the
        // backward pass. Over 16-bit weights with an fp32 master copy (Megatron's distributed optimizer, DeepSpeed)
        // the all-gather of the updated weights runs once per iteration; over fp32 weights that are the master
        // copy (FSDP's SHARD_GRAD_OP, FSDP2's `reshard_after_forward=False`) each microbatch's forward pass gathers
        // each layer's 16-bit weights again, one layer ahead, since the backward pass frees them.
        for parameter in order {
            let type = graph[parameter].type
            let elements = Double(type.elementCount)
            // A frozen parameter is stored, sharded and gathered as a trainable one is, and has no gradient to
            // accumulate, reduce or step on.
            let trainable = !graph[parameter].isFrozen
            let uses = readers[parameter]!
            let first = uses[0]
            let firstSpace = graph.operations[first.operation].indexSpace
            let stored = stage.strategy(of: first.operation).operandSpec(first.operand, in: firstSpace)
            let dataParallelAxes = stage.strategy(of: first.operation).gradientSpec(first.operand, in: firstSpace).partialAxes
            let local = elements / Double(stored.totalSplitFactor(meshShape: mesh.shape))
            let zeroStage = max(options.zeroStage, stage.strategy(of: first.operation).zeroStage)
            // ZeRO-3 shard groups: the state is sharded over the group's axes and replicated over the others
            // (`TrainingPlan.checkZeroShardGroup` refuses groups the axes cannot make).
            let groups = zeroStage >= 3
                ? options.zeroShardGroup.flatMap { group in
                    HybridSharding.split(dataParallelAxes: dataParallelAxes,
                                         batchAxes: HybridSharding.batchAxes(of: stage.strategy(of: first.operation),
                                                                             operation: first.operation, roles: roles),
                                         meshShape: mesh.shape, group: group)
                }
                : nil
            let shardAxes = groups?.shard ?? dataParallelAxes
            let dataParallel = Double(mesh.size(ofAxes: shardAxes))
            // The weight of a linear layer that runs in FP8 is kept, and gathered, in FP8 with FP8 parameters.
            let fp8Weight = options.fp8Parameters && fp8ByOp[first.operation] != nil
            let gatheredBytesPerElement = fp8Weight ? ParameterState.fp8WeightBytesPerElement : Double(type.dtype.byteSize)
            // What a cast of fp32 weights writes an element: a 16-bit copy, or the FP8 weight.
            let copyBytesPerElement = fp8Weight ? ParameterState.fp8WeightBytesPerElement : 2
            let state = ParameterState(elements: local, dataParallel: dataParallel, zeroStage: zeroStage,
                                       options: options, fp8Weight: fp8Weight, microbatches: microbatches, trainable: trainable)
            cost.weightBytes += state.weightBytes
            cost.gradientBytes += state.gradientBytes
            cost.optimizerStateBytes += state.optimizerStateBytes
            cost.optimizerSeconds += state.optimizerStepSeconds(on: kernels)
            // Every microbatch adds its weight gradient into the fp32 gradient buffer (Megatron's main_grad).
            let accumulation = kernels.streamSeconds(bytes: state.gradientAccumulationBytes)
            cost.backwardComputeSeconds += accumulation
            cost.computeSeconds[.memoryBound, default: 0] += accumulation
            accumulationByRun[runOfOperation[first.operation]!, default: 0] += accumulation
            let shardsWeights = zeroStage >= 3 && dataParallel > 1
            // ZeRO-2 over fp32 weights, FSDP's `SHARD_GRAD_OP`: a gathered 16-bit copy, gathered every microbatch.
            let keepsGatheredCopy = ParameterState.keepsGatheredCopy(zeroStage: zeroStage, dataParallel: dataParallel,
                                                                     optimizerState: options.optimizerState)
            if options.optimizerState == .fp32Weights {
                // fp32 weights are cast to 16 bits for the passes that read them: read 4 and write 2 bytes an
                // element. FSDP's mixed precision casts each layer's local shards before its gather, forward and
                // backward, on the gather's stream (`ShardedUnit.castBytes`). Autocast casts the weights of matrix
                // products (not the norms' or a lookup's) in the forward pass, a kernel each, and keeps the 16-bit
                // copies for the backward pass, eager or compiled (AOTAutograd's partitioner saves them:
                // Docs/cost-model.md, "Issue 14, ninth pass"). An FP8 linear layer quantises the fp32 weight itself
                // (TransformerEngine's weight quantizer, torchao's `Float8Linear`, which saves the weight, not a
                // 16-bit copy): its casts and copies are the recipe's. With FP8 parameters that weight is cast to
                // FP8 instead (read 4, write 1 byte an element: torchao's cast before FSDP's float8 all-gather), and
                // the recipe only transposes it.
                let products = uses.filter {
                    graph.operations[$0.operation].op.isContraction && (fp8ByOp[$0.operation] == nil || fp8Weight)
                }
                if keepsGatheredCopy {
                    // FSDP's `SHARD_GRAD_OP` casts the local shard before each microbatch's gather; the gathered copy
                    // is part of the state (`ParameterState`), and a full recomputation's rerun reads it without
                    // casting again (added to the forward pass after the recomputation is priced).
                    gatheredCopyCastSeconds += kernels.memorySeconds(bytes: (4 + copyBytesPerElement) * local / dataParallel)
                } else if !shardsWeights && !products.isEmpty {
                    let cast = kernels.memorySeconds(bytes: (4 + copyBytesPerElement) * local)
                    cost.forwardComputeSeconds += cast
                    cost.computeSeconds[.memoryBound, default: 0] += cast
                    castCopyBytes += copyBytesPerElement * local
                    if options.recompute == .full && !products.contains(where: { rerunsUnderFullRecomputation($0.operation, within: stage.operations) }) {
                        // Read only by ops outside the checkpointed blocks (an output layer's weight): no rerun casts
                        // it again.
                        castSecondsOutsideReruns += cast
                    }
                    // Under full recomputation a layer's rerun casts again and holds the copies of the weights its
                    // products read while its backward pass runs.
                    for layer in Set(products.map { graph.operations[$0.operation].layer }) {
                        castCopyBytesByLayer[layer, default: 0] += copyBytesPerElement * local
                    }
                }
            }
            for use in uses {
                let space = graph.operations[use.operation].indexSpace
                let strategy = stage.strategy(of: use.operation)
                let wanted = strategy.operandSpec(use.operand, in: space)
                // A reader that wants another layout than the stored one reshards every microbatch.
                perMicrobatch.append((Resharding.collectives(from: stored, to: wanted, elementCount: elements,
                                                             bytesPerElement: type.dtype.byteSize, meshShape: mesh.shape), true,
                                     use.operation))
                let gradient = trainable
                    ? Resharding.collectives(from: strategy.gradientSpec(use.operand, in: space), to: stored,
                                             elementCount: elements,
                                             bytesPerElement: Int(options.gradientReductionBytes(type.dtype)),
                                             meshShape: mesh.shape)
                    : []
                for collective in gradient {
                    // Under ZeRO-3 the data-parallel reduction is the layer's reduce-scatter, every microbatch.
                    if shardsWeights && collective.kind != .allGather && Set(collective.axes).isSubset(of: dataParallelAxes) { continue }
                    let axes = collective.axes.sorted()
                    // The weights' share of the collective: its bytes as the gathered weights' type moves them.
                    let weightGatherBytes = collective.bytes / options.gradientReductionBytes(type.dtype) * gatheredBytesPerElement
                    guard zeroStage == 2 && collective.kind == .allReduce && (microbatches > 1 || keepsGatheredCopy) else {
                        var bytes = collective.bytes
                        if fp8Weight && zeroStage >= 1 && collective.kind == .allReduce {
                            // The distributed optimizer reduce-scatters the gradients and all-gathers the updated
                            // FP8 weights: a ring moving the two halves of an all-reduce of their mean size.
                            bytes = (collective.bytes + weightGatherBytes) / 2
                        }
                        bucketed[BucketKey(kind: collective.kind, axes: axes), default: 0] += bytes
                        continue
                    }
                    let layer = graph.operations[first.operation].layer
                    if keepsGatheredCopy {
                        // The gather moves the 16-bit weights (FP8 ones with FP8 parameters), whatever type the
                        // gradients are reduced in.
                        addUnit(layer: layer, axes: axes, gatherBytes: weightGatherBytes, reduceBytes: collective.bytes,
                                gradientBytes: collective.bytes / options.gradientReductionBytes(type.dtype) * Double(type.dtype.byteSize),
                                keepsGatheredCopy: true)
                    } else {
                        bucketed[BucketKey(kind: .allGather, axes: axes), default: 0] += fp8Weight ? weightGatherBytes : collective.bytes
                        addUnit(layer: layer, axes: axes, gatherBytes: 0, reduceBytes: collective.bytes)
                    }
                }
            }
            if shardsWeights {
                // Weights are gathered layer by layer before the forward and again before the backward pass, and
                // the gradients reduce-scattered after it (`ShardedParameterSchedule`).
                let layer = graph.operations[first.operation].layer
                let reduced = trainable ? local * options.gradientReductionBytes(type.dtype) : 0
                // Over fp32 weights each shard is cast to the gathered type first: read 4, write 2 (or 1 in FP8).
                addUnit(layer: layer, axes: shardAxes.sorted(), replicaAxes: groups?.replicas ?? [],
                        gatherBytes: local * gatheredBytesPerElement, reduceBytes: reduced,
                        castBytes: options.optimizerState == .fp32Weights ? (4 + copyBytesPerElement) * local / dataParallel : 0,
                        gradientBytes: trainable ? local * Double(type.dtype.byteSize) : 0)
            } else if keepsGatheredCopy && !trainable {
                // FSDP's `SHARD_GRAD_OP` gathers a frozen weight before each forward pass too (a trainable one's
                // gather is added with its gradient's reduce-scatter above).
                addUnit(layer: graph.operations[first.operation].layer, axes: dataParallelAxes.sorted(),
                        gatherBytes: local * gatheredBytesPerElement, reduceBytes: 0, keepsGatheredCopy: true)
            }
        }
        for (key, bytes) in bucketed.sorted(by: { "\($0.key.kind.rawValue)\($0.key.axes)" < "\($1.key.kind.rawValue)\($1.key.axes)" }) {
            cost.gradientSynchronizationSeconds += mesh.seconds(for: Collective(key.kind, axes: key.axes, bytes: bytes))
            cost.gradientSynchronizationBytes[key.kind, default: 0] += bytes
            cost.gradientSynchronizationBytesByAxes[key.axes, default: [:]][key.kind, default: 0] += bytes
        }
        return (perMicrobatch, sharded, accumulationByRun, castCopyBytes, castCopyBytesByLayer, gatheredCopyCastSeconds,
                castSecondsOutsideReruns)
    }

    /// Activations kept per microbatch, and the recomputation that trades them for time. Returns the
    /// recomputation's seconds by run (`runOfOperation`).
    private func addActivations(of stage: StageLayout, model: OperatorCostModel, rerunSecondsByOp: [Int: Double],
                                fp8ByOp: [Int: OperatorCost.FP8Use], runOfOperation: [Int: Int], runForwardSeconds: [Double],
                                rerunCopyBytesByLayer: [String?: Double], castSecondsOutsideReruns: Double,
                                to cost: inout StageCost) -> [Int: Double] {
        var recomputeByRun: [Int: Double] = [:]
        var kept: [Int: Double] = [:]
        var keptByLayer: [[Int: Double]] = []
        var layerNames: [String?] = []
        var droppedByLayer: [[Int: Double]] = []
        var recomputed = Set<ValueID>()
        var layerInputs: [ValueID: Double] = [:]
        var currentLayer: String?? = nil
        var layerStart = stage.operations.lowerBound
        // The loss's gradient buffers, and the layer of the loss (full recomputation reruns it first).
        var lossWorkingBytes = 0.0
        var lossLayer: Int?
        // What the loss's layer keeps per microbatch (a share of the activations), or holds while it reruns.
        var lossLayerKeptBytes = 0.0, lossLayerRerunBytes = 0.0
        for operationIndex in stage.operations {
            let operation = graph.operations[operationIndex]
            let strategy = stage.strategy(of: operationIndex)
            let space = operation.indexSpace
            if currentLayer == nil || currentLayer! != operation.layer {
                currentLayer = .some(operation.layer)
                keptByLayer.append([:])
                layerNames.append(operation.layer)
                droppedByLayer.append([:])
                layerStart = operationIndex
            }
            let saved = OperationCost.savedForBackward(operation, in: graph, gradients: gradients)
            /// Bytes of operand `operand` kept, at `scale` of its type's: a tensor the op gathered is kept as its
            /// producer laid it out and gathered again in the backward pass (Megatron's sequence parallelism,
            /// Korthikanti et al. 2022 section 4.2.2).
            /// A broadcast the op reads is kept as its input (`OperationCost.storedShare`).
            func keptOperandBytes(_ operand: Int, scale: Double = 1) -> Double {
                let tensor = operation.inputs[operand]
                var bytes = model.localBytes(tensor, strategy.operandSpec(operand, in: space)) * scale
                if let producer = graph[tensor].operationIndex, stage.operations.contains(producer) {
                    let produced = stage.strategy(of: producer).resultSpec(in: graph.operations[producer].indexSpace).reduced
                    bytes = min(bytes, model.localBytes(tensor, produced))
                }
                return bytes * OperationCost.storedShare(of: tensor, readBy: operation, in: graph)
            }
            // Each kept tensor is keyed by the tensor it describes; masks and statistics are keyed by their
            // op (a negative key) so they never merge with a tensor.
            var entries: [(key: Int, describes: ValueID, bytes: Double)] = []
            for tensor in saved.tensors where !graph[tensor].isParameter && !isRecomputedByFusedBackward(tensor) {
                if tensor == operation.result {
                    entries.append((tensor.rawValue, tensor, model.localBytes(tensor, strategy.resultSpec(in: space))))
                } else if let operand = operation.inputs.firstIndex(of: tensor) {
                    var scale = 1.0
                    if let fp8 = fp8ByOp[operationIndex], fp8.inputOperand == operand, let kept = fp8.savedInputBytesPerElement {
                        scale = kept / Double(graph[tensor].type.dtype.byteSize)
                    }
                    var bytes = keptOperandBytes(operand, scale: scale)
                    if case .crossEntropy = operation.op, operand == 0 {
                        // The loss keeps what its kernels keep (an fp32 softmax unless fused) and allocates its
                        // gradient buffers when the backward pass starts, all in the layout it reads the logits in
                        // (the whole logits on every tensor-parallel rank where it gathers them).
                        bytes = model.localBytes(tensor, strategy.operandSpec(operand, in: space))
                        let logitBytes = Double(graph[tensor].type.dtype.byteSize)
                        let loss = CrossEntropyMemory(options: options, logitBytes: logitBytes)
                        let elements = bytes / logitBytes
                        bytes = elements * loss.savedBytesPerElement
                        lossWorkingBytes = max(lossWorkingBytes, elements * loss.workingBytesPerElement)
                        lossLayer = keptByLayer.count - 1
                    }
                    entries.append((tensor.rawValue, tensor, bytes))
                }
            }
            // Masks and statistics shrink with the op's first operand (or its result); an all-gather exchange's
            // attention keeps its chunks' outputs besides (`OperatorCostModel.exchangeSavedBytes`).
            let exchangeKept = model.exchangeSavedBytes(operation, strategy)
            if saved.auxiliaryBytes > 0 || exchangeKept > 0 {
                let reference = operation.inputs.first ?? operation.result
                let spec = operation.inputs.isEmpty ? strategy.resultSpec(in: space) : strategy.operandSpec(0, in: space)
                let share = model.localElements(reference, spec) / Double(max(graph[reference].type.elementCount, 1))
                entries.append((-1 - operationIndex, operation.result, Double(saved.auxiliaryBytes) * share + exchangeKept))
            }
            if isInOperatorCheckpointedBlock(operationIndex) {
                // Op-level selective recomputation: a checkpointed block keeps its inputs and the results its policy
                // stores, read or not; what its backward kernels read besides is rerun, alive while the block reruns.
                var checkpoint: [(key: Int, describes: ValueID, bytes: Double)] = []
                if storesResultUnderOperatorRecomputation(operationIndex) {
                    checkpoint.append((operation.result.rawValue, operation.result, storedResultBytes(operationIndex, in: stage, model: model)))
                }
                for (operand, input) in operation.inputs.enumerated() where !graph[input].isParameter {
                    let (fate, storage) = operatorRecomputationFate(of: input, readBy: operationIndex, within: stage.operations)
                    guard fate == .kept else { continue }
                    checkpoint.append((storage.rawValue, storage, keptOperandBytes(operand)))
                }
                for entry in entries {
                    let rerun = entry.key < 0 ? operatorRecomputation.contains(operationIndex)
                        : operatorRecomputationFate(of: entry.describes, readBy: operationIndex, within: stage.operations).fate == .rerun
                    if rerun {
                        droppedByLayer[droppedByLayer.count - 1][entry.key] = max(droppedByLayer[droppedByLayer.count - 1][entry.key] ?? 0, entry.bytes)
                    } else if entry.key < 0 {
                        checkpoint.append(entry)
                    }
                }
                entries = checkpoint
            } else if isInOutputDiscardingBlock(operationIndex) {
                // Megatron-Core's output-discarding checkpoints: what the backward pass reads stays, but for the
                // results of the ops it reruns (and their statistics), alive again while their layer runs backward.
                entries = entries.filter { entry in
                    let rerun = entry.key < 0 ? operatorRecomputation.contains(operationIndex)
                        : findsRerun(entry.describes, readBy: operationIndex, within: stage.operations)
                    if rerun {
                        droppedByLayer[droppedByLayer.count - 1][entry.key] = max(droppedByLayer[droppedByLayer.count - 1][entry.key] ?? 0, entry.bytes)
                    }
                    return !rerun
                }
            }
            for entry in entries {
                // Selective recomputation drops attention's core, and a fused kernel's statistics (its inputs and
                // output stay: the checkpoint's inputs and the next product's).
                let fusedAttentionStatistics = entry.key < 0 && rerunsUnderSelectiveRecomputation(operationIndex)
                if options.recompute == .selective && (isAttentionCore(entry.describes) || fusedAttentionStatistics) {
                    if recomputed.insert(entry.describes).inserted {
                        let producer = graph[entry.describes].operationIndex ?? operationIndex
                        cost.recomputeSeconds += rerunSecondsByOp[producer] ?? 0
                        recomputeByRun[runOfOperation[producer] ?? runOfOperation[operationIndex]!, default: 0] += rerunSecondsByOp[producer] ?? 0
                    }
                    continue
                }
                kept[entry.key] = max(kept[entry.key] ?? 0, entry.bytes)
                keptByLayer[keptByLayer.count - 1][entry.key] = max(keptByLayer[keptByLayer.count - 1][entry.key] ?? 0, entry.bytes)
            }
            // A layer with no backward pass keeps no checkpoint.
            for (operand, input) in operation.inputs.enumerated() where !graph[input].isParameter && runsWithBackward.contains(layerRun[operationIndex]) {
                let producedInLayer = graph[input].operationIndex.map { $0 >= layerStart && $0 < operationIndex } ?? false
                if !producedInLayer {
                    layerInputs[input] = max(layerInputs[input] ?? 0, model.localBytes(input, strategy.operandSpec(operand, in: space)))
                }
            }
        }
        /// What layer `layer` holds while it reruns under full recomputation: what it keeps, and the 16-bit copies
        /// of fp32 weights its rerun casts.
        func rerunBytes(_ layer: Int) -> Double {
            keptByLayer[layer].values.reduce(0, +) + (rerunCopyBytesByLayer[layerNames[layer]] ?? 0)
        }
        switch options.recompute {
        case .none, .selective:
            cost.activationBytesPerMicrobatch = kept.values.reduce(0, +)
        case .elementwise, .selectiveOperators, .mlp, .allButQKV, .normAct:
            // What the blocks keep, plus, while one block reruns its ops, what it dropped.
            cost.activationBytesPerMicrobatch = kept.values.reduce(0, +)
            cost.backwardWorkingBytes = droppedByLayer.map { $0.values.reduce(0, +) }.max() ?? 0
            for operationIndex in stage.operations where operatorRecomputation.contains(operationIndex) {
                let seconds = rerunSecondsByOp[operationIndex] ?? 0
                cost.recomputeSeconds += seconds
                recomputeByRun[runOfOperation[operationIndex]!, default: 0] += seconds
            }
        case .full:
            // The stacks checkpoint the transformer blocks (Megatron-LM's `--recompute-granularity full` wraps each
            // layer of its `TransformerBlock`; FSDP stacks wrap each block in PyTorch's checkpoint): the ops before
            // and after them (the embedding, the final norm, the output layer and the loss) run once and keep what
            // their backward pass reads. Without blocks (no attention) the stage's whole forward pass reruns.
            let reruns = fullRecomputationReruns(stage, runOfOperation: runOfOperation, runCount: keptByLayer.count)
            cost.activationBytesPerMicrobatch = layerInputs.values.reduce(0, +)
            for layer in keptByLayer.indices where !reruns[layer] {
                // Autocast's 16-bit copies of the weights it cast for the layer's products stay to its backward pass.
                let bytes = keptByLayer[layer].filter { layerInputs[ValueID($0.key)] == nil }.values.reduce(0, +)
                    + (rerunCopyBytesByLayer[layerNames[layer]] ?? 0)
                cost.activationBytesPerMicrobatch += bytes
                if layer == lossLayer { lossLayerKeptBytes = bytes }
            }
            cost.backwardWorkingBytes = keptByLayer.indices.filter { reruns[$0] }.map(rerunBytes).max() ?? 0
            if let lossLayer, reruns[lossLayer] { lossLayerRerunBytes = rerunBytes(lossLayer) }
            // The rerun reads the weights the backward pass gathered: ZeRO-3's casts of fp32 shards run on the
            // gathers' stream (`ShardedUnit.castBytes`), not again in the rerun.
            // Nor does it cast again the weights only ops outside the blocks read.
            cost.recomputeSeconds = cost.forwardSeconds - castSecondsOutsideReruns
            for (run, seconds) in runForwardSeconds.enumerated() {
                if reruns[run] { recomputeByRun[run] = seconds } else { cost.recomputeSeconds -= seconds }
            }
        }
        if let lossLayer, options.recompute != .full {
            lossLayerKeptBytes = keptByLayer[lossLayer].values.reduce(0, +) + (rerunCopyBytesByLayer[layerNames[lossLayer]] ?? 0)
        }
        if lossLayer != nil {
            // The loss's gradient buffers are alive beside what its layer keeps (per microbatch in flight, counted
            // above, or rerun where full recomputation reruns that layer), and the layer's backward pass frees what
            // it kept before any block reruns or runs its dropped ops again: a block's working set counts against
            // one microbatch's kept tensors of the loss's layer. So the stage's peak is the other microbatches'
            // activations, with the loss's layer kept for all but one, and the larger of that one's with the
            // buffers and a block's working set (exact for every schedule's number in flight).
            cost.lossBufferBytes = lossLayerRerunBytes + lossWorkingBytes
            cost.lossLayerKeptBytes = lossLayerKeptBytes
        }
        // An op no gradient passes through (frozen layers below every trained weight) keeps nothing for a backward
        // pass, but its inputs and its result are alive while it runs: a stage of such ops holds no more than that.
        // The largest is a working set as a rerunning block's is, alive while one layer runs.
        for operationIndex in stage.operations where !gradients[graph.operations[operationIndex].result] {
            let operation = graph.operations[operationIndex]
            guard !operation.op.isView else { continue }
            let strategy = stage.strategy(of: operationIndex)
            let space = operation.indexSpace
            let inputs = operation.inputs.enumerated().filter { !graph[$0.element].isParameter }
                .reduce(0) { $0 + model.localBytes($1.element, strategy.operandSpec($1.offset, in: space)) }
            cost.backwardWorkingBytes = max(cost.backwardWorkingBytes, inputs + model.localBytes(operation.result, strategy.resultSpec(in: space)))
        }
        cost.recomputationWorkingBytes = cost.backwardWorkingBytes
        cost.backwardWorkingBytes = cost.transientMemory.backwardWorkingBytes
        cost.backwardComputeSeconds += cost.recomputeSeconds
        return recomputeByRun
    }

    /// Whether `tensor` never reaches memory (a fused pointwise chain keeps it in registers, `KernelFusion`)
    /// and its producer keeps every operand it needs, so the chain's fused backward kernel recomputes it
    /// instead of reading it: Megatron's bias-SwiGLU keeps the gate and up projections and recomputes the
    /// activation of the gate (`megatron/core/fusions/fused_bias_swiglu.py`); torch.compile's partitioner
    /// does the same with any pointwise producer.
    func isRecomputedByFusedBackward(_ tensor: ValueID) -> Bool {
        guard fusion[tensor], let producer = graph.producer(of: tensor) else { return false }
        let kept = OperationCost.savedForBackward(producer, in: graph, gradients: gradients).tensors
        return producer.inputs.allSatisfy { graph[$0].isParameter || kept.contains($0) }
    }

    /// Tensors with two dimensions as long as the sequence: the attention scores, probabilities and their
    /// dropout masks, which selective recomputation drops.
    /// A dimension as long as the sequence is a sequence only where it carries one: a hidden or head axis of
    /// the same length (GPT-3 1.3B's 2,048 at 2,048 tokens, Llama 2 7B's 4,096 at 4,096) is not. Where the roles
    /// do not reach a value (a view they cannot follow), the lengths decide.
    func isAttentionCore(_ value: ValueID) -> Bool {
        Self.isAttentionCore(value, in: graph, sequenceLength: sequenceLength, sequenceDimensionCounts: sequenceDimensionCounts)
    }

    static func isAttentionCore(_ value: ValueID, in graph: Graph, sequenceLength: Int?, sequenceDimensionCounts: [Int?]) -> Bool {
        guard let sequenceLength, sequenceLength > 1 else { return false }
        if let carried = sequenceDimensionCounts[value.rawValue], carried > 0 { return carried >= 2 }
        return graph[value].type.shape.filter { $0 == sequenceLength }.count >= 2
    }

    /// For each value, how many of its dimensions carry a sequence: the token inputs' sequence dimension
    /// (`TensorRoles`), followed through every op from every operand, so that the scores of queries and keys
    /// carry two; nil for values no sequence reaches.
    static func sequenceDimensionCounts(_ graph: Graph, roles: TensorRoles) -> [Int?] {
        var carried: [Set<Int>] = Array(repeating: [], count: graph.values.count)
        for id in graph.inputs {
            if let dimension = roles.sequenceDimension[id.rawValue] { carried[id.rawValue] = [dimension] }
        }
        for operation in graph.operations {
            let space = operation.indexSpace
            var indices = Set<Int>()
            for (operand, input) in operation.inputs.enumerated() {
                for dimension in carried[input.rawValue] {
                    if let index = space.operandIndices[operand][dimension] { indices.insert(index) }
                }
            }
            carried[operation.result.rawValue] = Set(space.resultIndices.indices.filter { dimension in
                space.resultIndices[dimension].map(indices.contains) ?? false
            })
        }
        return carried.map { $0.isEmpty ? nil : $0.count }
    }
}

extension StageCostModel {
    /// The core of attention: a fused attention kernel, or the softmax over the scores of explicit attention (two
    /// sequence dimensions, `isAttentionCore`). Not any softmax: a softmax in an output layer (a classifier's) or a
    /// mixture of experts' router (whose block holds attention anyway) marks no transformer block.
    static func marksTransformerBlock(_ operation: Operation, isAttentionCore: (ValueID) -> Bool) -> Bool {
        switch operation.op {
        case .attention: true
        case .softmax: isAttentionCore(operation.result)
        default: false
        }
    }
}

extension StageCostModel {
    /// The routing of the mixture of experts' tokens `value` carries (`TensorRoles.dispatchedTokens`) as the options'
    /// dispatcher sends them (`TrainingOptions.expertDispatcher`); nil for any other value.
    func tokenDispatch(of value: ValueID) -> TokenDispatch? {
        roles.dispatchedTokens[value.rawValue].map { var dispatch = $0; dispatch.deduplicates = options.expertDispatcher.deduplicates; return dispatch }
    }
}
