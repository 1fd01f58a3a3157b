extension Graph {
    /// The parameters training leaves unchanged (`Value.isFrozen`), in `parameters` order.
    public var frozenParameters: [ValueID] { parameters.filter { self[$0].isFrozen } }

    /// Elements of `ids`, summed.
    public func elementCount(of ids: [ValueID]) -> Int { ids.reduce(0) { $0 + self[$1].type.elementCount } }
}
