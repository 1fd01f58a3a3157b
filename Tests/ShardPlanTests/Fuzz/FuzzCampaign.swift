import Foundation
import Testing
@testable import ShardPlan

/// One case of a campaign: its document, which valid document it was made from, and a random number
/// generator of its own for whatever else the check varies (flags, planner settings).
struct FuzzCase {
    var index: Int
    var document: FuzzDocument
    /// The index of the valid document it was made from.
    var original: Int
    var random: SplitMix64
}

/// One fuzzed input: a mutated document, handed to the library as a parsed value (what a program using the
/// library passes, NaN included) or as bytes (what the command line reads from a file).
enum FuzzDocument {
    case value(JSONValue)
    case bytes([UInt8])

    /// The document as the library's value-level decoders take it, or the parse error the bytes give.
    func parsed() throws(InputError) -> JSONValue {
        switch self {
        case .value(let value): value
        case .bytes(let bytes): try JSONValue.parseDocument(bytes, document: FuzzCampaign.documentName)
        }
    }

    /// The document as bytes (a value's non-finite numbers are written as null).
    var bytes: [UInt8] {
        switch self {
        case .value(let value): Array(JSONWriter.compact(value).utf8)
        case .bytes(let bytes): bytes
        }
    }
}

/// Runs seeded mutations of valid documents through what a command does with them, and checks that every
/// answer is a result or an `InputError` that names where the problem is, in one paragraph. A trap, an
/// overflow or a failed precondition kills the test process, which is how the suite fails on one.
///
/// `SHARDPLAN_FUZZ_CASES=N` runs N cases per input kind instead of the suite's default (a soak);
/// `SHARDPLAN_FUZZ_SEED` moves every campaign to other seeds; `SHARDPLAN_FUZZ_REPORT=FILE` appends each
/// campaign's figures to FILE; `SHARDPLAN_FUZZ_TRACE=FILE` writes the case about to run to FILE, so that
/// the case a crash happened in can be run again.
struct FuzzCampaign {
    /// What one campaign found.
    struct Tally: CustomStringConvertible {
        var kind: String
        var cases = 0
        var accepted = 0
        var rejected = 0
        var seconds = 0.0
        var slowestCaseSeconds = 0.0
        var slowestCase = 0
        /// Whether one case ran alone (`SHARDPLAN_FUZZ_CASE`), so that the campaign's proportions mean nothing.
        var rerun = false
        /// Rejections by `InputError.Kind`.
        var rejections: [InputError.Kind: Int] = [:]

        var description: String {
            let kinds = rejections.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ")
            return String(format: "%@: %d cases, %d accepted, %d rejected (%@), 0 crashes, %.1f s, slowest case %.3f s (case %d)",
                          kind, cases, accepted, rejected, kinds, seconds, slowestCaseSeconds, slowestCase)
        }
    }

    /// The name errors must carry when a check passes it to a decoder as the document's name.
    static let documentName = "fuzz.json"

    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// Cases to run: `SHARDPLAN_FUZZ_CASES` when set, else `defaultCount`.
    static func caseCount(default defaultCount: Int) -> Int {
        environment["SHARDPLAN_FUZZ_CASES"].flatMap(Int.init) ?? defaultCount
    }

    let kind: String
    /// Valid documents to start from.
    let documents: [JSONValue]
    /// Strings of the format, for the mutator.
    let vocabulary: [String]
    let seed: UInt64

    /// Whether cases keep to documents that parse, with sizes changed consistently most of the time: a
    /// campaign about what the search does with odd but valid inputs.
    let resizes: Bool

    init(kind: String, documents: [JSONValue], vocabulary: [String] = [], resizes: Bool = false, seed: UInt64) {
        self.kind = kind
        self.documents = documents
        self.vocabulary = vocabulary
        self.resizes = resizes
        self.seed = seed &+ (Self.environment["SHARDPLAN_FUZZ_SEED"].flatMap(UInt64.init) ?? 0) &* 1_000_003
    }

