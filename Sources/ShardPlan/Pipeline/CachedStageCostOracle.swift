import Foundation

/// A `StageCostOracle` that answers each question once: layer ranges with the same structure signature (the
/// same sequence of clustered layers' structure keys, as repeated transformer blocks have) share one answer,
/// and an answer is kept across DP runs (a microbatch sweep asks the same in-flight counts of the same
/// microbatch count again when schedules or device usages are compared, say). A 96-block GPT cut into 32
/// layers has 528 layer ranges but about 4 * 32 distinct signatures (blocks only, or with the prologue or
/// epilogue, or both).
///
/// Safe to call from several threads; two threads asking the same new question at once may both solve it. An
/// answer given once a search is cancelled may be a question `base` gave up on: it is not kept.
public final class CachedStageCostOracle<Base: StageCostOracle>: StageCostOracle, @unchecked Sendable {
    /// What an answer carries besides its cost: the wrapped oracle's payload (a stage's layout, say).
    public typealias Payload = Base.Payload

    public let base: Base
    /// One structure key per clustered layer (`LayerClustering.structureKeys`).
    public let structureKeys: [Int]

    private struct Question: Hashable {
        var signature: [Int]
        var submesh: SubmeshShape
        var microbatches: Int
        var inFlightMicrobatches: Int
    }

    // Guards `answers`, `questionCount` and `solveCount`: the only mutable state.
    private let lock = NSLock()
    private var answers: [Question: StageCandidate<Payload>?] = [:]
    private var questionCount = 0
    private var solveCount = 0

    public init(_ base: Base, structureKeys: [Int]) {
        self.base = base
        self.structureKeys = structureKeys
    }

    public var deviceMemoryBytes: Double? { base.deviceMemoryBytes }

    public func stageCost(layers: Range<Int>, submesh: SubmeshShape, microbatches: Int, inFlightMicrobatches: Int) -> StageCandidate<Payload>? {
        answer(Question(signature: Array(structureKeys[layers]), submesh: submesh, microbatches: microbatches,
                        inFlightMicrobatches: inFlightMicrobatches), isCancelled: { false }) {
            base.stageCost(layers: layers, submesh: submesh, microbatches: microbatches, inFlightMicrobatches: inFlightMicrobatches)
        }
    }

    public func stageCost(layers: Range<Int>, submesh: SubmeshShape, microbatches: Int, position: PipelinePosition) -> StageCandidate<Payload>? {
        stageCost(layers: layers, submesh: submesh, microbatches: microbatches, position: position) { false }
    }

    /// Interleaved ranks go to `base` directly: their positions belong to one pipeline depth and chunk count,
    /// whose table asks each question once already.
    public func stageCost(layers: Range<Int>, submesh: SubmeshShape, microbatches: Int, position: PipelinePosition,
                          isCancelled: () -> Bool) -> StageCandidate<Payload>? {
        guard position.schedule == .interleaved else {
            return answer(Question(signature: Array(structureKeys[layers]), submesh: submesh, microbatches: microbatches,
                                   inFlightMicrobatches: position.inFlightMicrobatches), isCancelled: isCancelled) {
                base.stageCost(layers: layers, submesh: submesh, microbatches: microbatches, position: position, isCancelled: isCancelled)
            }
        }
        lock.withLock {
            questionCount += 1
            solveCount += 1
        }
        return base.stageCost(layers: layers, submesh: submesh, microbatches: microbatches, position: position, isCancelled: isCancelled)
    }

    private func answer(_ question: Question, isCancelled: () -> Bool,
                        _ solve: () -> StageCandidate<Payload>?) -> StageCandidate<Payload>? {
        let known: StageCandidate<Payload>?? = lock.withLock {
            questionCount += 1
            return answers[question]
        }
        if let known { return known }
        let answer = solve()
        // `isCancelled` stays true once true: an answer `base` gave up on is never kept.
        let abandoned = isCancelled()
        lock.withLock {
            solveCount += 1
            if !abandoned { answers[question] = answer }
        }
        return answer
    }

    /// Questions asked so far, and how many of them went to `base`.
    public var statistics: (questions: Int, solves: Int) {
        lock.withLock { (questionCount, solveCount) }
    }
}
