extension DeviceMesh {
    /// Seconds `collective` takes on this mesh (alpha-beta, along its axes).
    public func seconds(for collective: Collective) -> Double {
        let axes = collective.axes.sorted()
        switch collective.kind {
        case .allReduce: return allReduceSeconds(bytes: collective.bytes, alongAxes: axes)
        case .allGather: return allGatherSeconds(bytes: collective.bytes, alongAxes: axes)
        case .reduceScatter: return reduceScatterSeconds(bytes: collective.bytes, alongAxes: axes)
        case .allToAll:
            // `Collective.bytes` is each device's buffer; the cluster prices the whole re-split tensor.
            let bytes = collective.bytes * Double(size(ofAxes: axes))
            guard let dispatch = collective.dispatch else { return allToAllSeconds(bytes: bytes, alongAxes: axes) }
            return collectiveGroup(alongAxes: axes).deduplicatedAllToAllSeconds(bytes: bytes, dispatch: dispatch)
        case .sendReceive:
            return allGatherSeconds(bytes: collective.bytes * 2, alongAxes: axes)
        }
    }
}
