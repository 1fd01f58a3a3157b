import ArgumentParser
import Foundation
import ShardPlan

/// The arguments every planning command starts with: the graph and the cluster it runs on.
struct ModelAndCluster: ParsableArguments {
    @Argument(help: "A shardplan.graph/1 file (Models/gpt3-175b.json), or - for standard input.",
              completion: .file(extensions: ["json"]))
    var graph: String

    @Option(help: ArgumentHelp("A cluster preset (dgx-a100-80g:8 is 8 nodes; `shardplan clusters` lists them) or a shardplan.cluster/1 file.",
                               valueName: "preset[:nodes]|file"),
            completion: .custom { _, _, prefix in ModelAndCluster.clusterCompletions(prefix: prefix) })
    var cluster: String

    /// The presets, then the JSON files of the current directory, that start with `prefix`.
    @Sendable static func clusterCompletions(prefix: String) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: ".")) ?? []
        return (ClusterPreset.all.map(\.name) + files.filter { $0.hasSuffix(".json") }.sorted())
            .filter { $0.hasPrefix(prefix) }
    }
}

extension ModelAndCluster {
    /// Reads and validates the graph, then resolves the cluster, timing the graph on `clock`.
    func load(_ clock: inout CommandClock) throws -> (graph: Graph, cluster: Cluster) {
        let graph = try GraphLoading(self.graph).graph
        clock.lap("decode and validate graph")
        return (graph, try resolveCluster(cluster))
    }
}
