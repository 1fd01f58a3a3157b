import Foundation

/// Every stage the stage DP may use, asked of a `StageCostOracle`: for each range of clustered layers, each
/// submesh shape and each position (level) the range can have (a range followed by few layers can only sit
/// near the end of the pipeline, so it is asked only about the levels it can reach).
///
/// Questions are shared between ranges with equal structure signatures and answered on several threads. For
/// an oracle that states its `deviceMemoryBytes`, the GPipe or 1F1B answer for the fewest microbatches in
/// flight serves every larger count it still fits (it is the fastest stage of a larger set), so the oracle is
/// asked again only where memory binds. An answer serves a run of consecutive levels, so the table keeps, per
/// range and shape, one entry per distinct answer with the last level it serves: a handful where a dense
/// table would hold one cell per level. Latencies are seconds per microbatch, +infinity where nothing fits.
public struct StageCandidateTable<Payload: Sendable>: Sendable {
    public let program: StageDynamicProgram
    /// Calls made to the oracle.
    public let oracleCallCount: Int
    /// Cells (layer range, submesh, level) the table answers.
    public let cellCount: Int
    /// Per (range, shape) pair (`range * shapes + shape`), its entries are `entryStart[pair] ..< entryStart[pair + 1]`.
    let entryStart: [Int32]
    /// Per entry: the last level it serves (entries of a pair serve ascending runs from level 0), its latency and
    /// its index into `candidates` (-1 and +infinity for a run of levels where nothing fits).
    let entryLastLevel: [Int32]
    let entryLatency: [Double]
    let entrySlot: [Int32]
    let candidates: [StageCandidate<Payload>]
    /// The distinct latencies of `candidates`, ascending: the values the slowest stage can take.
    let distinctLatencies: [Double]

    /// The questions about one layer range (or all ranges of its signature) on one submesh, for levels
    /// `0 ..< levels`.
    private struct Question: Sendable {
        var layers: Range<Int>
        var shape: Int
        var levels: Int
    }

    /// Whether `isCancelled` stopped the questions before all were asked: the table is then incomplete.
    let wasCancelled: Bool

