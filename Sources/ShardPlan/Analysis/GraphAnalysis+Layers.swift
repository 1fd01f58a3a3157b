/// Grouping ops into layers: by the graph's `layer` hints when it has any, else by its longest run of
/// repeated blocks; then each layer's totals and structure key.
extension GraphAnalysis {
    static func layers(of graph: Graph, costs: [OperationCost]) -> [Layer] {
        // Blocks are found by their shape; their structure keys, which price them, hold what training does with them
        // (a frozen block costs less than a trained one of the same shape).
        let classes = OperationFingerprint.classes(of: graph)
        let training = OperationFingerprint.classes(of: graph, training: true)
        let groups = graph.operations.contains { $0.layer != nil }
            ? hintedGroups(graph) : repeatedGroups(graph, classes: classes)
        var structureKeys: [[Int]: Int] = [:], shapeKeys: [[Int]: Int] = [:]
        return groups.map { name, origin, range in
            var parameters = Set<ValueID>()
            for operation in graph.operations[range] {
                for input in operation.inputs where graph[input].isParameter { parameters.insert(input) }
            }
            let wiring = structure(of: range, in: graph, classes: training)
            let key = structureKeys[wiring] ?? structureKeys.count
            structureKeys[wiring] = key
            let shape = structure(of: range, in: graph, classes: classes)
            let shapeKey = shapeKeys[shape] ?? shapeKeys.count
            shapeKeys[shape] = shapeKey
            return Layer(name: name, origin: origin, operations: range,
                         parameterCount: parameters.reduce(0) { $0 + graph[$1].type.elementCount },
                         parameterBytes: parameters.reduce(0) { $0 + graph[$1].type.byteCount },
                         forwardFLOPs: costs[range].reduce(0) { $0 + $1.forwardFLOPs },
                         backwardFLOPs: costs[range].reduce(0) { $0 + $1.backwardFLOPs },
                         savedForBackwardBytes: savedBytes(costs[range], in: graph),
                         structureKey: key, shapeKey: shapeKey)
        }
    }

    /// Runs of consecutive ops with the same hint; ops without a hint form their own groups, named for
    /// where they stand.
    private static func hintedGroups(_ graph: Graph) -> [(String, Layer.Origin, Range<Int>)] {
        var runs: [(hint: String?, range: Range<Int>)] = []
        for (index, operation) in graph.operations.enumerated() {
            if let last = runs.last, last.hint == operation.layer {
                runs[runs.count - 1].range = last.range.lowerBound..<(index + 1)
            } else {
                runs.append((operation.layer, index..<(index + 1)))
            }
        }
        let firstHinted = runs.firstIndex { $0.hint != nil }!
        let lastHinted = runs.lastIndex { $0.hint != nil }!
        return runs.enumerated().map { position, run in
            if let hint = run.hint { return (hint, .hint, run.range) }
            let name = position < firstHinted ? "prologue"
                : position > lastHinted ? "epilogue" : "after \(runs[position - 1].hint!)"
            return (name, .remainder, run.range)
        }
    }

    /// The blocks of repeated runs as `layer0`, `layer1`, ... in op order; the other ops as `prologue`
    /// (before the first block), `epilogue` (after the last), `after layer<k>` (between runs), or `graph`
    /// when nothing repeats.
    private static func repeatedGroups(_ graph: Graph, classes: [Int]) -> [(String, Layer.Origin, Range<Int>)] {
        let spans = RepeatedBlocks.spans(graph, classes: classes)
        guard let firstBlock = spans.firstIndex(where: \.repeated), let lastBlock = spans.lastIndex(where: \.repeated) else {
            return [("graph", .remainder, 0..<graph.operations.count)]
        }
        var blocks = 0
        return spans.enumerated().map { position, span in
            if span.repeated {
                blocks += 1
                return ("layer\(blocks - 1)", .repeatedBlock, span.range)
            }
            let name = position < firstBlock ? "prologue" : position > lastBlock ? "epilogue" : "after layer\(blocks - 1)"
            return (name, .remainder, span.range)
        }
    }

    /// The layer's structure relative to its first op: for each op its fingerprint class and, for each
    /// operand, the position of its producer inside the layer, or -1 for anything from outside (whose
    /// kind and type the class already holds).
    private static func structure(of range: Range<Int>, in graph: Graph, classes: [Int]) -> [Int] {
        var wiring: [Int] = []
        for index in range {
            wiring.append(classes[index])
            for input in graph.operations[index].inputs {
                if let producer = graph[input].operationIndex, range.contains(producer) {
                    wiring.append(producer - range.lowerBound)
                } else {
                    wiring.append(-1)
                }
            }
        }
        return wiring
    }
}
