/// A bias added to a linear layer's output: the add, the bias parameter and the broadcast op between them
/// (if any), and whether the bias is the add's first operand.
struct BiasAdd {
    var add: Int
    var bias: ValueID
    var broadcast: Int?
    var biasFirst: Bool

    /// The bias add's operands for a new output `value` and bias `bias` (the add broadcasts the bias).
    func operands(_ value: RewriteValue, _ bias: RewriteValue) -> [RewriteValue] { biasFirst ? [bias, value] : [value, bias] }

    /// Removes the add, the broadcast and, when `parameter`, the bias parameter.
    func remove(from builder: inout RewriteBuilder, parameter: Bool = true) {
        builder.remove(add)
        if let broadcast { builder.remove(broadcast) }
        if parameter { builder.removeParameter(bias) }
    }
}

/// Pieces of linear layers the contraction rules look for around an einsum.
extension RewriteContext {
    /// The bias add that alone reads contraction `index`'s result, when there is one: `add(y, b)` or
    /// `add(b, y)` with `b` a parameter only it reads, broadcast over y's leading dimensions, either by the
    /// add itself or by a `broadcast` op that only adds leading size-1 dimensions (as JAX exports a bias).
    func biasAdd(of index: Int) -> BiasAdd? {
        let result = operation(index).result
        guard let reader = readers(of: result).first, isOnlyReader(reader, of: result),
              operation(reader).op == .binary(.add) else { return nil }
        let inputs = operation(reader).inputs
        guard inputs.count == 2, inputs[0] != inputs[1], var bias = inputs.first(where: { $0 != result }) else { return nil }
        var broadcast: Int?
        if let producer = graph[bias].operationIndex, case .broadcast(let shape, let dimensions) = operation(producer).op,
           isOnlyReader(reader, of: bias) {
            let source = operation(producer).inputs[0]
            let rank = type(source).rank
            guard dimensions == Array((shape.count - rank)..<shape.count), shape.dropLast(rank).allSatisfy({ $0 == 1 }),
                  Array(shape.suffix(rank)) == type(source).shape else { return nil }
            broadcast = producer
            bias = source
        }
        guard graph[bias].isParameter, readers(of: bias) == [broadcast ?? reader] else { return nil }
        let shape = type(result).shape, biasShape = type(bias).shape
        guard biasShape.count <= shape.count, Array(shape.suffix(biasShape.count)) == biasShape,
              type(operation(reader).result) == type(result) else { return nil }
        return BiasAdd(add: reader, bias: bias, broadcast: broadcast, biasFirst: inputs[0] != result)
    }

    /// The value a linear layer's readers see: its bias add's result when it has one, else the contraction's.
    func linearOutput(of index: Int) -> ValueID {
        biasAdd(of: index).map { operation($0.add).result } ?? operation(index).result
    }

    /// The slices that alone read `value`, when they cut one axis of it into consecutive pieces covering it
    /// (sorted by start), and there are two or more.
    func partition(of value: ValueID) -> (axis: Int, slices: [Int])? {
        let readers = readers(of: value)
        guard readers.count >= 2, !graph.outputs.contains(value) else { return nil }
        var axis: Int?
        var pieces: [(start: Int, end: Int, op: Int)] = []
        for reader in readers {
            guard case .slice(let sliceAxis, let start, let end, nil) = operation(reader).op, axis == nil || axis == sliceAxis else { return nil }
            axis = sliceAxis
            pieces.append((start, end, reader))
        }
        pieces.sort { ($0.start, $0.op) < ($1.start, $1.op) }
        var next = 0
        for piece in pieces {
            guard piece.start == next else { return nil }
            next = piece.end
        }
        guard let axis, next == type(value).shape[axis] else { return nil }
        return (axis, pieces.map(\.op))
    }
}
