/// The analysis as a `shardplan.analysis/1` document (`shardplan inspect --format json`); the fields are
/// described in Docs/analysis.md.
extension GraphAnalysis {
    /// The format string of analysis documents.
    public static let formatName = "shardplan.analysis/1"

    public var json: JSONValue {
        var top = JSONObject()
        top["format"] = .string(Self.formatName)
        top["graph"] = .string(graph.name)
        top["batch_size"] = .int(batchSize)
        top["inputs"] = .array(graph.inputs.map { id in
            let value = graph[id]
            var entry = JSONObject([("name", .string(value.name)), ("shape", .ints(value.type.shape)),
                                    ("dtype", .string(value.type.dtype.rawValue))])
            if case .input(let dimension) = value.origin { entry["batch_dim"] = .int(dimension) }
            return .object(entry)
        })
        top["parameters"] = ["count": .int(parameterCount), "bytes": .int(parameterBytes),
                             "tensors": .int(graph.parameters.count)]
        top["flops"] = ["forward": .number(forwardFLOPs), "backward": .number(backwardFLOPs),
                        "training": .number(trainingFLOPs),
                        "forward_per_sample": .number(forwardFLOPsPerSample),
                        "backward_per_sample": .number(backwardFLOPsPerSample),
                        "training_per_sample": .number(trainingFLOPsPerSample),
                        "causal_attention_forward": .number(causalAttentionForwardFLOPs)]
        if slidingWindowAttentionForwardFLOPs > 0, case .object(var flops)? = top["flops"] {
            flops["sliding_window_attention_forward"] = .number(slidingWindowAttentionForwardFLOPs)
            flops["sliding_window_band_forward"] = .number(slidingWindowBandForwardFLOPs)
            flops["model_forward"] = .number(modelForwardFLOPs)
            top["flops"] = .object(flops)
        }
        if frozenParameterCount > 0, case .object(var parameters)? = top["parameters"], case .object(var flops)? = top["flops"] {
            parameters["frozen_count"] = .int(frozenParameterCount)
            top["parameters"] = .object(parameters)
            flops["model_training"] = .number(modelTrainingFLOPs)
            top["flops"] = .object(flops)
        }
        top["activations"] = ["result_bytes": .int(activationBytes),
                              "saved_for_backward_bytes": .int(savedForBackwardBytes)]
        top["ops"] = ["count": .int(graph.operations.count),
                      "by_kind": .object(JSONObject(operationCounts.map { ($0.kind, .int($0.count)) }))]
        top["layers"] = .array(layers.map { layer in
            let (first, last) = (layer.operations.lowerBound, layer.operations.upperBound - 1)
            return .object(JSONObject([
                ("name", .string(layer.name)), ("origin", .string(layer.origin.rawValue)),
                ("first_op", .int(first)), ("last_op", .int(last)), ("op_count", .int(layer.operations.count)),
                ("first_op_name", .string(graph.operations[first].name)),
                ("last_op_name", .string(graph.operations[last].name)),
                ("parameters", .int(layer.parameterCount)), ("parameter_bytes", .int(layer.parameterBytes)),
                ("forward_flops", .number(layer.forwardFLOPs)), ("backward_flops", .number(layer.backwardFLOPs)),
                ("saved_for_backward_bytes", .int(layer.savedForBackwardBytes)),
                ("structure_key", .int(layer.structureKey)),
            ]))
        })
        return .object(top)
    }
}
