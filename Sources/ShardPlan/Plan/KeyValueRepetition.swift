/// Grouped-query attention written with its key/value heads copied to every query head before the attention op:
/// Hugging Face's `repeat_kv` (`x[:, :, None].expand(b, kv, r, s, d).reshape(b, kv * r, s, d)`), `repeat_interleave`
/// over the heads, torchtitan's mid-2024 `repeat_kv`. In the graph the heads axis is then a `reshape` merging a key/value
/// heads axis with a `broadcast` axis after it, reached through data movement (`transpose`, `reshape`, `identity`,
/// `cast`). Frameworks split such a model by its key/value heads (`AttentionHeads`), so the planner counts those.
enum KeyValueRepetition {
    /// How many times each entry of axis `axis` of `value` is a copy of one before: the product of the broadcast axes
    /// that a reshape merged into it after the axes carrying the entries (all of it where none carries any: one
    /// key/value head, multi-query attention); nil where `axis` is no such merge. A
    /// broadcast axis before a carrying one (`x.repeat(1, r, 1, 1)`, which tiles the heads so query head h reads
    /// key/value head h mod kv) is not read as groups: whole groups of consecutive query heads do not share one.
    static func copies(ofAxis axis: Int, of value: ValueID, in graph: Graph) -> Int? {
        var axes = [axis], value = value
        while let producer = graph.producer(of: value) {
            let input = producer.inputs.first.map { graph[$0].type.shape } ?? []
            switch producer.op {
            case .transpose(let permutation):
                axes = axes.map { permutation[$0] }
                guard axes == Array(axes[0] ... axes[0] + axes.count - 1) else { return nil }
            case .unary(.identity), .cast:
                break
            case .reshape:
                guard let merged = mergedAxes(axes, from: input, to: graph[value].type.shape) else { return nil }
                axes = merged
            case .broadcast(let shape, let dimensions):
                let carried = axes.filter { shape[$0] > 1 }
                let copied = carried.filter { axis in dimensions.firstIndex(of: axis).map { input[$0] == 1 } ?? true }
                guard let first = copied.first, carried.allSatisfy({ copied.contains($0) || $0 < first }) else { return nil }
                return copied.reduce(1) { $0 * shape[$1] }
            default:
                return nil
            }
            value = producer.inputs[0]
        }
        return nil
    }

    /// The axes of `input` whose elements a reshape to `output` lays along output axes `axes` (consecutive): those
    /// between the two places where the products of the leading axes of both shapes agree; nil where they never do
    /// (the reshape splits an input axis across the span's edge).
    static func mergedAxes(_ axes: [Int], from input: [Int], to output: [Int]) -> [Int]? {
        guard let first = axes.first, let last = axes.last else { return nil }
        let before = output[..<first].reduce(1, *), through = output[...last].reduce(1, *)
        var product = 1, start: Int?
        for (index, size) in input.enumerated() {
            if product == before, start == nil { start = index }
            product *= size
            if product == through, let start { return Array(start ... index) }
            if product > through { return nil }
        }
        return nil
    }
}
