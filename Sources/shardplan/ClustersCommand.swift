import ArgumentParser
import ShardPlan

/// `shardplan clusters [NAME]`: the built-in clusters and their figures, or with `--collective` what the collective
/// model predicts for an nccl-tests run on NAME.
struct ClustersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clusters",
        abstract: "List the built-in cluster presets with their figures, or show one cluster in full.",
        discussion: "With NAME (a preset, NAME:K for K nodes, or a shardplan.cluster/1 file) shows that cluster's figures; with --format json prints it as a cluster file to edit. "
            + "With NAME and --collective, prints what the collective model predicts for that nccl-tests test on NAME, one line a message size as nccl-tests prints them: "
            + "time, algbw, busbw, and the algorithm, protocol and links the model picks (Docs/clusters.md, \"Predicted collectives\"); "
            + "--ranks-per-node 1 predicts nccl-tests run one GPU a node (mpirun -N 1)."
    )

    @Argument(help: "A preset (dgx-h100, dgx-h100:4) or cluster file to show in full.")
    var name: String?

    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    @Option(help: ArgumentHelp("Print the model's prediction for this nccl-tests collective on NAME instead of its figures.", valueName: "collective"))
    var collective: CollectiveChoice?

    // Unconditional: `--ranks -3` reaches validate() and its message rather than reading -3 as an option.
    @Option(parsing: .unconditional, help: ArgumentHelp("With --collective, the ranks taking part: the first N devices, inside one node (NVLink domain) or over whole ones (default: every device).",
                               valueName: "n"))
    var ranks: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("With --collective, ranks on each node, as mpirun -N lays them out: the first N GPUs of each node, 1 to measure the network alone (default: the node's GPU count, filling each node first). --ranks must be a multiple of N; without --ranks, every node takes N.",
                               valueName: "n"))
    var ranksPerNode: Int?

    @Option(parsing: .unconditional,
            help: ArgumentHelp("With --collective, the message sizes in bytes (nccl-tests' size column): a comma-separated list of counts with optional K, M, G (powers of 1024) and doubling ranges MIN..MAX, each 1 to 1048576G (2^50) (default: 8..8G, nccl-tests' -b 8 -e 8G -f 2).",
                               valueName: "sizes"),
            transform: { argument in try ByteSizes(parsing: argument) })
    var sizes: ByteSizes?

    func validate() throws {
        if collective != nil && name == nil {
            throw ValidationError("--collective predicts a collective on one cluster; name it (shardplan clusters dgx-h100:2 --collective all-reduce).")
        }
        if collective == nil && (ranks != nil || ranksPerNode != nil || sizes != nil) {
            throw ValidationError("--ranks, --ranks-per-node and --sizes describe the run --collective predicts; add --collective.")
        }
        if let ranks, ranks < 2 {
            throw ValidationError("--ranks must be 2 or more; a collective on \(ranks) rank\(ranks == 1 ? "" : "s") moves nothing.")
        }
        if let ranksPerNode {
            guard ranksPerNode >= 1 else { throw ValidationError("--ranks-per-node must be 1 or more, not \(ranksPerNode).") }
            if let ranks, ranks % ranksPerNode != 0 {
                throw ValidationError("--ranks \(ranks) does not fill nodes of --ranks-per-node \(ranksPerNode); give a multiple of \(ranksPerNode).")
            }
        }
    }

    func run() throws {
        try reportingInputErrors {
            let text: String
            switch (name, format) {
            case (nil, .text): text = ClusterPreset.catalogTable
            case (nil, .json): text = JSONWriter(inlineDepth: 4, lineWidth: 110).render(ClusterPreset.catalogJSON)
            case (let name?, _):
                let cluster = try warningOfMisspellings(in: name) { () throws(InputError) in try resolveCluster(name) }
                if let collective {
                    let table: CollectiveTable
                    do {
                        table = try CollectiveTable(cluster: cluster, named: name, kind: collective.kind, ranks: ranks,
                                                    ranksPerNode: ranksPerNode, sizes: (sizes ?? .defaultSweep).bytes)
                    } catch let error as InputError {
                        // A file's cluster may have no name of its own: the error names the file.
                        throw clusterFile(named: name) == nil ? error : error.inDocument(name)
                    }
                    text = format == .text ? table.text : JSONWriter(inlineDepth: 3, lineWidth: 110).render(table.json)
                } else {
                    text = format == .text ? cluster.textReport : cluster.jsonText
                }
            }
            print(text, terminator: "")
        }
    }
}