    /// Case `index` (a pure function of the seed and the index, so one case can be run again alone).
    func fuzzCase(_ index: Int) -> FuzzCase {
        let caseSeed = seed &* 6_364_136_223_846_793_005 &+ UInt64(index)
        var mutator = DocumentMutator(seed: caseSeed, vocabulary: vocabulary, resizing: resizes ? 8 : 2)
        let original = documents[index % documents.count]
        let document: FuzzDocument
        switch Int.random(in: 0..<(resizes ? 8 : 10), using: &mutator) {
        case 0...4: document = .value(mutator.mutate(original, count: Int.random(in: 1...3, using: &mutator)))
        case 5...7: document = .bytes(Array(JSONWriter.compact(mutator.mutate(original, count: Int.random(in: 1...3, using: &mutator))).utf8))
        default: document = .bytes(mutator.garble(Array(JSONWriter().render(original).utf8)))
        }
        return FuzzCase(index: index, document: document, original: index % documents.count, random: SplitMix64(seed: ~caseSeed))
    }

    /// Runs `cases` cases through `check`, which returns normally when the input is accepted and throws the
    /// `InputError` it is refused with. Every error is checked; the tally is returned (and reported). With
    /// `SHARDPLAN_FUZZ_CASE=N` only case N runs (to rerun the one a trace named).
    @discardableResult
    func run(cases: Int, _ check: (FuzzCase) throws(InputError) -> Void) -> Tally {
        let only = Self.environment["SHARDPLAN_FUZZ_CASE"].flatMap(Int.init)
        var tally = Tally(kind: kind)
        tally.rerun = only != nil
        let clock = ContinuousClock()
        let start = clock.now
        let trace = Self.environment["SHARDPLAN_FUZZ_TRACE"]
        for index in only.map({ [$0] }) ?? Array(0..<cases) {
            if let trace { try? "\(kind) seed \(seed) case \(index)\n".write(toFile: trace, atomically: false, encoding: .utf8) }
            let fuzzCase = fuzzCase(index)
            let caseStart = clock.now
            do throws(InputError) {
                try check(fuzzCase)
                tally.accepted += 1
            } catch {
                tally.rejected += 1
                tally.rejections[error.kind, default: 0] += 1
                Self.expectClear(error, in: fuzzCase.document, case: index, kind: kind)
            }
            let caseSeconds = Self.seconds(clock.now - caseStart)
            if caseSeconds > tally.slowestCaseSeconds { (tally.slowestCaseSeconds, tally.slowestCase) = (caseSeconds, index) }
            tally.cases += 1
        }
        tally.seconds = Self.seconds(clock.now - start)
        if let report = Self.environment["SHARDPLAN_FUZZ_REPORT"], let handle = FileHandle(forWritingAtPath: report) ?? Self.create(report) {
            handle.seekToEndOfFile()
            handle.write(Data((tally.description + "\n").utf8))
            try? handle.close()
        }
        return tally
    }

    /// An error a person can act on: one paragraph, attributed to the document when the check named it,
    /// saying something, at a path that is in the document (or a line and column of malformed JSON).
    static func expectClear(_ error: InputError, in document: FuzzDocument, case index: Int, kind: String) {
        let text = error.description
        let context = "\(kind) case \(index): \(text.prefix(300))"
        #expect(!text.contains("\n"), "one paragraph: \(context)")
        #expect(error.document == nil || error.document == documentName, "\(context)")
        #expect(error.message.count >= 12, "\(context)")
        if error.kind == .malformedJSON {
            #expect(error.message.contains("line ") && error.message.contains("column "), "\(context)")
            return
        }
        guard let parsed = try? document.parsed() else {
            Issue.record("the document parses, so the error is not about its syntax: \(context)")
            return
        }
        #expect(parsed.value(at: error.path) != nil, "the path is in the document: \(context)")
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }

    private static func create(_ path: String) -> FileHandle? {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        return FileHandle(forWritingAtPath: path)
    }
}
