import Foundation

/// Every stage the stage DP may use, asked of a `StageCostOracle` once: for each range of clustered layers,
/// each submesh shape and each in-flight level the range can have (a range followed by few layers can only
/// be near the end of the pipeline, so it is asked only about the levels it can reach).
///
/// Latencies are seconds per microbatch, +infinity where the oracle found nothing that fits.
public struct StageCandidateTable<Payload: Sendable>: Sendable {
    public let program: StageDynamicProgram
    /// Oracle calls made to build the table (after sharing between equal structure signatures).
    public let oracleCallCount: Int
    /// Cells that asked for a candidate (layer range, submesh, in-flight level).
    public let questionCount: Int
    /// Indexed by `index(range:shape:level:)`.
    let latencies: [Double]
    /// Per cell, an index into `candidates`, or -1.
    let slots: [Int32]
    let candidates: [StageCandidate<Payload>]

    /// Asks `oracle` about every cell, on up to `concurrency` threads (default: the active processors).
    /// With `structureKeys` (one per clustered layer), ranges with equal signatures are asked once.
    init<Oracle: StageCostOracle>(program: StageDynamicProgram, oracle: Oracle, structureKeys: [Int]?,
                                  concurrency: Int?) where Oracle.Payload == Payload {
        precondition(structureKeys.map { $0.count == program.layerCount } ?? true, "one structure key per layer")
        self.program = program
        var questions: [Question] = []
        var questionOfCell = Array(repeating: Int32(-1), count: program.cellCount)
        var questionOfSignature: [[Int]: Int] = [:]
        var cells = 0
        for first in 0 ..< program.layerCount {
            for last in first ..< program.layerCount {
                let signature = structureKeys.map { Array($0[first ... last]) }
                for shape in program.submeshes.indices {
                    for level in 0 ..< program.levelCount(rangeEnd: last, shape: shape) {
                        cells += 1
                        var key = signature
                        key?.append(contentsOf: [-1, shape, level])
                        let question: Int
                        if let key, let known = questionOfSignature[key] {
                            question = known
                        } else {
                            question = questions.count
                            questions.append(Question(layers: first ..< last + 1, shape: shape, level: level))
                            if let key { questionOfSignature[key] = question }
                        }
                        questionOfCell[program.index(range: program.rangeIndex(first, last), shape: shape, level: level)] = Int32(question)
                    }
                }
            }
        }
        var answers = [StageCandidate<Payload>?](repeating: nil, count: questions.count)
        let workers = max(1, min(concurrency ?? ProcessInfo.processInfo.activeProcessorCount, questions.count))
        let submeshes = program.submeshes
        let inFlight = (0 ..< program.levelCount).map(program.inFlightMicrobatches(level:))
        answers.withUnsafeMutableBufferPointer { buffer in
            // Each worker writes only its own stride of slots.
            nonisolated(unsafe) let buffer = buffer
            let ask = { @Sendable (question: Question) in
                oracle.stageCost(layers: question.layers, submesh: submeshes[question.shape],
                                 inFlightMicrobatches: inFlight[question.level])
            }
            if workers == 1 {
                for index in questions.indices { buffer[index] = ask(questions[index]) }
            } else {
                let questions = questions
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    for index in stride(from: worker, to: questions.count, by: workers) { buffer[index] = ask(questions[index]) }
                }
            }
        }
        var candidates: [StageCandidate<Payload>] = []
        var slotOfAnswer = Array(repeating: Int32(-1), count: answers.count)
        for (index, answer) in answers.enumerated() {
            guard let answer else { continue }
            slotOfAnswer[index] = Int32(candidates.count)
            candidates.append(answer)
        }
        slots = questionOfCell.map { $0 < 0 ? -1 : slotOfAnswer[Int($0)] }
        latencies = slots.map { $0 < 0 ? .infinity : candidates[Int($0)].microbatchSeconds }
        self.candidates = candidates
        oracleCallCount = questions.count
        questionCount = cells
    }

    /// One call to the oracle: layers, an index into `program.submeshes`, an in-flight level.
    private struct Question: Sendable {
        var layers: Range<Int>
        var shape: Int
        var level: Int
    }

    /// The candidate for clustered layers `first ... last` on `submeshes[shape]` at in-flight `level`.
    func candidate(first: Int, last: Int, shape: Int, level: Int) -> StageCandidate<Payload>? {
        let slot = slots[program.index(range: program.rangeIndex(first, last), shape: shape, level: level)]
        return slot < 0 ? nil : candidates[Int(slot)]
    }

    /// The distinct finite latencies, ascending: the values the slowest stage can take.
    var distinctLatencies: [Double] {
        Array(Set(latencies.filter(\.isFinite))).sorted()
    }
}
