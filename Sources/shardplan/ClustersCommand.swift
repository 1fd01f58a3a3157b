import ArgumentParser
import ShardPlan

/// `shardplan clusters [NAME]`: the built-in clusters and their figures.
struct ClustersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clusters",
        abstract: "List the built-in cluster presets with their figures, or show one cluster in full.",
        discussion: "With NAME (a preset, NAME:K for K nodes, or a shardplan.cluster/1 file) shows that cluster's figures; with --format json prints it as a cluster file to edit."
    )

    @Argument(help: "A preset (dgx-h100, dgx-h100:4) or cluster file to show in full.")
    var name: String?

    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    func run() throws {
        try reportingInputErrors {
            let text: String
            switch (name, format) {
            case (nil, .text): text = ClusterPreset.catalogTable
            case (nil, .json): text = JSONWriter(inlineDepth: 4, lineWidth: 110).render(ClusterPreset.catalogJSON)
            case (let name?, .text): text = try warningOfMisspellings(in: name) { () throws(InputError) in try resolveCluster(name) }.textReport
            case (let name?, .json): text = try warningOfMisspellings(in: name) { () throws(InputError) in try resolveCluster(name) }.jsonText
            }
            print(text, terminator: "")
        }
    }
}
