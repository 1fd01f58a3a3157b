/// One op of a graph: what it computes, on which tensors, and the tensor it defines.
public struct Operation: Sendable, Equatable {
    /// The op's name, which is also the name of its result tensor.
    public var name: String
    public var op: Operator
    public var inputs: [ValueID]
    public var result: ValueID
    /// The `layer` hint, if the graph gave one.
    public var layer: String?
    /// The op as an iteration space of indices, derived from its operand shapes.
    public var indexSpace: IndexSpace

    public init(name: String, op: Operator, inputs: [ValueID], result: ValueID, layer: String?, indexSpace: IndexSpace) {
        self.name = name
        self.op = op
        self.inputs = inputs
        self.result = result
        self.layer = layer
        self.indexSpace = indexSpace
    }
}
