/// The operator classes the rules' patterns name.
extension OperatorKind {
    /// An einsum without `...`, of any number of operands.
    static let contraction = OperatorKind(name: "einsum") { operation in
        if case .einsum(let equation) = operation.op { return EinsumTerms(equation) != nil }
        return false
    }
    /// An einsum of two operands without `...`: one GEMM (batched).
    static let binaryContraction = OperatorKind(name: "einsum of two operands") { operation in
        if case .einsum(let equation) = operation.op { return operation.inputs.count == 2 && EinsumTerms(equation) != nil }
        return false
    }
    static let transpose = OperatorKind(name: "transpose") { if case .transpose = $0.op { true } else { false } }
    static let reshape = OperatorKind(name: "reshape") { if case .reshape = $0.op { true } else { false } }
    static let slice = OperatorKind(name: "slice") { if case .slice = $0.op { true } else { false } }
    static let concat = OperatorKind(name: "concat") { if case .concat = $0.op { true } else { false } }
    static let scale = OperatorKind(name: "scale") { if case .scale = $0.op { true } else { false } }
    static let add = OperatorKind(name: "add") { $0.op == .binary(.add) }
    static let embedding = OperatorKind(name: "embedding") { $0.op == .embedding }
    /// An elementwise op: unary functions, cast, dropout, scale, binary functions and `where`.
    static let elementwise = OperatorKind(name: "elementwise") { $0.op.isElementwise }
    /// An op that returns its operand unchanged: `identity`, `dropout` of rate 0, `scale` by 1.
    static let identity = OperatorKind(name: "identity, dropout(0) or scale(1)") { operation in
        switch operation.op {
        case .unary(.identity), .dropout(rate: 0), .scale(factor: 1): true
        default: false
        }
    }
}

/// An einsum equation as one letter list per operand and one for the result, for rules that rewrite
/// equations; nil for an equation with `...` (the rules leave those alone).
struct EinsumTerms: Equatable {
    var operands: [[Character]]
    var result: [Character]

    init(operands: [[Character]], result: [Character]) {
        self.operands = operands
        self.result = result
    }

    init?(_ equation: EinsumEquation) {
        var operands: [[Character]] = []
        for term in equation.operands {
            var letters: [Character] = []
            for label in term {
                guard case .letter(let letter) = label else { return nil }
                letters.append(letter)
            }
            operands.append(letters)
        }
        var result: [Character] = []
        for label in equation.result {
            guard case .letter(let letter) = label else { return nil }
            result.append(letter)
        }
        self.operands = operands
        self.result = result
    }

    /// The equation these terms spell, explicit (`bd,df->bf`).
    var text: String { operands.map { String($0) }.joined(separator: ",") + "->" + String(result) }

    /// The einsum op these terms spell; a refusal when they are not a valid equation.
    var einsum: Operator {
        get throws(RewriteRefusal) {
            do { return .einsum(try EinsumEquation(text)) } catch { throw RewriteRefusal("einsum '\(text)': \(error.message)") }
        }
    }

    var letters: Set<Character> { Set(operands.joined()).union(result) }

    /// The first ASCII letter not in `used`.
    static func freshLetter(avoiding used: Set<Character>) -> Character? {
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".first { !used.contains($0) }
    }

    /// Each letter's size for operands of `types`; nil when a letter has two sizes (a size-1 dimension
    /// broadcast against a larger one), which the equation-rewriting rules do not handle.
    func sizes(_ types: [TensorType]) -> [Character: Int]? {
        var sizes: [Character: Int] = [:]
        for (term, type) in zip(operands, types) {
            guard term.count == type.rank else { return nil }
            for (letter, size) in zip(term, type.shape) {
                if let known = sizes[letter], known != size { return nil }
                sizes[letter] = size
            }
        }
        return sizes
    }
}

extension EinsumEquation {
    /// The terms of an equation known to have no `...` (a pattern checked it).
    var terms: EinsumTerms { EinsumTerms(self)! }
}

extension Operation {
    /// The einsum terms of a contraction the pattern accepted.
    var terms: EinsumTerms {
        guard case .einsum(let equation) = op else { preconditionFailure("\(name) is not an einsum") }
        return equation.terms
    }
}

/// The name of something that stands for several named things: their common dotted prefix, then what is
/// left of each joined by `+` (`h0.mlp.gate` and `h0.mlp.up` give `h0.mlp.gate+up`).
func mergedName(_ names: [String]) -> String {
    let parts = names.map { $0.split(separator: ".", omittingEmptySubsequences: false).map(String.init) }
    var common = 0
    while parts.allSatisfy({ $0.count > common + 1 }) && Set(parts.map { $0[common] }).count == 1 { common += 1 }
    let prefix = parts[0].prefix(common).map { $0 + "." }.joined()
    return prefix + parts.map { $0.dropFirst(common).joined(separator: ".") }.joined(separator: "+")
}
