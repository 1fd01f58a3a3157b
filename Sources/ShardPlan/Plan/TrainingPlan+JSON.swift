extension TrainingPlan {
    /// The format string of plan documents.
    public static let formatName = "shardplan.plan/1"

    /// The plan and its prediction as a `shardplan.plan/1` document (SPEC section 4, plus the additive
    /// members `rebatched_from` (the global batch of the graph as given, when the plan is of it at another
    /// batch), `summary`, `search` (which search found the plan and the other's best iteration time),
    /// `virtual_stages`, `options`, `predicted.time_breakdown` and per stage `rank`,
    /// `recompute` (the stage's recomputation, where it differs from `options.recompute`),
    /// `pipeline_send_bytes` (what a stage of a pipeline sends to the others),
    /// `communication_by_axis`, `partial_sums` (the axes over which an op's result is an unreduced sum),
    /// `operand_shardings` (the layout an op reads an operand in, where it is not the value's entry in
    /// `shardings`), `zero_stages` (parameters whose training state ZeRO shards) and `rewrites` (the graph
    /// rewrites applied in the stage, when the plan is of a rewritten graph; Docs/rewrites.md)). A stage's `shardings`
    /// also names each value it reads from outside (graph inputs, earlier stages' results) in the layout its
    /// first reader wants, the layout the cost model has it arrive in.
    ///
    /// The plan must be sound, one `PlanValidator` accepts (as the planners, `TrainingPlan.megatron` and the plan
    /// document's reader make them): a plan edited in code into one it refuses (a strategy splitting an index over an
    /// axis its mesh lacks, a stage without a strategy per op) may trap here. `PlanValidator.violation(in:)` checks a
    /// plan first, and `PlanEvaluator.evaluate(checking:)`, whose prediction this takes, refuses an unsound one.
    public func json(prediction: PlanPrediction) -> JSONValue {
        var top = JSONObject()
        top["format"] = .string(Self.formatName)
        top["graph"] = .string(graph.name)
        top["cluster"] = .string(clusterName)
        top["devices"] = .int(deviceCount)
        top["global_batch"] = .int(graph.batchSize ?? 1)
        if let rebatchedFrom { top["rebatched_from"] = .int(rebatchedFrom) }
        if let memoryLimitBytes { top["memory_limit_gb"] = .number((memoryLimitBytes / 1e9).roundedForJSON) }
        top["microbatches"] = .int(microbatches)
        top["schedule"] = .string(schedule.rawValue)
        top["virtual_stages"] = .int(virtualStages)
        if let summary { top["summary"] = .string(summary) }
        // The precision is written only when it is not bf16, so bf16 plans read as before.
        let precision: [(String, JSONValue)] = options.precision == .bf16 ? []
            : [("precision", .string(options.precision.rawValue)), ("fp8_recipe", .string(options.fp8Recipe.rawValue))]
                + (options.fp8Parameters ? [("fp8_params", .bool(true))] : [])
        // The kernel choices are written only where they differ from the defaults, so plans read as before, and options
        // that change nothing in the plan (`ineffectiveOptions`) are left out: read back, they would only draw a note.
        // The attention kernel stays: what runs in its place depends on the cluster, and the document may be scored on
        // another.
        let ineffective = Set(ineffectiveOptions.map(\.setting))
        var kernels: [(String, JSONValue)] = options.attentionKernel.map { [("attention_kernel", .string($0.rawValue))] } ?? []
        if options.kernelFusion != .fused { kernels.append(("kernel_fusion", .string(options.kernelFusion.rawValue))) }
        if options.fusedCrossEntropy { kernels.append(("fused_cross_entropy", .bool(true))) }
        if options.writesLossGradientInPlace { kernels.append(("loss_gradient_in_place", .bool(true))) }
        if options.eagerLoss { kernels.append(("eager_loss", .bool(true))) }
        if !options.upcastsLoss { kernels.append(("loss_upcast", .bool(false))) }
        if options.reduceGradientsInFP32 { kernels.append(("gradient_reduce_fp32", .bool(true))) }
        if options.copiesOutGatheredParameters && !ineffective.contains(.fsdp2CopyOut) { kernels.append(("fsdp2_copy_out", .bool(true))) }
        if options.accumulatesUnshardedGradients && !ineffective.contains(.fsdpNoSync) { kernels.append(("fsdp_no_sync", .bool(true))) }
        if let group = options.zeroShardGroup { kernels.append(("zero_shard_group", .int(group))) }
        if options.contextParallelCommunication != .ring && !ineffective.contains(.contextParallelExchange) {
            kernels.append(("cp_comm_type", .string(options.contextParallelCommunication.rawValue)))
        }
        if options.gradientPrecision != .fp32 { kernels.append(("gradient_precision", .string(options.gradientPrecision.rawValue))) }
        if options.optimizerState != .fp32 { kernels.append(("optimizer_state", .string(options.optimizerState.rawValue))) }
        if let provenance {
            // Wall-clock time stays out: the same input gives the same document.
            var search = JSONObject()
            search["found_by"] = .string(provenance.foundBy.rawValue)
            if let seconds = provenance.stageDynamicProgramSeconds { search["stage_dp_iteration_seconds"] = .number(seconds) }
            if let seconds = provenance.megatronGridSeconds { search["megatron_grid_iteration_seconds"] = .number(seconds) }
            if let seconds = provenance.rewrittenSeconds { search["rewritten_iteration_seconds"] = .number(seconds) }
            if let seconds = provenance.rewrittenFromSeconds { search["rewritten_from_iteration_seconds"] = .number(seconds) }
            search["stopped_early"] = .bool(provenance.stoppedEarly)
            if let pinned = provenance.pinned { search["pinned"] = .object(JSONObject(pinned.degrees.map { ($0.name, .int($0.degree)) })) }
            top["search"] = .object(search)
        }
        top["options"] = .object(JSONObject([
            ("recompute", .string(options.recompute.rawValue)),
        ] + (options.recompute == .full ? options.recomputedBlocks.map { [("recompute_blocks", JSONValue.int($0))] } ?? [] : []) + [
            ("zero_stage", .int(options.zeroStage)),
            ("overlap_gradient_reduction", .bool(options.overlapGradientReduction)),
            ("overlap_tensor_parallel_communication", .bool(options.overlapTensorParallelCommunication && !ineffective.contains(.tensorParallelOverlap))),
        ] + (options.overlapExpertParallelCommunication ? [("overlap_expert_parallel_communication", JSONValue.bool(true))] : [])
            + (options.expertDispatcher == .allToAll || !splitsExperts ? [] : [("expert_dispatcher", JSONValue.string(options.expertDispatcher.rawValue))])
            + precision + kernels))
        top["predicted"] = .object(JSONObject([
            ("iteration_seconds", .number(prediction.iterationSeconds)),
            ("samples_per_second", .number(prediction.samplesPerSecond)),
            ("tflops_per_device", .number(prediction.tflopsPerDevice)),
            ("mfu", .number(prediction.modelFLOPsUtilization)),
        ] + (prediction.causalHalvedUtilization.map { [("mfu_causal_halved", JSONValue.number($0))] } ?? []) + [
            ("peak_memory_bytes_per_device", .number(prediction.peakMemoryBytesPerDevice.rounded())),
            ("fits_in_memory", .bool(prediction.fitsInMemory)),
            ("time_breakdown", .object(JSONObject(prediction.timeBreakdown.map { ($0.name, .number($0.seconds)) }))),
        ]))
        let sends = stages.count > 1 ? pipelineSendBytes() : nil
        let rewriteStages = stagesOfRewrites()
        top["stages"] = .array(stages.enumerated().map { index, stage in
            stageJSON(index, stage, prediction, sends: sends?[index],
                      rewrites: zip(rewrites, rewriteStages).filter { $0.1 == index }.map(\.0))
        })
        top["communication"] = .object(JSONObject(CollectiveKind.allCases.map { kind in
            ("\(kind.rawValue)_bytes", .number((prediction.communicationBytes[kind] ?? 0).rounded()))
        }))
        return .object(top)
    }

    /// The document as text: stages and shardings one entry per line. The plan must be one `PlanValidator`
    /// accepts, as for `json(prediction:)`.
    public func jsonText(prediction: PlanPrediction) -> String {
        JSONWriter(inlineDepth: 4, lineWidth: 100).render(json(prediction: prediction))
    }

    /// Bytes each device of the stage moves per iteration, by the mesh axes a collective runs along (axis
    /// names joined by commas) and by kind. Each collective counts its buffer on the large side (the reduced
    /// tensor of an all-reduce, the gathered result of an all-gather, the unreduced input of a
    /// reduce-scatter, the held buffer of an all-to-all), Docs/jax.md's convention.
    private func communicationByAxis(_ cost: StageCost, mesh: DeviceMesh) -> JSONValue {
        var totals: [[Int]: [CollectiveKind: Double]] = [:]
        for (axes, kinds) in cost.communicationBytesByAxes {
            for (kind, bytes) in kinds { totals[axes, default: [:]][kind, default: 0] += bytes * Double(microbatches) }
        }
        for (axes, kinds) in cost.gradientSynchronizationBytesByAxes {
            for (kind, bytes) in kinds { totals[axes, default: [:]][kind, default: 0] += bytes }
        }
        return .object(JSONObject(totals.keys.sorted { $0.lexicographicallyPrecedes($1) }.map { axes in
            (axes.map { mesh.axisNames[$0] }.joined(separator: ","), .object(JSONObject(CollectiveKind.allCases.compactMap { kind in
                totals[axes]![kind].map { ("\(kind.rawValue)_bytes", .number($0.rounded())) }
            })))
        }))
    }

    /// The stage each of `rewrites` is listed under: that of its first new op, or for a rewrite that only
    /// removes ops, that of the value their readers now read; and never before a rewrite it builds on, so
    /// that reading the stages in order replays the rewrites in an order that applies.
    func stagesOfRewrites() -> [Int] {
        var stageOf: [String: Int] = [:]
        for (index, stage) in stages.enumerated() { for op in stage.operations { stageOf[graph.operations[op].name] = index } }
        var result: [Int] = []
        for (position, rewrite) in rewrites.enumerated() {
            var stage = rewrite.addedOperations.first.flatMap { stageOf[$0.name] }
                ?? rewrite.renamedValues.values.sorted().compactMap { stageOf[$0] }.first ?? 0
            for earlier in 0..<position where !rewrite.referencedNames.isDisjoint(with: rewrites[earlier].definedNames.union(rewrites[earlier].removedOperations)) {
                stage = max(stage, result[earlier])
            }
            result.append(stage)
        }
        return result
    }

    /// Bytes each chunk sends to chunks on other ranks per iteration, as full logical tensors (global shape x
    /// element size, Docs/jax.md): `activations` it produces for each later chunk that reads them,
    /// `gradients` of the activations it received that carry one, and `tied_parameter_gradients` of the
    /// parameters an earlier chunk also reads (their gradients go to the first chunk that reads them).
    private func pipelineSendBytes() -> [[(key: String, value: Double)]] {
        var chunkOf = Array(repeating: -1, count: graph.operations.count)
        for (index, stage) in stages.enumerated() { for op in stage.operations { chunkOf[op] = index } }
        let gradients = GradientFlow(graph)
        func bytes(_ value: ValueID) -> Double { Double(graph[value].type.elementCount * graph[value].type.dtype.byteSize) }
        var activations = Array(repeating: 0.0, count: stages.count)
        var cotangents = Array(repeating: 0.0, count: stages.count)
        var tied = Array(repeating: 0.0, count: stages.count)
        var firstReader: [ValueID: Int] = [:]
        for (index, stage) in stages.enumerated() {
            var received = Set<ValueID>()
            for op in stage.operations {
                for input in graph.operations[op].inputs {
                    if graph[input].isParameter {
                        if let first = firstReader[input] {
                            if first != index && rank(ofStage: first) != rank(ofStage: index) && received.insert(input).inserted { tied[index] += bytes(input) }
                        } else {
                            firstReader[input] = index
                        }
                    } else if let producer = graph[input].operationIndex, chunkOf[producer] != index,
                              rank(ofStage: chunkOf[producer]) != rank(ofStage: index), received.insert(input).inserted {
                        activations[chunkOf[producer]] += bytes(input)
                        if gradients[input] { cotangents[index] += bytes(input) }
                    }
                }
            }
        }
        return stages.indices.map { [("activations", activations[$0]), ("gradients", cotangents[$0]), ("tied_parameter_gradients", tied[$0])] }
    }

    private func stageJSON(_ index: Int, _ stage: StageLayout, _ prediction: PlanPrediction,
                           sends: [(key: String, value: Double)]?, rewrites: [GraphRewrite]) -> JSONValue {
        let rank = prediction.ranks[self.rank(ofStage: index)]
        let cost = prediction.stageCosts[index]
        let axisNames = stage.mesh.axisNames
        var shardings = JSONObject()
        // A parameter with no data-parallel devices has no state ZeRO shards, whatever stage its reader took.
        var zeroStages = JSONObject()
        for stored in stage.storedParameters(in: graph, planStage: options.zeroStage) where stored.isDataParallel && stored.zeroStage > 0 {
            zeroStages[graph[stored.parameter].name] = .int(stored.zeroStage)
        }
        var partialSums = JSONObject()
        var operandShardings = JSONObject()
        // The layout each value has in this stage, as `shardings` writes it (partial sums reduced).
        var pinned: [ValueID: ShardingSpec] = [:]
        for operationIndex in stage.operations {
            let operation = graph.operations[operationIndex]
            let strategy = stage.strategy(of: operationIndex)
            var reads: [JSONValue] = []
            for (operand, input) in operation.inputs.enumerated() {
                let wanted = strategy.operandSpec(operand, in: operation.indexSpace)
                guard let held = pinned[input] else {
                    // Parameters are stored, and stage inputs arrive, in the layout their first reader wants.
                    pinned[input] = wanted
                    shardings[graph[input].name] = wanted.json(axisNames: axisNames)
                    reads.append(.null)
                    continue
                }
                reads.append(held == wanted ? .null : wanted.json(axisNames: axisNames))
            }
            if reads.contains(where: { $0 != .null }) { operandShardings[operation.name] = .array(reads) }
            let result = strategy.resultSpec(in: operation.indexSpace)
            pinned[operation.result] = result.reduced
            shardings[operation.name] = result.json(axisNames: axisNames)
            if !result.partialAxes.isEmpty { partialSums[operation.name] = .strings(result.partialAxes.map { axisNames[$0] }) }
        }
        let recompute: [(String, JSONValue)] = stage.recompute.map { [("recompute", .string($0.rawValue))] } ?? []
        let sent: [(String, JSONValue)] = sends.map { [("pipeline_send_bytes", .object(JSONObject($0.map { ($0.key, .number($0.value)) })))] } ?? []
        let rewritten: [(String, JSONValue)] = rewrites.isEmpty ? [] : [("rewrites", .array(rewrites.map(\.json)))]
        return .object(JSONObject([
            ("index", .int(index)),
            ("rank", .int(self.rank(ofStage: index))),
            ("ops", .strings(stage.operations.map { graph.operations[$0].name })),
            ("devices", .ints(stage.mesh.devices)),
            ("mesh", .ints(stage.mesh.shape)),
            ("axes", .strings(stage.mesh.axisNames)),
        ] + recompute + [
            ("forward_seconds", .number(cost.forwardSeconds)),
            ("backward_seconds", .number(cost.backwardSeconds)),
            ("memory_bytes_per_device", .number(rank.peakMemoryBytes.rounded())),
            // Its parts, as the text report lists them (they add up to the peak), and what the activations are of.
            ("memory_parts_bytes", .object(JSONObject([
                ("weights", .number(rank.weightBytes.rounded())), ("gradients", .number(rank.gradientBytes.rounded())),
                ("optimizer_state", .number(rank.optimizerStateBytes.rounded())), ("activations", .number(rank.activationBytes.rounded())),
                ("framework", .number(TrainingOptions.frameworkOverheadBytes)),
            ]))),
            ("microbatches_in_flight", .number(rank.microbatchesInFlight)),
            ("shardings", .object(shardings)),
            ("communication_by_axis", communicationByAxis(cost, mesh: stage.mesh)),
            ("partial_sums", .object(partialSums)),
            ("operand_shardings", .object(operandShardings)),
            ("zero_stages", .object(zeroStages)),
        ] + sent + rewritten))
    }
}
