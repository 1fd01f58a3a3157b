/// The analysis as a report for a person at a terminal (`shardplan inspect`).
extension GraphAnalysis {
    /// The report, ending with a newline. Runs of identical consecutive layers are collapsed into one line.
    public var textReport: String {
        var lines: [String] = ["graph \(graph.name)"]
        func row(_ label: String, _ text: String) {
            lines.append("  " + label.padding(13) + text)
        }
        let inputs = graph.inputs.map { id -> String in
            let value = graph[id]
            guard case .input(let dimension) = value.origin else { return value.name }
            return "\(value.name) \(value.type) (batch dim \(dimension))"
        }
        row("inputs", inputs.isEmpty ? "none" : inputs.joined(separator: ", "))
        row("parameters", "\(UnitFormat.count(Double(parameterCount))) (\(UnitFormat.bytes(Double(parameterBytes)))) in \(graph.parameters.count) tensor\(graph.parameters.count == 1 ? "" : "s")")
        if frozenParameterCount > 0 {
            let frozenTensors = graph.frozenParameters.count
            row("frozen", "\(UnitFormat.count(Double(frozenParameterCount))) in \(frozenTensors) tensor\(frozenTensors == 1 ? "" : "s") (not trained: no gradients or optimizer state)")
        }
        row("global batch", graph.batchSize.map { "\($0) sample\($0 == 1 ? "" : "s")" } ?? "none (no inputs; per-sample figures are per iteration)")
        row("forward", perIteration(forwardFLOPs))
        if causalAttentionForwardFLOPs > 0 {
            row("", "(\(UnitFormat.flops(causalAttentionForwardFLOPs)) of it in causal attention, counted dense; a causal kernel does half)")
        }
        if slidingWindowAttentionForwardFLOPs > 0 {
            row("", "(\(UnitFormat.flops(slidingWindowAttentionForwardFLOPs)) of that in sliding-window attention, whose bands are \(UnitFormat.flops(slidingWindowBandForwardFLOPs)); MFU counts the forward pass as \(UnitFormat.flops(modelForwardFLOPs)), each band twice, as causal attention is counted dense)")
        }
        row("backward", perIteration(backwardFLOPs))
        row("training", perIteration(trainingFLOPs) + " (forward + backward)")
        row("activations", "\(UnitFormat.bytes(Double(activationBytes))) of op results, \(UnitFormat.bytes(Double(savedForBackwardBytes))) saved for backward")
        let kinds = operationCounts.map { "\($0.kind) \($0.count)" }
        for (index, line) in wrapped(kinds, width: 84).enumerated() {
            row(index == 0 ? "ops" : "", (index == 0 ? "\(graph.operations.count): " : "") + line)
        }
        let source = graph.operations.contains { $0.layer != nil } ? "from layer hints"
            : layers.contains { $0.origin == .repeatedBlock } ? "from repeated structure" : "no repeated structure found"
        row("layers", "\(layers.count) (\(source))")
        let runs = layerRuns()
        let nameWidth = runs.map { $0.name.count }.max() ?? 0
        let rangeWidth = runs.map { $0.range.count }.max() ?? 0
        for run in runs {
            lines.append("    " + run.name.padding(nameWidth + 2) + run.range.padding(rangeWidth + 2) + run.summary)
        }
        return VisibleText.lines(lines)
    }

    private func perIteration(_ flops: Double) -> String {
        "\(UnitFormat.flops(flops)) per iteration, \(UnitFormat.flops(flops / Double(batchSize))) per sample"
    }

    /// Consecutive layers with one structure, as one line each: name, op range, summary.
    private func layerRuns() -> [(name: String, range: String, summary: String)] {
        var runs: [(name: String, range: String, summary: String)] = []
        var start = 0
        while start < layers.count {
            var end = start + 1
            while end < layers.count && layers[end].structureKey == layers[start].structureKey { end += 1 }
            let (first, last) = (layers[start], layers[end - 1])
            let ops = "ops \(first.operations.lowerBound)-\(last.operations.upperBound - 1)"
            let size = first.operations.count
            let figures = "\(UnitFormat.count(Double(first.parameterCount))) params, forward \(UnitFormat.flops(first.forwardFLOPs))"
            if end - start == 1 {
                runs.append((first.name, ops, "\(size) op\(size == 1 ? "" : "s"), \(figures)"))
            } else {
                runs.append(("\(first.name)..\(last.name)", ops,
                             "\(end - start) identical blocks of \(size) op\(size == 1 ? "" : "s"), \(figures) each"))
            }
            start = end
        }
        return runs
    }

    /// Items joined by ", " into lines of at most `width` characters.
    private func wrapped(_ items: [String], width: Int) -> [String] {
        var lines: [String] = []
        var current = ""
        for item in items {
            if !current.isEmpty && current.count + 2 + item.count > width {
                lines.append(current + ",")
                current = item
            } else {
                current += current.isEmpty ? item : ", " + item
            }
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }
}

private extension String {
    /// The string followed by spaces up to `width` characters.
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
