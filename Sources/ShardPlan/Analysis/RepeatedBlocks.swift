/// The longest run of consecutive, structurally identical blocks of ops in a graph: `count` blocks of
/// `period` ops each, the first starting at op `start`. Found without `layer` hints, it is how the
/// analysis recognises the layers of a model (a transformer's 96 blocks).
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

    /// The ops the blocks cover.
    var operations: Range<Int> { start..<(start + period * count) }

    /// The ops of block `index`.
    func block(_ index: Int) -> Range<Int> { (start + index * period)..<(start + (index + 1) * period) }

    /// The run covering the most ops (ties: the shorter period, then the earlier run), if some block of
    /// ops is followed by a copy of itself.
    init?(_ graph: Graph, classes: [Int]) {
        let count = graph.operations.count
        // Operand producers, flattened: the index of the op that computes each operand, or -1.
        var operandStart = [0]
        var producers: [Int] = []
        for operation in graph.operations {
            for input in operation.inputs { producers.append(graph[input].operationIndex ?? -1) }
            operandStart.append(producers.count)
        }
        func isCopy(_ original: Int, _ copy: Int) -> Bool {
            guard classes[original] == classes[copy] else { return false }
            let shift = copy - original
            var (a, b) = (operandStart[original], operandStart[copy])
            while a < operandStart[original + 1] {
                let (first, second) = (producers[a], producers[b])
                if first >= 0 && second != first + shift && second != first { return false }
                a += 1; b += 1
            }
            return true
        }
        var best: (runStart: Int, run: Int, period: Int)?
        var bestCoverage = 1
        for period in stride(from: 1, through: count / 2, by: 1) {
            // A period whose best possible run cannot beat the best found so far is skipped.
            guard (count / period) * period > bestCoverage else { continue }
            var run = 0
            for original in 0...(count - period) {
                if original < count - period && isCopy(original, original + period) {
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
        let start = (best.runStart...(best.runStart + slack)).first { index in
            graph.operations[index].inputs.contains { graph[$0].isParameter }
        } ?? best.runStart
        self.init(start: start, period: best.period, count: blocks)
    }

    init(start: Int, period: Int, count: Int) {
        self.start = start
        self.period = period
        self.count = count
    }
}
