import Foundation

/// Something wrong in what a user gave ShardPlan (a graph, a cluster, a plan, or a command-line value):
/// what kind of mistake, where it is, and a message written for the person at the terminal.
///
/// Every input problem ShardPlan reports is one of these (the loading initialisers, such as
/// `Graph.init(jsonBytes:document:)`, report malformed JSON as one too, of kind `malformedJSON`); the command line
/// prints `description` and exits with code 1. `localizedDescription` is `description` as well.
public struct InputError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    /// The class of mistake, for callers and tests that react to it.
    public enum Kind: String, Sendable, Equatable {
        /// The text is not valid JSON.
        case malformedJSON
        /// The `format` member is missing or names a format this version does not read.
        case unsupportedFormat
        /// A required member is absent.
        case missingField
        /// A member holds the wrong JSON type.
        case wrongType
        /// A member's value is out of range or otherwise invalid (a zero dimension, a negative rate).
        case invalidValue
        /// An op kind that is not in the catalog.
        case unknownOperator
        /// A name used twice.
        case duplicateName
        /// A reference to a name that is not defined before it (undefined, forward reference or cycle).
        case undefinedName
        /// Operand shapes that break an op's rule.
        case shapeMismatch
        /// Operand element types that break an op's rule.
        case dtypeMismatch
        /// An einsum equation that cannot be parsed or does not fit its operands.
        case invalidEinsum
        /// A cluster, preset or plan that names something unknown or is inconsistent.
        case invalidReference
    }

    public var kind: Kind
    /// Which document (a file path, `-` for standard input, or a preset name); nil when unknown.
    public var document: String?
    /// Where in the document.
    public var path: JSONPath
    /// What is wrong, and when it helps, what would be right.
    public var message: String

    public init(_ kind: Kind, at path: JSONPath, _ message: String, document: String? = nil) {
        self.kind = kind
        self.path = path
        self.message = message
        self.document = document
    }

    /// This error attributed to a document (a file name), unless it already is.
    public func inDocument(_ name: String) -> InputError {
        var copy = self
        if copy.document == nil { copy.document = name }
        return copy
    }

    public var description: String {
        var text = ""
        if let document { text += "\(document): " }
        if !path.components.isEmpty { text += "\(path): " }
        return text + message
    }

    /// `description`, so that `error.localizedDescription` gives the message.
    public var errorDescription: String? { description }
}
