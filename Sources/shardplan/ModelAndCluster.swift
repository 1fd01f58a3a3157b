import ArgumentParser
import ShardPlan

/// The arguments every planning command starts with: the graph and the cluster it runs on.
struct ModelAndCluster: ParsableArguments {
    @Argument(help: "A shardplan.graph/1 file, or - for standard input.")
    var graph: String

    @Option(help: "A cluster preset (dgx-a100-80g:8) or a shardplan.cluster/1 file.")
    var cluster: String
}

extension ModelAndCluster {
    /// Reads and validates the graph, then resolves the cluster, timing the graph on `clock`.
    func load(_ clock: inout CommandClock) throws -> (graph: Graph, cluster: Cluster) {
        let graph = try GraphLoading(self.graph).graph
        clock.lap("decode and validate graph")
        return (graph, try resolveCluster(cluster))
    }
}
