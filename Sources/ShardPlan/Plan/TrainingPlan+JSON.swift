extension TrainingPlan {
    /// The format string of plan documents.
    public static let formatName = "shardplan.plan/1"

    /// The plan and its prediction as a `shardplan.plan/1` document (SPEC section 4, plus the additive
    /// members `summary`, `virtual_stages`, `options`, `predicted.time_breakdown` and per stage `rank`,
    /// `communication_by_axis`, `partial_sums` (the axes over which an op's result is an unreduced sum) and
    /// `zero_stages` (parameters whose training state ZeRO shards)).
    public func json(prediction: PlanPrediction) -> JSONValue {
        var top = JSONObject()
        top["format"] = .string(Self.formatName)
        top["graph"] = .string(graph.name)
        top["cluster"] = .string(clusterName)
        top["devices"] = .int(deviceCount)
        top["global_batch"] = .int(graph.batchSize ?? 1)
        top["microbatches"] = .int(microbatches)
        top["schedule"] = .string(schedule.rawValue)
        top["virtual_stages"] = .int(virtualStages)
        if let summary { top["summary"] = .string(summary) }
        top["options"] = .object(JSONObject([
            ("recompute", .string(options.recompute.rawValue)), ("zero_stage", .int(options.zeroStage)),
            ("overlap_gradient_reduction", .bool(options.overlapGradientReduction)),
            ("overlap_tensor_parallel_communication", .bool(options.overlapTensorParallelCommunication)),
        ]))
        top["predicted"] = .object(JSONObject([
            ("iteration_seconds", .number(prediction.iterationSeconds)),
            ("samples_per_second", .number(prediction.samplesPerSecond)),
            ("tflops_per_device", .number(prediction.tflopsPerDevice)),
            ("mfu", .number(prediction.modelFLOPsUtilization)),
            ("peak_memory_bytes_per_device", .number(prediction.peakMemoryBytesPerDevice.rounded())),
            ("fits_in_memory", .bool(prediction.fitsInMemory)),
            ("time_breakdown", .object(JSONObject(prediction.timeBreakdown.map { ($0.name, .number($0.seconds)) }))),
        ]))
        top["stages"] = .array(stages.enumerated().map { index, stage in stageJSON(index, stage, prediction) })
        top["communication"] = .object(JSONObject(CollectiveKind.allCases.map { kind in
            ("\(kind.rawValue)_bytes", .number((prediction.communicationBytes[kind] ?? 0).rounded()))
        }))
        return .object(top)
    }

    /// The document as text: stages and shardings one entry per line.
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

    private func stageJSON(_ index: Int, _ stage: StageLayout, _ prediction: PlanPrediction) -> JSONValue {
        let rank = prediction.ranks[self.rank(ofStage: index)]
        let cost = prediction.stageCosts[index]
        var shardings = JSONObject()
        var zeroStages = JSONObject()
        var partialSums = JSONObject()
        for operationIndex in stage.operations {
            let operation = graph.operations[operationIndex]
            let strategy = stage.strategy(of: operationIndex)
            for (operand, input) in operation.inputs.enumerated() where graph[input].isParameter && shardings[graph[input].name] == nil {
                shardings[graph[input].name] = strategy.operandSpec(operand, in: operation.indexSpace).json(axisNames: stage.mesh.axisNames)
                let zero = max(options.zeroStage, strategy.zeroStage)
                if zero > 0 { zeroStages[graph[input].name] = .int(zero) }
            }
            let result = strategy.resultSpec(in: operation.indexSpace)
            shardings[operation.name] = result.json(axisNames: stage.mesh.axisNames)
            if !result.partialAxes.isEmpty { partialSums[operation.name] = .strings(result.partialAxes.map { stage.mesh.axisNames[$0] }) }
        }
        return .object(JSONObject([
            ("index", .int(index)),
            ("rank", .int(self.rank(ofStage: index))),
            ("ops", .strings(stage.operations.map { graph.operations[$0].name })),
            ("devices", .ints(stage.mesh.devices)),
            ("mesh", .ints(stage.mesh.shape)),
            ("axes", .strings(stage.mesh.axisNames)),
            ("forward_seconds", .number(cost.forwardSeconds)),
            ("backward_seconds", .number(cost.backwardSeconds)),
            ("memory_bytes_per_device", .number(rank.peakMemoryBytes.rounded())),
            ("shardings", .object(shardings)),
            ("communication_by_axis", communicationByAxis(cost, mesh: stage.mesh)),
            ("partial_sums", .object(partialSums)),
            ("zero_stages", .object(zeroStages)),
        ]))
    }
}
