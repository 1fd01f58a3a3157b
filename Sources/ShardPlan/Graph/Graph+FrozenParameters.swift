extension Graph {
    /// The parameters training leaves unchanged (`Value.isFrozen`), in `parameters` order.
    public var frozenParameters: [ValueID] { parameters.filter { self[$0].isFrozen } }

    /// The parameters a training step could update, frozen or not: floating-point ones some op reads (an integer or
    /// unread parameter carries no gradient, `GradientFlow`), in `parameters` order.
    public var weightsCarryingGradients: [ValueID] {
        let read = Set(operations.flatMap(\.inputs))
        return parameters.filter { self[$0].type.dtype.isFloatingPoint && read.contains($0) }
    }

    /// Elements of `ids`, summed.
    public func elementCount(of ids: [ValueID]) -> Int { ids.reduce(0) { $0 + self[$1].type.elementCount } }
}
