extension Graph {
    /// This graph with a global batch of `batch` samples per iteration: the same model trained on a larger or
    /// smaller batch, as `shardplan plan --batch N` plans it.
    ///
    /// The batch is the `batch_dim` of every input (SPEC section 1). It changes there and in every tensor that
    /// carries it, found as data parallelism finds it (`TensorRoles`: the inputs' batch dimensions followed
    /// through every op's index space), completed backwards: a tensor an op combines with the batch along
    /// one of its dimensions carries the batch too, so a `broadcast`, `iota` or `constant` that makes such a
    /// dimension from its shape attribute grows with the batch (a mask or position table broadcast to the
    /// batch), and what it feeds follows. The shape attributes of `reshape`, `broadcast`, `iota` and
    /// `constant` are rescaled along the dimension that carries the batch; every other shape follows from its
    /// operands. A dimension that carries the batch holds it as its outermost factor (`[batch x seq, hidden]`
    /// after a reshape that merges the two), and its size scales by `batch / batchSize`. Sizes alone decide
    /// nothing: a dimension that merely equals the batch (a rotary table's 8 frequency pairs when the batch is
    /// 8) is left as it is.
    ///
    /// Where the batch cannot change unambiguously the graph is refused, at the JSON path of the op or tensor
    /// at fault, the first in graph order where several are: a graph without inputs; a slice, concatenation or
    /// convolution window along the batch; a reshape that makes the batch an inner factor of a merged dimension
    /// or splits it over two; a parameter the batch would have to grow; a tensor carrying the batch along two
    /// dimensions; or a graph whose batch is 1, where a reshape cannot tell the batch from the other size-1
    /// dimensions.
    ///
    /// Scalar attributes are kept: a `reduce` mean over the batch averages the new batch, but a `scale` by
    /// `1 / batch` written into the graph stays what it was. A batch equal to the graph's returns the graph.
    public func rebatched(to batch: Int) throws(InputError) -> Graph {
        guard let current = batchSize else {
            throw InputError(.invalidValue, at: .root.appending("inputs"),
                             "cannot set the global batch to \(batch): the graph has no inputs, so no batch_dim to set")
        }
        let change = "cannot change the global batch from \(current) to \(batch)"
        guard batch >= 1 else { throw InputError(.invalidValue, at: .root, "\(change): a batch holds at least 1 sample") }
        guard batch != current else { return self }
        let carried = try BatchCarrier(self, change: change).dimensions
        for (id, value) in values.enumerated() {
            guard let dimension = carried[id], value.type.shape[dimension] % current != 0 else { continue }
            throw InputError(.shapeMismatch, at: path(of: ValueID(id)),
                             "\(change): dimension \(dimension) of \"\(value.name)\" \(value.type) meets the batch but its size is not a multiple of \(current), "
                             + "so the batch is not its outermost factor (a reshape split the batch over two dimensions)")
        }
        func rescaled(_ shape: [Int], _ id: ValueID) throws(InputError) -> [Int] {
            guard let dimension = carried[id.rawValue] else { return shape }
            // Checked here, before the builder sees the shape: a size that grows with the batch can overflow Int.
            let (size, overflow) = (shape[dimension] / current).multipliedReportingOverflow(by: batch)
            guard !overflow, size <= TensorType.maximumElementCount else {
                throw InputError(.invalidValue, at: path(of: id),
                                 "\(change): dimension \(dimension) of \"\(self[id].name)\" \(self[id].type) would hold \(shape[dimension] / current) x \(batch) elements, more than 2^53")
            }
            var shape = shape
            shape[dimension] = size
            return shape
        }
        var builder = GraphBuilder(name: name)
        // Values are added in the order they were defined, so every ValueID stays the same.
        for (offset, value) in values.enumerated() {
            let id = ValueID(offset)
            switch value.origin {
            case .input(let dimension):
                try builder.input(value.name, rescaled(value.type.shape, id), value.type.dtype, batchDimension: dimension)
            case .parameter:
                try builder.parameter(value.name, value.type.shape, value.type.dtype, trainable: !value.isFrozen)
            case .operation(let index):
                let operation = operations[index]
                let op: Operator
                switch operation.op {
                case .reshape(let shape): op = .reshape(shape: try rescaled(shape, id))
                case .broadcast(let shape, let dimensions): op = .broadcast(shape: try rescaled(shape, id), dimensions: dimensions)
                case .iota(let shape, let dimension, let dtype): op = .iota(shape: try rescaled(shape, id), dimension: dimension, dtype: dtype)
                case .constant(let shape, let dtype, let fill): op = .constant(shape: try rescaled(shape, id), dtype: dtype, value: fill)
                default: op = operation.op
                }
                do {
                    try builder.add(operation.name, op, operation.inputs, layer: operation.layer)
                } catch {
                    throw InputError(error.kind, at: error.path, "\(change): \(error.message)")
                }
            }
        }
        for output in outputs { builder.output(output) }
        return try builder.build()
    }

    /// The JSON path of a tensor's definition in `shardplan.graph/1`: its entry in `inputs`, `parameters` or `ops`.
    func path(of id: ValueID) -> JSONPath {
        let value = self[id]
        switch value.origin {
        case .input: return JSONPath.root.appending("inputs").appending(index: inputs.firstIndex(of: id)!, label: value.name)
        case .parameter: return JSONPath.root.appending("parameters").appending(index: parameters.firstIndex(of: id)!, label: value.name)
        case .operation(let index): return JSONPath.root.appending("ops").appending(index: index, label: value.name)
        }
    }
}

