import Foundation

/// The members a document's decoders asked for, object by object, while a decode runs with a log bound
/// (`MemberReads.collecting`): what `JSONReader` was asked (`contains`, every typed accessor) beside what each
/// object holds. ShardPlan's formats ignore members they do not know, so that other tools can add theirs; a
/// member that is not read but is spelled almost like one the decoder asked for and did not find
/// (`devices_per_nvlink_domian`) is most likely a typo that changes the result in silence, and `misspellings`
/// lists it with the member it resembles.
public final class MemberReads: @unchecked Sendable {
    /// The log the running decode records into; nil (no recording) unless `collecting` binds one.
    @TaskLocal static var current: MemberReads?

    /// One object read: its members, those asked for, and whether a decoder took the whole object (a map keyed
    /// by names the document chooses, such as a plan's `zero_stages`). Changed only under its log's lock.
    fileprivate final class ObjectRead: @unchecked Sendable {
        var path: JSONPath
        let members: JSONObject
        var asked: Set<String> = []
        var wholeObject = false
        init(path: JSONPath, members: JSONObject) {
            self.path = path
            self.members = members
        }
    }

    /// What a reader records into: its log and its object's entry, found once when the reader is made, so that
    /// a member access costs a set insertion under an uncontended lock rather than a look-up of the task-local
    /// log and of the object's path (which doubled a large graph's decode).
    struct Recorder {
        fileprivate let log: MemberReads
        fileprivate let object: ObjectRead

        /// Member `member` of the object was asked for.
        func asked(_ member: String) {
            log.lock.withLock { _ = object.asked.insert(member) }
        }

        /// The object was taken whole: every member counts as read.
        func tookWhole() {
            log.lock.withLock { object.wholeObject = true }
        }
    }

    private let lock = NSLock()
    /// By the object's path without element labels (a graph's op is read by two readers, one labelled).
    private var objects: [JSONPath: ObjectRead] = [:]
    private var order: [ObjectRead] = []
    /// The misspellings of other documents the decode read (`separately`), in the order found, each once.
    private var nested: [Misspelling] = []

    private init() {}

    /// Runs `body` (a document's decode) with a log bound, and returns its result with the misspellings found.
    public static func collecting<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> (Result, [Misspelling]) {
        let log = MemberReads()
        let outcome = $current.withValue(log) { Swift.Result { () throws(Failure) -> Result in try body() } }
        return (try outcome.get(), log.misspellings())
    }

    /// Runs `body`, the decode of another document (`document`, a file a row names) that the running decode reads,
    /// with a log of its own, so that its members are not taken for the outer document's at the same paths; its
    /// misspellings join the running log's, naming `document`. Without a log bound it only runs `body`.
    public static func separately<Result, Failure: Error>(document: String, _ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        guard let outer = current else { return try body() }
        let (result, misspellings) = try collecting(body)
        outer.lock.withLock {
            for var misspelling in misspellings {
                misspelling.document = misspelling.document ?? document
                if !outer.nested.contains(misspelling) { outer.nested.append(misspelling) }
            }
        }
        return result
    }

    /// A reader was made for `object` at `path`: the recorder of the log bound, if any, for its reads.
    static func opened(_ path: JSONPath, object: JSONObject) -> Recorder? {
        guard let log = current else { return nil }
        let key = path.unlabelled
        let read = log.lock.withLock { () -> ObjectRead in
            if let read = log.objects[key] {
                if case .index(_, let label?)? = path.components.last { read.path = path.labelled(label) }
                return read
            }
            let read = ObjectRead(path: path, members: object)
            log.objects[key] = read
            log.order.append(read)
            return read
        }
        return Recorder(log: log, object: read)
    }

    /// A member no decoder read, spelled like one it asked for and did not find.
    public struct Misspelling: Sendable, Equatable, CustomStringConvertible {
        /// The member's path in the document.
        public var path: JSONPath
        /// The member as the document spells it.
        public var member: String
        /// The member the decoder asked for.
        public var suggestion: String
        /// The document that holds it where that is another than the one decoded (a cluster file a row names,
        /// `separately`); nil for the decoded document itself.
        public var document: String?

        public var description: String {
            "\(path): not a member ShardPlan reads (did you mean \"\(suggestion)\"?); it is ignored, as every unknown member is"
        }
    }

    /// The unread members that resemble an absent member the decoder asked for, in document order, then those of
    /// the other documents it read.
    func misspellings() -> [Misspelling] {
        lock.withLock {
            let own = order.flatMap { object -> [Misspelling] in
                guard !object.wholeObject else { return [] }
                let members = object.members.keys
                let absent = object.asked.subtracting(members).sorted()
                return members.filter { !object.asked.contains($0) }.compactMap { member in
                    Self.nearest(to: member, among: absent).map {
                        Misspelling(path: object.path.appending(member), member: member, suggestion: $0)
                    }
                }
            }
            return own + nested
        }
    }

    /// The candidate `member` is most likely a misspelling of: the same letters and digits up to case, `_` and
    /// `-`, else at most one edit away (two for names of eight characters or more), counting a swap of neighbours
    /// as one edit, else an abbreviation of it (its letters in order, from the same first letter, at least 60% as
    /// many: `allreduce_busbw_gb_per_s` for `allreduce_bus_bandwidth_gb_per_s`); nil where none is that close, or
    /// two are equally close.
    static func nearest(to member: String, among candidates: [String]) -> String? {
        func folded(_ text: String) -> [Character] { text.lowercased().filter { $0 != "_" && $0 != "-" } }
        let word = folded(member)
        var best: (name: String, distance: Int)?
        var tied = false
        for candidate in candidates {
            let name = folded(candidate)
            var distance = editDistance(word, name)
            if distance > (max(word.count, name.count) >= 8 ? 2 : 1) {
                // An abbreviation ranks after every near spelling.
                guard isAbbreviation(word, of: name) else { continue }
                distance = Int.max
            }
            if let current = best, distance >= current.distance {
                if distance == current.distance { tied = true }
                continue
            }
            best = (candidate, distance)
            tied = false
        }
        return tied ? nil : best?.name
    }

    /// Whether `short` keeps `long`'s letters in order, starting with its first, and at least 60% of them.
    static func isAbbreviation(_ short: [Character], of long: [Character]) -> Bool {
        guard let first = short.first, first == long.first, short.count < long.count, 5 * short.count >= 3 * long.count else { return false }
        var rest = long[...]
        for character in short {
            guard let found = rest.firstIndex(of: character) else { return false }
            rest = rest[rest.index(after: found)...]
        }
        return true
    }

    /// Edits (insertions, deletions, substitutions, swaps of neighbouring characters) that turn `a` into `b`.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var twoBack = [Int](), previous = Array(0 ... b.count)
        for i in 1 ... a.count {
            var row = [i] + Array(repeating: 0, count: b.count)
            for j in 1 ... b.count {
                row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { row[j] = min(row[j], twoBack[j - 2] + 1) }
            }
            twoBack = previous
            previous = row
        }
        return previous[b.count]
    }
}

extension JSONPath {
    /// This path with no element labels: one object's path however its readers label it.
    var unlabelled: JSONPath {
        JSONPath(components.map { component in
            guard case .index(let index, _) = component else { return component }
            return .index(index, label: nil)
        })
    }
}