    /// Asks `oracle` about every cell, on up to `concurrency` threads (default: the active processors).
    /// With `structureKeys` (one per clustered layer), ranges with equal signatures are asked once. Each
    /// thread asks `isCancelled` before each question and stops asking once it says so; the oracle is handed
    /// it too, to give up a long question (once `isCancelled` says so it must always say so).
    init<Oracle: StageCostOracle>(program: StageDynamicProgram, oracle: Oracle, structureKeys: [Int]?,
                                  concurrency: Int?, isCancelled: @escaping @Sendable () -> Bool = { false }) where Oracle.Payload == Payload {
        precondition(structureKeys.map { $0.count == program.layerCount } ?? true, "one structure key per layer")
        self.program = program
        let shapes = program.submeshes.count
        var questions: [Question] = []
        // Per (range, shape) pair, the question that answers it.
        var questionOfPair = Array(repeating: -1, count: program.rangeCount * shapes)
        // Signatures are numbered as they are extended one layer at a time: the signature of layers
        // first ... last is (signature of first ... last - 1, key of last), so each range costs one lookup.
        var signatureNumbers: [SIMD2<Int>: Int] = [:]
        var questionOfSignature: [SIMD4<Int>: Int] = [:]
        for first in 0 ..< program.layerCount {
            var signature = -1
            for last in first ..< program.layerCount {
                if let structureKeys {
                    let extended = SIMD2(signature, structureKeys[last])
                    if let known = signatureNumbers[extended] { signature = known } else {
                        signature = signatureNumbers.count
                        signatureNumbers[extended] = signature
                    }
                }
                // Under the interleaved schedule the first and last ranks' chunks differ from the others'.
                let ends = program.schedule == .interleaved ? (first == 0 ? 1 : 0) + (last == program.layerCount - 1 ? 2 : 0) : 0
                for shape in 0 ..< shapes {
                    let levels = program.levelCount(rangeEnd: last, shape: shape)
                    guard levels > 0 else { continue }
                    let key = structureKeys.map { _ in SIMD4(signature, ends, shape, 0) }
                    let question: Int
                    if let key, let known = questionOfSignature[key] {
                        question = known
                        questions[known].levels = max(questions[known].levels, levels)
                    } else {
                        question = questions.count
                        questions.append(Question(layers: first ..< last + 1, shape: shape, levels: levels))
                        if let key { questionOfSignature[key] = question }
                    }
                    questionOfPair[program.rangeIndex(first, last) * shapes + shape] = question
                }
            }
        }
        var answers = [Answers](repeating: Answers(), count: questions.count)
        let workers = max(1, min(concurrency ?? ProcessInfo.processInfo.activeProcessorCount, questions.count))
        let ask = { @Sendable (question: Question) in
            Self.answers(to: question, program: program, oracle: oracle, isCancelled: isCancelled)
        }
        answers.withUnsafeMutableBufferPointer { answers in
            // Each question is taken by one worker, which alone writes its slot. Workers take the next question
            // as they finish one: the first questions on a submesh wait for its catalog and profiles, the
            // rest take microseconds, so a fixed share per worker would leave the others idle.
            nonisolated(unsafe) let answers = answers
            let questions = questions
            let tickets = TicketDispenser()
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while !isCancelled() {
                    let index = tickets.next()
                    guard index < questions.count else { break }
                    answers[index] = ask(questions[index])
                }
            }
        }
        wasCancelled = isCancelled()
        // The candidates of question q start at offsets[q] in `candidates`.
        var offsets: [Int] = []
        var candidates: [StageCandidate<Payload>] = []
        for answer in answers {
            offsets.append(candidates.count)
            candidates.append(contentsOf: answer.candidates)
        }
        var entryStart: [Int32] = [0]
        var entryLastLevel: [Int32] = [], entryLatency: [Double] = [], entrySlot: [Int32] = []
        var cells = 0
        for range in 0 ..< program.rangeCount {
            let last = program.rangeLast(range)
            for shape in 0 ..< shapes {
                let question = questionOfPair[range * shapes + shape]
                if question >= 0 {
                    let levels = program.levelCount(rangeEnd: last, shape: shape)
                    cells += levels
                    for run in answers[question].runs {
                        let end = min(run.lastLevel, levels - 1)
                        guard run.firstLevel <= end else { break }
                        entryLastLevel.append(Int32(end))
                        let slot = run.slot < 0 ? -1 : offsets[question] + Int(run.slot)
                        entryLatency.append(slot < 0 ? .infinity : candidates[slot].microbatchSeconds)
                        entrySlot.append(Int32(slot))
                    }
                }
                entryStart.append(Int32(entryLastLevel.count))
            }
        }
        var sorted = candidates.map(\.microbatchSeconds)
        sorted.sort()
        var distinct: [Double] = []
        for latency in sorted where latency != distinct.last { distinct.append(latency) }
        distinctLatencies = distinct
        self.entryStart = entryStart
        self.entryLastLevel = entryLastLevel
        self.entryLatency = entryLatency
        self.entrySlot = entrySlot
        self.candidates = candidates
        oracleCallCount = answers.reduce(0) { $0 + $1.calls }
        cellCount = cells
    }

    /// The distinct answers to one question, as runs of consecutive levels from level 0 each answered by one
    /// candidate (levels after the last run have no stage that fits), and the oracle calls they took.
    private struct Answers: Sendable {
        var candidates: [StageCandidate<Payload>] = []
        var runs: [(firstLevel: Int, lastLevel: Int, slot: Int32)] = []
        var calls = 0
    }

    /// The answers for levels `0 ..< question.levels`. Under the memory rule a GPipe or 1F1B answer is reused
    /// for larger counts while it fits, and none fits past a count where none does. Once `isCancelled` says
    /// so the answers are incomplete (the table is then marked cancelled and never solved).
    private static func answers<Oracle: StageCostOracle>(to question: Question, program: StageDynamicProgram, oracle: Oracle,
                                                         isCancelled: () -> Bool) -> Answers where Oracle.Payload == Payload {
        let budget = program.schedule == .interleaved ? nil : oracle.deviceMemoryBytes
        var answers = Answers()
        // The last answer asked of the oracle (-1: none fitted) and the in-flight count it was asked for.
        var reference: (slot: Int32, inFlight: Int)?
        func record(_ slot: Int32, level: Int) {
            if let run = answers.runs.last, run.slot == slot, run.lastLevel == level - 1 {
                answers.runs[answers.runs.count - 1].lastLevel = level
            } else {
                answers.runs.append((level, level, slot))
            }
        }
        for level in 0 ..< question.levels {
            let position = program.position(level: level)
            // Only the memory rule needs the count (an interleaved rank's would mean simulating its schedule).
            let inFlight = budget == nil ? 0 : position.inFlightMicrobatches
            if let budget, let reference {
                if reference.slot < 0 { break }
                let candidate = answers.candidates[Int(reference.slot)]
                if candidate.peakMemoryBytes(withMore: inFlight - reference.inFlight) <= budget {
                    record(reference.slot, level: level)
                    continue
                }
            }
            let answer = oracle.stageCost(layers: question.layers, submesh: program.submeshes[question.shape],
                                          microbatches: program.microbatches, position: position, isCancelled: isCancelled)
            answers.calls += 1
            guard let answer else {
                // Under the memory rule nothing fits further on either.
                if budget != nil { break }
                record(-1, level: level)
                reference = (-1, inFlight)
                continue
            }
            let slot = Int32(answers.candidates.count)
            answers.candidates.append(answer)
            record(slot, level: level)
            reference = (slot, inFlight)
        }
        return answers
    }

    /// The latency of layers `first ... last` on `program.submeshes[shape]` at `level`, +infinity when
    /// nothing fits; `pair` is `rangeIndex(first, last) * shapes + shape`.
    @inline(__always)
    func latency(pair: Int, level: Int) -> Double {
        var entry = Int(entryStart[pair])
        let end = Int(entryStart[pair + 1])
        while entry < end {
            if Int(entryLastLevel[entry]) >= level { return entryLatency[entry] }
            entry += 1
        }
        return .infinity
    }

    /// The candidate for clustered layers `first ... last` on `program.submeshes[shape]` at `level`.
    func candidate(first: Int, last: Int, shape: Int, level: Int) -> StageCandidate<Payload>? {
        let pair = program.rangeIndex(first, last) * program.submeshes.count + shape
        for entry in Int(entryStart[pair]) ..< Int(entryStart[pair + 1]) where Int(entryLastLevel[entry]) >= level {
            return entrySlot[entry] < 0 ? nil : candidates[Int(entrySlot[entry])]
        }
        return nil
    }

    /// Every cell's latency in (range, level, shape) order, for comparing tables in tests.
    var latencies: [Double] {
        var result: [Double] = []
        let shapes = program.submeshes.count
        for range in 0 ..< program.rangeCount {
            let last = program.rangeLast(range)
            for level in 0 ..< program.levelCount {
                for shape in 0 ..< shapes {
                    result.append(level < program.levelCount(rangeEnd: last, shape: shape)
                                  ? latency(pair: range * shapes + shape, level: level) : .infinity)
                }
            }
        }
        return result
    }
}
