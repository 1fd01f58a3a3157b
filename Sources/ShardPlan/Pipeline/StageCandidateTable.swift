import Foundation

/// Every stage the stage DP may use, asked of a `StageCostOracle`: for each range of clustered layers, each
/// submesh shape and each in-flight level the range can have (a range followed by few layers can only sit near
/// the end of the pipeline, so it is asked only about the levels it can reach).
///
/// Questions are shared between ranges with equal structure signatures and answered on several threads. For
/// an oracle that states its `deviceMemoryBytes`, the answer for the fewest microbatches in flight serves
/// every larger count it still fits (it is the fastest stage of a larger set), so the oracle is asked again
/// only where memory binds. Latencies are seconds per microbatch, +infinity where nothing fits.
public struct StageCandidateTable<Payload: Sendable>: Sendable {
    public let program: StageDynamicProgram
    /// Calls made to the oracle.
    public let oracleCallCount: Int
    /// Cells (layer range, submesh, in-flight level) the table answers.
    public let cellCount: Int
    /// Indexed by `StageDynamicProgram.index(range:shape:level:)`.
    let latencies: [Double]
    /// Per cell, an index into `candidates`, or -1.
    let slots: [Int32]
    let candidates: [StageCandidate<Payload>]
    /// The distinct latencies of `candidates`, ascending: the values the slowest stage can take.
    let distinctLatencies: [Double]

    /// The questions about one layer range (or all ranges of its signature) on one submesh, for in-flight
    /// levels `0 ..< levels`.
    private struct Question: Sendable {
        var layers: Range<Int>
        var shape: Int
        var levels: Int
    }

    /// Asks `oracle` about every cell, on up to `concurrency` threads (default: the active processors).
    /// With `structureKeys` (one per clustered layer), ranges with equal signatures are asked once.
    init<Oracle: StageCostOracle>(program: StageDynamicProgram, oracle: Oracle, structureKeys: [Int]?,
                                  concurrency: Int?) where Oracle.Payload == Payload {
        precondition(structureKeys.map { $0.count == program.layerCount } ?? true, "one structure key per layer")
        self.program = program
        let shapes = program.submeshes.count
        var questions: [Question] = []
        // Per (range, shape) pair, the question that answers it.
        var questionOfPair = Array(repeating: -1, count: program.rangeCount * shapes)
        var questionOfSignature: [[Int]: Int] = [:]
        for first in 0 ..< program.layerCount {
            for last in first ..< program.layerCount {
                let signature = structureKeys.map { Array($0[first ... last]) }
                for shape in 0 ..< shapes {
                    let levels = program.levelCount(rangeEnd: last, shape: shape)
                    guard levels > 0 else { continue }
                    let key = signature.map { $0 + [-1, shape] }
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
            Self.answers(to: question, program: program, oracle: oracle)
        }
        answers.withUnsafeMutableBufferPointer { answers in
            // Each worker writes only the slots of its own questions.
            nonisolated(unsafe) let answers = answers
            let questions = questions
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                for index in stride(from: worker, to: questions.count, by: workers) { answers[index] = ask(questions[index]) }
            }
        }
        // The candidates of question q start at offsets[q] in `candidates`.
        var offsets: [Int] = []
        var candidates: [StageCandidate<Payload>] = []
        var candidateLatencies: [Double] = []
        for answer in answers {
            offsets.append(candidates.count)
            candidates.append(contentsOf: answer.candidates)
            candidateLatencies.append(contentsOf: answer.candidates.lazy.map { $0.microbatchSeconds })
        }
        var slots = Array(repeating: Int32(-1), count: program.cellCount)
        var latencies = Array(repeating: Double.infinity, count: program.cellCount)
        var cells = 0
        for range in 0 ..< program.rangeCount {
            let last = program.rangeLast(range)
            for shape in 0 ..< shapes {
                let question = questionOfPair[range * shapes + shape]
                guard question >= 0 else { continue }
                let levelSlots = answers[question].levelSlots
                for level in 0 ..< program.levelCount(rangeEnd: last, shape: shape) {
                    cells += 1
                    guard levelSlots[level] >= 0 else { continue }
                    let cell = program.index(range: range, shape: shape, level: level)
                    let slot = offsets[question] + Int(levelSlots[level])
                    slots[cell] = Int32(slot)
                    latencies[cell] = candidateLatencies[slot]
                }
            }
        }
        candidateLatencies.sort()
        var distinct: [Double] = []
        for latency in candidateLatencies where latency != distinct.last { distinct.append(latency) }
        distinctLatencies = distinct
        self.slots = slots
        self.latencies = latencies
        self.candidates = candidates
        oracleCallCount = answers.reduce(0) { $0 + $1.calls }
        cellCount = cells
    }

    /// The distinct answers to one question, the one for each level (an index into `candidates`, or -1),
    /// and the oracle calls they took.
    private struct Answers: Sendable {
        var candidates: [StageCandidate<Payload>] = []
        var levelSlots: [Int32] = []
        var calls = 0
    }

    /// The answers for levels `0 ..< question.levels`. Under the memory rule an answer is reused for larger
    /// counts while it fits, and none fits past a count where none does.
    private static func answers<Oracle: StageCostOracle>(to question: Question, program: StageDynamicProgram,
                                                         oracle: Oracle) -> Answers where Oracle.Payload == Payload {
        let budget = oracle.deviceMemoryBytes
        var answers = Answers()
        // The last answer asked of the oracle (-1: none fitted) and the in-flight count it was asked for.
        var reference: (slot: Int32, inFlight: Int)?
        for level in 0 ..< question.levels {
            let inFlight = program.inFlightMicrobatches(level: level)
            if let budget, let reference {
                if reference.slot < 0 {
                    answers.levelSlots.append(-1)
                    continue
                }
                let candidate = answers.candidates[Int(reference.slot)]
                if candidate.peakMemoryBytes(withMore: inFlight - reference.inFlight) <= budget {
                    answers.levelSlots.append(reference.slot)
                    continue
                }
            }
            let answer = oracle.stageCost(layers: question.layers, submesh: program.submeshes[question.shape],
                                          microbatches: program.microbatches, inFlightMicrobatches: inFlight)
            answers.calls += 1
            let slot = answer == nil ? -1 : Int32(answers.candidates.count)
            if let answer { answers.candidates.append(answer) }
            answers.levelSlots.append(slot)
            reference = (slot, inFlight)
        }
        return answers
    }

    /// The candidate for clustered layers `first ... last` on `program.submeshes[shape]` at in-flight `level`.
    func candidate(first: Int, last: Int, shape: Int, level: Int) -> StageCandidate<Payload>? {
        let slot = slots[program.index(range: program.rangeIndex(first, last), shape: shape, level: level)]
        return slot < 0 ? nil : candidates[Int(slot)]
    }
}