/// Which dimension of every tensor carries the batch, for `Graph.rebatched(to:)`: `TensorRoles`' forward
/// account, closed in both directions (an op that carries the batch on one index makes every operand and
/// result dimension on that index carry it) and checked to be unambiguous. The closure runs to its end past
/// any refusal, so that the one thrown is at the first offending op in graph order, whatever order the work
/// list took.
private struct BatchCarrier {
    /// For each value, the dimension that carries the batch, if one does.
    private(set) var dimensions: [Int?]
    /// For each op, the index of its iteration space that carries the batch, if one does.
    private var indices: [Int?]
    private let graph: Graph
    private let consumers: [[Int]]
    private let change: String
    private var pendingValues: [ValueID] = []
    private var pendingOperations: [Int] = []
    /// The refusal at the op of the lowest index met so far, and that index.
    private var firstRefusal: (index: Int, error: InputError)?

    init(_ graph: Graph, change: String) throws(InputError) {
        let roles = TensorRoles(graph)
        self.graph = graph
        self.change = change
        dimensions = roles.batchDimension
        indices = roles.batchIndex
        consumers = graph.consumers()
        pendingValues = graph.values.indices.filter { dimensions[$0] != nil }.map(ValueID.init)
        pendingOperations = graph.operations.indices.filter { indices[$0] != nil }
        while !pendingValues.isEmpty || !pendingOperations.isEmpty {
            if let id = pendingValues.popLast() {
                followValue(id)
            } else if let index = pendingOperations.popLast() {
                followOperation(index)
            }
        }
        if let firstRefusal { throw firstRefusal.error }
    }

    /// Every op that defines or reads `id` carries the batch on the index of `id`'s batch dimension.
    private mutating func followValue(_ id: ValueID) {
        let dimension = dimensions[id.rawValue]!
        if let producer = graph[id].operationIndex {
            carry(producer, graph.operations[producer].indexSpace.resultIndices[dimension], seenIn: id, dimension)
        }
        for consumer in consumers[id.rawValue] {
            let operation = graph.operations[consumer]
            for (operand, input) in operation.inputs.enumerated() where input == id {
                carry(consumer, operation.indexSpace.operandIndices[operand][dimension], seenIn: id, dimension)
            }
        }
    }

    /// Every operand and result dimension of op `index` on its batch index carries the batch.
    private mutating func followOperation(_ index: Int) {
        let operation = graph.operations[index], space = operation.indexSpace, batchIndex = indices[index]!
        var fromOperands = false
        for (operand, input) in operation.inputs.enumerated() {
            for (dimension, carried) in space.operandIndices[operand].enumerated() where carried == batchIndex {
                mark(input, dimension, by: index)
                fromOperands = true
            }
        }
        for (dimension, carried) in space.resultIndices.enumerated() where carried == batchIndex {
            mark(operation.result, dimension, by: index)
        }
        if !fromOperands && !operation.inputs.isEmpty {
            guard case .broadcast = operation.op else {
                return refuse(index, "its result carries the batch along a dimension none of its inputs has, and \(operation.op.kindName) takes its shape from its inputs")
            }
        }
    }

    /// Op `index` carries the batch on `batchIndex`, as dimension `dimension` of `id` says it must.
    private mutating func carry(_ index: Int, _ batchIndex: Int?, seenIn id: ValueID, _ dimension: Int) {
        let operation = graph.operations[index]
        let carrier = "dimension \(dimension) of \"\(graph[id].name)\" \(graph[id].type), which carries the batch"
        guard let batchIndex else {
            let reason = switch operation.op {
            case .slice: "slice cuts \(carrier) at fixed positions"
            case .concat: "concat joins tensors along \(carrier), at fixed positions"
            case .reshape: "reshape cannot follow \(carrier): a batch of 1 is one of the size-1 dimensions a reshape adds and drops at will"
            default: "\(operation.op.kindName) broadcasts \(carrier) from size 1 or slides a window along it"
            }
            return refuse(index, reason + ", so its size cannot follow the batch")
        }
        if case .unsplittable = operation.indexSpace.indices[batchIndex].role {
            return refuse(index, "\(operation.op.kindName) holds \(carrier) as an inner factor of a merged dimension or a window, so changing its size would reorder elements")
        }
        switch indices[index] {
        case nil:
            indices[index] = batchIndex
            pendingOperations.append(index)
        case batchIndex?:
            break
        case _?:
            refuse(index, "\(operation.op.kindName) meets the batch along two different indices (\(carrier), and another operand's or its result's)")
        }
    }

    /// Dimension `dimension` of `id` carries the batch, because op `index` says so.
    private mutating func mark(_ id: ValueID, _ dimension: Int, by index: Int) {
        let value = graph[id]
        switch dimensions[id.rawValue] {
        case dimension?:
            return
        case let other?:
            refuse(index, "it would make \"\(value.name)\" \(value.type) carry the batch along dimension \(dimension) as well as \(other)")
        case nil:
            guard !value.isParameter else {
                return refuse(index, "it combines dimension \(dimension) of parameter \"\(value.name)\" \(value.type) with the batch, and a parameter does not grow with the batch")
            }
            dimensions[id.rawValue] = dimension
            pendingValues.append(id)
        }
    }

    /// Op `index` cannot follow the batch, for `reason`: kept if it comes before every op refused so far.
    private mutating func refuse(_ index: Int, _ reason: String) {
        guard firstRefusal.map({ index < $0.index }) ?? true else { return }
        firstRefusal = (index, InputError(.invalidValue, at: graph.path(of: graph.operations[index].result), "\(change): \(reason)"))
    }
}
