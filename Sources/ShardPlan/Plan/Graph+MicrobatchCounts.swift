extension Graph {
    /// The microbatch counts a search tries: `fixed` alone when given (it must divide the global batch),
    /// else every power of two up to `limit` that divides the batch, fewest first.
    public func microbatchCounts(fixed: Int?, limit: Int) throws(InputError) -> [Int] {
        let batch = batchSize ?? 1
        if let fixed {
            guard fixed >= 1, batch % fixed == 0 else {
                throw InputError(.invalidValue, at: JSONPath([.key("--microbatches")]),
                                 "the global batch \(batch) does not split into \(fixed) microbatches")
            }
            return [fixed]
        }
        return (0..<Int.bitWidth - 2).lazy.map { 1 << $0 }.prefix { $0 <= min(batch, limit) }.filter { batch % $0 == 0 }
    }
}
