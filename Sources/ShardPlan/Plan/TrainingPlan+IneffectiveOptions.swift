/// A training-stack option a plan carries that changes nothing in it: the plan has nothing the option applies to,
/// or the device runs another kernel in its place. `plan` and `score` say so in a note rather than price it silently.
public struct IneffectiveOption: Equatable, Sendable {
    /// The options that can change nothing, each with the plan document's member that holds it.
    public enum Setting: String, Sendable {
        case attentionKernel = "options.attention_kernel"
        case fsdp2CopyOut = "options.fsdp2_copy_out"
        case fsdpNoSync = "options.fsdp_no_sync"
        case contextParallelExchange = "options.cp_comm_type"
        case expertDispatcher = "options.expert_dispatcher"
        case tensorParallelOverlap = "options.overlap_tensor_parallel_communication"
    }

    public var setting: Setting
    /// The command-line flag that sets it, with its value (`--cp-comm-type all-gather`).
    public var flag: String
    /// Why it changes nothing, as the rest of a sentence.
    public var reason: String
}

extension IneffectiveOption {
    /// Of `options`' context-parallel exchange and experts' dispatcher, those that change nothing in any plan of `graph`,
    /// whatever its layout: the exchange where no op is attention, the dispatcher where no GEMM is an expert layer. `plan`
    /// says so before its search; `ineffectiveOptions` gives these reasons too.
    public static func inapplicable(to graph: Graph, options: TrainingOptions) -> [IneffectiveOption] {
        var result: [IneffectiveOption] = []
        if !graph.operations.contains(where: { if case .attention = $0.op { true } else { false } }) {
            result.append(IneffectiveOption(setting: .contextParallelExchange, flag: "--cp-comm-type \(options.contextParallelCommunication.rawValue)",
                                            reason: "\(graph.name) has no attention, so no keys or values are exchanged"))
        }
        if ExpertLayers(graph).expertCounts.isEmpty {
            result.append(IneffectiveOption(setting: .expertDispatcher, flag: "--moe-dispatcher \(options.expertDispatcher.rawValue)",
                                            reason: "\(graph.name) has no mixture of experts, so no tokens are dispatched to experts"))
        }
        return result
    }
}

extension TrainingPlan {
    /// Whether some stage runs ZeRO-3: shards a parameter's weights (the plan's options or an op's own stage) over
    /// data-parallel devices that share its gradient (`StageLayout.parameterZeroStages`; without any, nothing is gathered).
    public var runsZeroThree: Bool {
        stages.contains { stage in stage.parameterZeroStages(in: graph, planStage: options.zeroStage).contains { $0 >= 3 } }
    }

    /// Whether some stage splits an attention op's queries over devices: context parallelism, whose keys and values
    /// the options' exchange carries (`ContextParallelExchange.ringSize`); or splits the products' sequence and
    /// attention's heads, DeepSpeed-Ulysses' context parallelism (`MegatronSummary.Roles.contextByHeads`), which the
    /// summary and the exports name as the all-to-all exchange.
    public var splitsContext: Bool {
        let splitsQueries = stages.contains { stage in
            zip(stage.operations, stage.strategies).contains { operation, strategy in
                ContextParallelExchange.ringSize(graph.operations[operation], strategy, meshShape: stage.mesh.shape) > 1
            }
        }
        guard !splitsQueries else { return true }
        let roles = TensorRoles(graph)
        return stages.contains { MegatronSummary.roles(of: $0, graph: graph, roles: roles).contextByHeads }
    }

    /// Whether `--overlap-tp-comm` hides anything in this plan: the exact model prices it faster with the overlap than
    /// without (a plan that splits no weight over devices has no collective of tensor parallelism's kind to hide).
    public var hidesTensorParallelCommunication: Bool {
        guard options.overlapTensorParallelCommunication else { return false }
        var without = self
        without.options.overlapTensorParallelCommunication = false
        let evaluator = PlanEvaluator(cluster: cluster)
        return evaluator.evaluate(self).iterationSeconds != evaluator.evaluate(without).iterationSeconds
    }

    /// The options that change nothing in this plan, in the order the command line lists them.
    public var ineffectiveOptions: [IneffectiveOption] { ineffectiveOptions(exchangeNamed: false) }

    /// `ineffectiveOptions`, where `exchangeNamed` says the context-parallel exchange was named (`--cp-comm-type`): then
    /// the ring, which a plan document without `cp_comm_type` reads as, changes nothing too where no sequence is split.
    public func ineffectiveOptions(exchangeNamed: Bool) -> [IneffectiveOption] {
        var result: [IneffectiveOption] = []
        let generation = GPUGeneration(deviceName: cluster.device.name)
        if let kernel = options.attentionKernel, kernel.available(on: generation) != kernel {
            let runs = kernel.available(on: generation)
            result.append(IneffectiveOption(
                setting: .attentionKernel, flag: "--attention-kernel \(kernel.rawValue)",
                reason: "\(kernel.rawValue) needs Hopper or later; \(cluster.device.name) runs \(runs.rawValue) in its place, which the plan is priced with"))
        }
        if !runsZeroThree {
            let zeroThree = "no stage of the plan shards its weights with ZeRO-3"
            if options.copiesOutGatheredParameters {
                result.append(IneffectiveOption(setting: .fsdp2CopyOut, flag: "--fsdp2",
                                                reason: "\(zeroThree), so nothing is gathered into FSDP2's copies"))
            }
            if options.accumulatesUnshardedGradients {
                result.append(IneffectiveOption(setting: .fsdpNoSync, flag: "--fsdp-no-sync",
                                                reason: "\(zeroThree), so no gradient is reduce-scattered"))
            }
        }
        // Where the graph itself has nothing for an option, it is the graph's reason that is given.
        let inapplicable = IneffectiveOption.inapplicable(to: graph, options: options)
        func reason(_ setting: IneffectiveOption.Setting, else plan: String) -> String {
            inapplicable.first { $0.setting == setting }?.reason ?? plan
        }
        // The ring is what a plan document without `cp_comm_type` reads as, and the command line's default.
        let exchange = options.contextParallelCommunication
        if exchange != .ring || exchangeNamed, !splitsContext {
            result.append(IneffectiveOption(
                setting: .contextParallelExchange, flag: "--cp-comm-type \(exchange.rawValue)",
                reason: reason(.contextParallelExchange, else: "the plan splits no attention's sequence over devices, so no keys or values are exchanged")))
        }
        if options.overlapTensorParallelCommunication, !hidesTensorParallelCommunication {
            result.append(IneffectiveOption(
                setting: .tensorParallelOverlap, flag: "--overlap-tp-comm",
                reason: "the plan has no tensor-parallel collective for it to hide behind the GEMMs"))
        }
        if options.expertDispatcher.deduplicates, !splitsExperts {
            result.append(IneffectiveOption(
                setting: .expertDispatcher, flag: "--moe-dispatcher \(options.expertDispatcher.rawValue)",
                reason: reason(.expertDispatcher, else: "the plan splits no mixture of experts' experts over devices, so no tokens cross between ranks")))
        }
        return result
    }
}
