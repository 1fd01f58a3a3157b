/// A parsed einsum equation such as `bsd,df->bsf`: one label list per operand and one for the result.
///
/// Labels are single letters; `...` stands for broadcast dimensions (NumPy's ellipsis). Without `->` the
/// result is, as in NumPy, the ellipsis followed by the labels used exactly once, in alphabetical order.
public struct EinsumEquation: Sendable, Equatable, CustomStringConvertible {
    /// One position of a term: a letter, or the ellipsis.
    public enum Label: Sendable, Equatable {
        case letter(Character)
        case ellipsis
    }

    public var operands: [[Label]]
    public var result: [Label]
    /// The equation as written.
    public var text: String

    public var description: String { text }

    /// Parses `text`; the message of the error says what is wrong with the equation.
    public init(_ text: String) throws(EinsumSyntaxError) {
        self.text = text
        let compact = text.filter { !$0.isWhitespace }
        let sides = compact.components(separatedBy: "->")
        guard sides.count <= 2 else { throw EinsumSyntaxError("an equation has at most one '->'") }
        let left = sides[0]
        guard !left.isEmpty else { throw EinsumSyntaxError("the equation has no operand terms before '->'") }
        operands = try left.split(separator: ",", omittingEmptySubsequences: false).map {
            term throws(EinsumSyntaxError) in try Self.parseTerm(String(term))
        }
        if sides.count == 2 {
            result = try Self.parseTerm(sides[1])
            var seen = Set<Character>()
            for case .letter(let letter) in result where !seen.insert(letter).inserted {
                throw EinsumSyntaxError("result label '\(letter)' appears twice")
            }
            let operandLetters = Set(operands.flatMap { $0 }.compactMap { if case .letter(let l) = $0 { l } else { nil } })
            for case .letter(let letter) in result where !operandLetters.contains(letter) {
                throw EinsumSyntaxError("result label '\(letter)' appears in no operand")
            }
            if result.contains(.ellipsis) && !operands.contains(where: { $0.contains(.ellipsis) }) {
                throw EinsumSyntaxError("the result has '...' but no operand does")
            }
        } else {
            var counts: [Character: Int] = [:]
            for case .letter(let letter) in operands.flatMap({ $0 }) { counts[letter, default: 0] += 1 }
            let once = counts.filter { $0.value == 1 }.map(\.key).sorted()
            let hasEllipsis = operands.contains { $0.contains(.ellipsis) }
            result = (hasEllipsis ? [.ellipsis] : []) + once.map { .letter($0) }
        }
    }

    private static func parseTerm(_ term: String) throws(EinsumSyntaxError) -> [Label] {
        var labels: [Label] = []
        var characters = Array(term)[...]
        while let first = characters.first {
            if first == "." {
                guard characters.starts(with: ["." as Character, ".", "."]) else {
                    throw EinsumSyntaxError("'.' must be part of an ellipsis '...' in term '\(term)'")
                }
                guard !labels.contains(.ellipsis) else { throw EinsumSyntaxError("term '\(term)' has two ellipses") }
                labels.append(.ellipsis)
                characters = characters.dropFirst(3)
            } else if first.isLetter && first.isASCII {
                labels.append(.letter(first))
                characters = characters.dropFirst()
            } else {
                throw EinsumSyntaxError("invalid character '\(first)' in term '\(term)'; labels are ASCII letters")
            }
        }
        return labels
    }
}

/// Why an einsum equation could not be parsed.
public struct EinsumSyntaxError: Error, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}
