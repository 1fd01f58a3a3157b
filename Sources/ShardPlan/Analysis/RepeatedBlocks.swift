/// A run of consecutive, structurally identical blocks of ops: `count` blocks of `period` ops each, the
/// first starting at op `start`. Found without `layer` hints, runs are how the analysis recognises the
/// layers of a model (a transformer's 96 blocks, a ResNet's stages).
///
/// Op `i + period` is a copy of op `i` when both have the same fingerprint and each operand of the copy
/// is either the result of the op `period` places after the original's producer (the same wiring, one
/// block later) or the very same tensor (one both blocks read, such as rotary tables or a mask).
/// `count` blocks starting at `start` are identical when every op of the first `count - 1` is copied
/// by the op one block later.
struct RepeatedBlocks: Equatable {
    var start: Int
    var period: Int
    var count: Int

    /// A block repeats at least this many ops: one op repeated (two reshapes in a row) is no layer.
    static let minimumPeriod = 2

    /// The ops the blocks cover.
    var operations: Range<Int> { start..<(start + period * count) }

    /// The ops of block `index`.
    func block(_ index: Int) -> Range<Int> { (start + index * period)..<(start + (index + 1) * period) }

    init(start: Int, period: Int, count: Int) {
        self.start = start
        self.period = period
        self.count = count
    }

    /// The graph's ops as consecutive spans, each either one block of a run (`repeated`) or ops outside
    /// every run: the longest run of the whole graph, then recursively the longest runs of the ops
    /// before and after it.
    static func spans(_ graph: Graph, classes: [Int]) -> [(range: Range<Int>, repeated: Bool)] {
        let producers = OperandProducers(graph)
        var spans: [(range: Range<Int>, repeated: Bool)] = []
        func split(_ range: Range<Int>) {
            guard !range.isEmpty else { return }
            guard let run = longestRun(in: range, classes: classes, producers: producers) else {
                spans.append((range, false))
                return
            }
            split(range.lowerBound..<run.start)
            spans += (0..<run.count).map { (run.block($0), true) }
            split(run.operations.upperBound..<range.upperBound)
        }
        split(0..<graph.operations.count)
        return spans
    }

    /// The run inside `range` covering the most ops (ties: the shorter period, then the earlier run).
    static func longestRun(in range: Range<Int>, classes: [Int], producers: OperandProducers) -> RepeatedBlocks? {
        func isCopy(_ original: Int, _ copy: Int) -> Bool {
            guard classes[original] == classes[copy] else { return false }
            let shift = copy - original
            for (first, second) in zip(producers[original], producers[copy])
            where first >= 0 && second != first + shift && second != first {
                return false
            }
            return true
        }
        var best: (runStart: Int, run: Int, period: Int)?
        var bestCoverage = 0
        for period in stride(from: minimumPeriod, through: range.count / 2, by: 1) {
            // A period whose best possible run cannot beat the best found so far is skipped.
            guard (range.count / period) * period > bestCoverage else { continue }
            var run = 0
            for original in range.lowerBound...(range.upperBound - period) {
                if original < range.upperBound - period && isCopy(original, original + period) {
                    run += 1
                    continue
                }
                let blocks = run / period + 1
                if blocks >= 2 && blocks * period > bestCoverage {
                    best = (original - run, run, period)
                    bestCoverage = blocks * period
                }
                run = 0
            }
        }
        guard let best else { return nil }
        // A run longer than its whole blocks leaves a choice of where the first block starts: take the
        // first op that reads a weight (a norm or a projection), where layers of real models begin.
        let blocks = best.run / best.period + 1
        let slack = best.run - (blocks - 1) * best.period
        let start = (best.runStart...(best.runStart + slack)).first { producers.readsParameter[$0] } ?? best.runStart
        return RepeatedBlocks(start: start, period: best.period, count: blocks)
    }
}

/// For each op, the index of the op producing each of its operands (-1 for a parameter or graph input),
/// flattened for the block search's inner loop.
struct OperandProducers {
    private var offsets: [Int] = [0]
    private var producers: [Int] = []
    /// For each op, whether it reads a parameter.
    private(set) var readsParameter: [Bool] = []

    init(_ graph: Graph) {
        for operation in graph.operations {
            for input in operation.inputs { producers.append(graph[input].operationIndex ?? -1) }
            offsets.append(producers.count)
            readsParameter.append(operation.inputs.contains { graph[$0].isParameter })
        }
    }

    subscript(operation: Int) -> ArraySlice<Int> { producers[offsets[operation]..<offsets[operation + 1]] }
}
