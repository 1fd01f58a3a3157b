extension MegatronConfiguration {
    /// The tensor-parallel groups of this configuration that span NVLink domains of `cluster`, as device ranges.
    /// Megatron numbers its ranks tensor-innermost, so on the devices the configuration takes (the first
    /// `tp x cp x dp x pp`, all of the cluster's where dp is left to fill it) group g holds
    /// devices `g tp ..< (g + 1) tp`; a group whose devices sit in two domains runs its all-reduces and all-gathers
    /// over the network (`Cluster.collectiveGroup(devices:)`), and every layer waits for the slowest group. Empty where
    /// tp divides the domain's devices (or tp = 1).
    public func tensorGroupsAcrossDomains(on cluster: Cluster) -> [Range<Int>] {
        let tp = tensorParallel, domain = cluster.devicesPerDomain
        guard tp > 1, domain % tp != 0 else { return [] }
        let devices = deviceCount(on: cluster)
        return stride(from: 0, to: devices - tp + 1, by: tp).map { $0 ..< $0 + tp }
            .filter { $0.lowerBound / domain != ($0.upperBound - 1) / domain }
    }

    /// A sentence for `tensorGroupsAcrossDomains(on:)`, or nil where no group spans domains.
    public func tensorGroupsAcrossDomainsNote(on cluster: Cluster) -> String? {
        let spanning = tensorGroupsAcrossDomains(on: cluster)
        guard let first = spanning.first else { return nil }
        let domain = cluster.devicesPerDomain
        let total = deviceCount(on: cluster) / tensorParallel
        let which = tensorParallel > domain
            ? "tp = \(tensorParallel) is more than the \(domain) devices of an NVLink domain: every tensor-parallel group spans domains"
            : "\(spanning.count) of \(total) tensor-parallel groups of \(tensorParallel) span two NVLink domains of \(domain) devices (the first: devices \(first.lowerBound)-\(first.upperBound - 1))"
        return which + ", so their collectives run over the network and every layer waits for them; a tp that divides \(domain) keeps each group on NVLink"
    }

    /// The devices the configuration takes on `cluster`: `tp x cp x dp x pp`, or all of them where dp is left open.
    private func deviceCount(on cluster: Cluster) -> Int {
        min(dataParallel.map { tensorParallel * contextParallel * $0 * pipelineParallel } ?? cluster.deviceCount, cluster.deviceCount)
    }
}
