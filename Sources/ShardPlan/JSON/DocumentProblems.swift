/// The problems found while reading one document, of which the first in document order is the one
/// reported: a decoder may check a document's members in whatever order its logic needs (an op's layout
/// needs the stage's mesh, whichever is written first) and still tell the person about the mistake they
/// would meet first reading the file from the top.
///
/// A check that involves several members reports its problem at the one written last (`latest(_:)`): only
/// there does the document become inconsistent. A check whose inputs could not be read is skipped, since the
/// problem that spoiled them comes no later than its own would.
struct DocumentProblems {
    /// The document the paths point into.
    let document: JSONValue
    /// The problem that comes first in the document, if any was found.
    private(set) var first: InputError?
    private var firstPosition: [Int] = []

    init(in document: JSONValue) { self.document = document }

    /// Keeps `error` if it comes before every problem found so far.
    mutating func record(_ error: InputError) {
        let position = error.path.documentPosition(in: document)
        if first == nil || position.lexicographicallyPrecedes(firstPosition) {
            first = error
            firstPosition = position
        }
    }

    /// The result of `read`, or nil once the problem it throws is recorded.
    mutating func attempt<Result>(_ read: () throws(InputError) -> Result) -> Result? {
        do {
            return try read()
        } catch {
            record(error)
            return nil
        }
    }

    /// Of `paths`, the one whose value ends last in the document.
    func latest(_ paths: [JSONPath]) -> JSONPath {
        JSONPath.latest(paths, in: document)
    }

    /// Throws the first problem, if any was found.
    func throwFirst() throws(InputError) {
        if let first { throw first }
    }
}
