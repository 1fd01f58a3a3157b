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

    @Option(parsing: .unconditional, help: ArgumentHelp("Samples per iteration: set the graph's global batch, the batch_dim of every input and every tensor that carries it, before planning (default: the graph's).",
                               valueName: "N"))
    var batch: Int?

    @Option(name: .customLong("memory-limit"), parsing: .unconditional,
            help: ArgumentHelp("Plan and price as if each device had this many GB (10^9 bytes) of memory, at most its own: a plan must fit under it, leaving the rest as headroom (allocator fragmentation, NCCL's buffers, a CUDA graph's pool) beside the 3 GB the model always counts (default: the device's whole memory).",
                               valueName: "GB"))
    var memoryLimit: Double?

    /// `--memory-limit` in bytes (GB of 10^9 bytes), as a plan records it; nil where not given.
    var memoryLimitBytes: Double? { memoryLimit.map { $0 * 1e9 } }

    func validate() throws {
        if let batch, batch < 1 { throw ValidationError("--batch takes a positive number of samples, not \(batch).") }
        if let memoryLimit, !(memoryLimit > 0 && memoryLimit.isFinite) {
            throw ValidationError("--memory-limit takes a positive, finite number of GB, not \(memoryLimit).")
        }
    }

    /// The files this group reads, for `PlanOutput.refuseOverwriting`: the graph, and the cluster where it names a
    /// file rather than a preset.
    var inputFiles: [(what: String, path: String?)] {
        [("graph", graph), ("cluster file", clusterFile(named: cluster))]
    }

    /// The presets, then the JSON files of the current directory, that start with `prefix`.
    @Sendable static func clusterCompletions(prefix: String) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: ".")) ?? []
        return (ClusterPreset.all.map(\.name) + files.filter { $0.hasSuffix(".json") }.sorted())
            .filter { $0.hasPrefix(prefix) }
    }
}

extension ModelAndCluster {
    /// Reads and validates the graph (refusing one with nothing to train), sets its
    /// global batch to `--batch` where given, then resolves the cluster, timing the graph on `clock`. `rebatchedFrom` is the graph's own batch where `--batch` changed it.
    func load(_ clock: inout CommandClock) throws -> (graph: Graph, cluster: Cluster, rebatchedFrom: Int?) {
        var graph = try GraphLoading(self.graph).graph
        clock.lap("decode and validate graph")
        // A training step of a graph whose every weight is frozen, or that has no weight to train, updates nothing: it
        // is inference, which ShardPlan does not plan (its memory is not the saved activations of a training step). Only
        // a floating-point weight some op reads carries a gradient (`Graph.weightsCarryingGradients`): an integer or
        // unread one does not count.
        let carrying = graph.weightsCarryingGradients
        if carrying.allSatisfy({ graph[$0].isFrozen }) {
            let why = !carrying.isEmpty
                ? "every floating-point weight its ops read is frozen (\"trainable\": false)"
                : graph.parameters.isEmpty ? "it has no parameters"
                : "none of its \(graph.parameters.count) parameter\(graph.parameters.count == 1 ? "" : "s") is a floating-point weight an op reads"
            throw InputError(.invalidValue, at: JSONPath([.key("parameters")]),
                             "no parameter of \(graph.name) is trained: \(why), so a training step updates nothing; "
                             + "ShardPlan plans training: \(carrying.isEmpty ? "give an op a floating-point weight to train" : "leave at least one weight trainable")",
                             document: GraphLoading.documentName(self.graph))
        }
        var rebatchedFrom: Int?
        if let batch, batch != graph.batchSize {
            rebatchedFrom = graph.batchSize
            do {
                graph = try graph.rebatched(to: batch)
            } catch {
                throw error.inDocument(GraphLoading.documentName(self.graph))
            }
            clock.lap("rebatch graph (--batch)")
        }
        return (graph, try limited(warningOfMisspellings(in: cluster) { () throws(InputError) in try resolveCluster(cluster) }), rebatchedFrom)
    }

    /// `cluster` with each device's memory cut to `--memory-limit` where given (`Cluster.limitingDeviceMemory(toGB:)`, whose
    /// refusals are errors at `--memory-limit`), said in a note (the reports name the limit as the devices' memory).
    func limited(_ cluster: Cluster) throws(InputError) -> Cluster {
        guard let memoryLimit else { return cluster }
        let limited: Cluster
        do throws(InputError) {
            limited = try cluster.limitingDeviceMemory(toGB: memoryLimit)
        } catch {
            throw InputError(error.kind, at: JSONPath([.key("--memory-limit")]), error.message)
        }
        printError(String(format: "note: memory is checked against --memory-limit %g GB a device (each %@ has %.1f GB); the reports' device memory is the limit.",
                          memoryLimit, cluster.device.name, cluster.device.memoryBytes / 1e9))
        return limited
    }
}
