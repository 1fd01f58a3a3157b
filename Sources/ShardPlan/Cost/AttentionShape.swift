/// The sizes a fused attention op's kernels see on one device under a strategy: batch rows, queries, query heads,
/// head dimension and keys (its local index sizes), and how many query heads share each key/value head
/// (grouped-query attention; 1 where every query head has its own).
struct AttentionShape {
    var batch: Double
    var queries: Double
    var heads: Double
    var headDimension: Double
    var keys: Double
    var groupSize: Double

    /// The shape of attention op `operation` of `graph` whose index sizes on a device are `sizes`.
    init(_ operation: Operation, localSizes sizes: [Double], in graph: Graph) {
        let space = operation.indexSpace
        func size(_ name: String) -> Double { sizes[space.indices.firstIndex { $0.name == name }!] }
        (batch, queries, heads, headDimension, keys) = (size("batch"), size("query"), size("heads"), size("head_dim"), size("key"))
        groupSize = Double(graph[operation.inputs[0]].type.shape[2] / graph[operation.inputs[1]].type.shape[2])
    }
}
