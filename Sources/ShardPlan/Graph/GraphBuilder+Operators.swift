/// Shorthands for adding common ops, so model builders read like the model.
extension GraphBuilder {
    @discardableResult
    public mutating func einsum(_ name: String, _ equation: String, _ operands: ValueID...) throws(InputError) -> ValueID {
        let parsed: EinsumEquation
        do { parsed = try EinsumEquation(equation) } catch {
            throw InputError(.invalidEinsum, at: operationPath(name).appending("equation"),
                             "einsum: bad equation '\(equation)': \(error.message)")
        }
        return try add(name, .einsum(parsed), operands)
    }

    @discardableResult
    public mutating func unary(_ name: String, _ function: UnaryFunction, _ operand: ValueID) throws(InputError) -> ValueID {
        try add(name, .unary(function), [operand])
    }

    @discardableResult
    public mutating func binary(_ name: String, _ function: BinaryFunction, _ lhs: ValueID, _ rhs: ValueID) throws(InputError) -> ValueID {
        try add(name, .binary(function), [lhs, rhs])
    }

    @discardableResult
    public mutating func reshape(_ name: String, _ operand: ValueID, _ shape: [Int]) throws(InputError) -> ValueID {
        try add(name, .reshape(shape: shape), [operand])
    }

    @discardableResult
    public mutating func layerNorm(_ name: String, _ x: ValueID, scale: ValueID, shift: ValueID) throws(InputError) -> ValueID {
        try add(name, .layerNorm(axes: [type(of: x).rank - 1]), [x, scale, shift])
    }

    @discardableResult
    public mutating func rmsNorm(_ name: String, _ x: ValueID, scale: ValueID) throws(InputError) -> ValueID {
        try add(name, .rmsNorm(axes: [type(of: x).rank - 1]), [x, scale])
    }

    @discardableResult
    public mutating func dropout(_ name: String, _ operand: ValueID, rate: Double) throws(InputError) -> ValueID {
        try add(name, .dropout(rate: rate), [operand])
    }

    @discardableResult
    public mutating func attention(_ name: String, q: ValueID, k: ValueID, v: ValueID, causal: Bool,
                                   window: Int? = nil, sinks: Bool = false) throws(InputError) -> ValueID {
        try add(name, .attention(causal: causal, window: window, sinks: sinks), [q, k, v])
    }
}
