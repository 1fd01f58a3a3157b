import ArgumentParser
import ShardPlan

/// `clusters NAME --collective`: the nccl-tests test to predict, spelled as its binary is (`all_reduce`, from
/// `all_reduce_perf`) or with hyphens (`all-reduce`); `alltoall` as nccl-tests spells it.
struct CollectiveChoice: ExpressibleByArgument, Equatable {
    let kind: CollectiveKind

    init(kind: CollectiveKind) { self.kind = kind }

    init?(argument: String) {
        let spelled = argument == "alltoall" ? "all_to_all" : argument.replacingOccurrences(of: "-", with: "_")
        guard let kind = CollectiveKind(rawValue: spelled), Cluster.predictableCollectives.contains(kind) else { return nil }
        self.kind = kind
    }

    var defaultValueDescription: String { kind.rawValue.replacingOccurrences(of: "_", with: "-") }

    static var allValueStrings: [String] {
        Cluster.predictableCollectives.map { $0.rawValue.replacingOccurrences(of: "_", with: "-") }
    }
}
