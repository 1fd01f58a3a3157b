import Foundation

/// The graph documents under `Fixtures/graphs/`, read as bytes.
enum GraphFixture: String, CaseIterable, Sendable {
    /// The example of SPEC section 1, verbatim.
    case specMLP = "spec-mlp-2"
    /// One op of every kind of the catalog, with negative axes, a `-1` reshape, attributes given as
    /// single numbers and as pairs, and layer hints.
    case everyOp = "every-op"

    var bytes: [UInt8] {
        get throws {
            guard let url = Bundle.module.url(forResource: rawValue, withExtension: "json", subdirectory: "Fixtures/graphs") else {
                throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "Fixtures/graphs/\(rawValue).json"])
            }
            return Array(try Data(contentsOf: url))
        }
    }
}
