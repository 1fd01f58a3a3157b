extension PlanEvaluator {
    /// Bytes each device sends over the link between pipeline ranks to all-reduce its `shardBytes` shard of a
    /// parameter's gradient with the copies of the other ranks that read the parameter, `ranks` in all (a ring):
    /// `2 (n - 1) / n` of the shard. `sharedParameterSynchronization` prices every rank's exchange with it, and the
    /// stage DP's oracle a candidate stage's (`StageSearchOracle`).
    static func sharedParameterExchangeBytes(shardBytes: Double, ranks: Int) -> Double {
        let n = Double(ranks)
        return 2 * (n - 1) / n * shardBytes
    }
}
