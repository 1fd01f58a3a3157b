extension Graph {
    /// The microbatch counts a search tries at least: `fixed` alone when given (it must divide the global batch),
    /// else every power of two up to `limit` that divides the batch, fewest first.
    public func microbatchCounts(fixed: Int?, limit: Int) throws(InputError) -> [Int] {
        let batch = batchSize ?? 1
        if let fixed {
            guard fixed >= 1, batch % fixed == 0 else {
                throw InputError(.invalidValue, at: JSONPath([.key("microbatches")]),
                                 "the global batch \(batch) does not split into \(fixed) microbatches")
            }
            return [fixed]
        }
        return (0..<Int.bitWidth - 2).lazy.map { 1 << $0 }.prefix { $0 <= min(batch, limit) }.filter { batch % $0 == 0 }
    }

    /// The microbatch counts that give `devices` devices, split into data-parallel replicas of a power-of-two
    /// number of devices each, a whole power-of-two number of sequences per replica, as Megatron-LM's
    /// micro-batch size does: `batch / (devices / t x s)` for every power of two t dividing `devices` and every
    /// power of two s, keeping those of at least `atLeast`, divisible by `multipleOf` and at most `limit`. The
    /// powers of two miss these where the batch or the device count has odd factors: 192 sequences on 64
    /// devices reach 3 microbatches (one sequence a device), 2,160 on 160 devices reach 27, 54, 108, 216 and
    /// 432.
    static func wholeSequenceCounts(batch: Int, devices: Int, atLeast: Int = 1, multipleOf: Int = 1, limit: Int) -> Set<Int> {
        var counts: Set<Int> = []
        for replicaDevices in (0..<Int.bitWidth - 2).lazy.map({ 1 << $0 }).prefix(while: { $0 <= devices }) where devices % replicaDevices == 0 {
            let replicas = devices / replicaDevices
            var sequences = 1
            while replicas * sequences <= batch {
                let count = batch / (replicas * sequences)
                if batch % (replicas * sequences) == 0 && count >= atLeast && count <= limit && count % multipleOf == 0 {
                    counts.insert(count)
                }
                sequences *= 2
            }
        }
        return counts
    }
}
