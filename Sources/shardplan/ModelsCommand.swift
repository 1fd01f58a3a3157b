import ArgumentParser
import Foundation
import ShardPlan

/// `shardplan models [--format text|json] [ID [--seq-length N] [--batch N] [--lora-rank R] [--pad-vocab M]] [--write DIR]`:
/// the built-in model catalog.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the built-in models with their parameter counts, print one model's graph, or write them all.",
        discussion: """
            Without arguments, lists every model: its dimensions, global batch, parameter count (ours and \
            the published one) and source. With ID, prints that model's shardplan.graph/1 document, at \
            another sequence length or global batch with --seq-length and --batch (plan it with \
            `shardplan models llama3-8b --seq-length 131072 | shardplan plan - --cluster dgx-h100:16`). \
            With --lora-rank R, a LoRA fine-tune of it: trained adapters, every other weight frozen \
            (`shardplan models llama3-70b --lora-rank 16 | shardplan plan - --cluster dgx-h100`). \
            With --write DIR, writes every model's graph to DIR/<id>.json (the repository's Models/ folder \
            is `shardplan models --write Models`).
            """
    )

    @Argument(help: "A model id (see the list); prints its graph as shardplan.graph/1 JSON.")
    var id: String?

    @Option(name: .long, help: ArgumentHelp("Write every model's graph to DIR/<id>.json.", valueName: "DIR"))
    var write: String?

    @Option(name: .customLong("seq-length"), parsing: .unconditional, help: ArgumentHelp("With ID: build the transformer at N tokens a sequence (its mask, rotary tables, position table and expert slots follow); the graph is named <id>-seqN.",
                                                               valueName: "N"))
    var sequenceLength: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("With ID: N samples in the global batch; the graph is named <id>-batchN.", valueName: "N"))
    var batch: Int?

    @Option(name: .customLong("lora-rank"), parsing: .unconditional,
            help: ArgumentHelp("With ID: a LoRA fine-tune of the transformer: adapters of rank R beside every linear layer of its blocks (not its experts'), trained, and every other weight frozen (\"trainable\": false); the graph is named <id>-loraR.",
                               valueName: "R"))
    var loraRank: Int?

    @Option(name: .customLong("pad-vocab"), parsing: .unconditional,
            help: ArgumentHelp("With ID: round the vocabulary up to a multiple of M, as Megatron-LM pads it (--make-vocab-size-divisible-by 128 times the tensor-parallel size: 1024 at tp = 8 takes GPT-3's 50257 to 51200), so that tensor-parallel ranks can split the embedding and the output layer; the graph is named <id>-vocabV.",
                               valueName: "M"))
    var vocabularyMultiple: Int?

    @Option(help: "Without ID: the list as text or json (an array of the models' dimensions and parameter counts). With ID the graph is JSON already.")
    var format: OutputFormat = .text

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the graph (with ID) or the list to this file instead of standard output.", valueName: "FILE"),
            completion: .file())
    var output: String?

    func validate() throws {
        if id != nil && write != nil { throw ValidationError("give either a model ID or --write DIR, not both") }
        if output != nil && write != nil { throw ValidationError("--write DIR writes a file per model; -o/--output writes one graph or the list") }
        for (option, value) in [("--seq-length", sequenceLength), ("--batch", batch), ("--lora-rank", loraRank), ("--pad-vocab", vocabularyMultiple)] {
            guard let value else { continue }
            guard id != nil else { throw ValidationError("\(option) sets one model's shape: give the model's ID with it") }
            guard value >= 1 else { throw ValidationError("\(option) takes a positive number, not \(value).") }
        }
        if format == .json && (id != nil || write != nil) {
            throw ValidationError("--format json sets the list's format; a model's graph (ID) and --write are JSON already")
        }
        // An empty path names no folder (Foundation would take it as the current one).
        if write?.isEmpty == true { throw ValidationError("--write needs a folder; give . for the current one") }
    }

    func run() throws {
        try reportingInputErrors {
            if let write {
                try Self.writeGraphs(to: write)
                return
            }
            try checkWritable(output, option: "--output")
            let text: String
            if let id {
                guard let entry = ModelCatalog.model(id: id) else {
                    throw InputError(.invalidReference, at: .root,
                                     "unknown model \"\(id)\"; the catalog has: \(ModelCatalog.all.map(\.id).joined(separator: ", "))")
                }
                text = try shapedGraph(entry).jsonText
            } else if format == .json {
                text = JSONWriter(inlineDepth: 2, lineWidth: 110).render(try Self.catalogJSON())
            } else {
                text = try Self.catalogTable()
            }
            try writeOutput(text, to: output)
        }
    }

    /// The entry's graph at `--seq-length` and `--batch`, where given (the catalog's graph where neither is); an
    /// error names the option at fault.
    private func shapedGraph(_ entry: ModelCatalog.Entry) throws(InputError) -> Graph {
        do {
            return try entry.build(sequenceLength: sequenceLength, globalBatch: batch, loraRank: loraRank, vocabularyMultiple: vocabularyMultiple)
        } catch {
            let option = error.path == JSONPath([.key("sequenceLength")]) ? "--seq-length"
                : error.path == JSONPath([.key("loraRank")]) ? "--lora-rank"
                : error.path == JSONPath([.key("vocabularyMultiple")]) ? "--pad-vocab" : "--batch"
            throw InputError(error.kind, at: JSONPath([.key(option)]), error.message)
        }
    }

    private static func writeGraphs(to directory: String) throws(InputError) {
        let folder = URL(fileURLWithPath: directory, isDirectory: true)
        let path = JSONPath([.key("--write")])
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw InputError(.invalidValue, at: path, "cannot create \(directory): \(error.localizedDescription)")
        }
        let files = ModelCatalog.all.map { folder.appendingPathComponent("\($0.id).json").path }
        // Every file is checked before any is written, so that a blocked one (a folder of that name) writes none.
        for file in files { try checkWritable(file, option: "--write") }
        for (entry, file) in zip(ModelCatalog.all, files) {
            let text = try entry.documentText()
            do {
                try OutputDestination(path: file).write(Data(text.utf8))
            } catch {
                throw InputError(.invalidValue, at: path, "cannot write \(file): \(OutputDestination.reason(error))")
            }
        }
    }

    static func catalogTable() throws(InputError) -> String {
        let header = ["id", "layers", "hidden", "heads", "kv", "ffn", "vocab", "seq", "batch", "parameters", "active", "published", "model"]
        var rows = [header]
        for entry in ModelCatalog.all {
            let graph = try entry.build()
            let count = ModelCatalog.parameterCount(of: graph)
            var row = [entry.id]
            if let t = entry.transformer {
                // A mixture of experts shows each expert's MLP width and the experts' count (Docs/models.md).
                let feedForward = t.mixtureOfExperts.map { "\($0.expertFeedForwardHidden ?? t.feedForwardHidden)x\($0.experts)" }
                    ?? String(t.feedForwardHidden)
                row += [String(t.layers), String(t.hidden), String(t.heads), String(t.keyValueHeads), feedForward,
                        String(t.vocabulary), String(t.sequenceLength), String(t.globalBatch)]
            } else {
                row += Array(repeating: "-", count: 7) + [graph.batchSize.map(String.init) ?? "-"]
            }
            row.append(abbreviated(count))
            // A mixture of experts' parameters one token runs through (its top-k experts and everything dense).
            row.append(entry.transformer.flatMap { configuration in
                configuration.mixtureOfExperts.map { _ in abbreviated(ModelCatalog.activeParameterCount(of: graph, configuration: configuration)) }
            } ?? "-")
            if let published = entry.publishedParameterCount {
                let difference = 100 * (Double(count) - Double(published)) / Double(published)
                row.append("\(abbreviated(published)) (\(String(format: "%+.2f", difference))%)")
            } else {
                row.append("-")
            }
            row.append(entry.description)
            rows.append(row)
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    /// The list as `--format json` prints it: one object a model, with its transformer dimensions where it has them
    /// (a mixture of experts' experts, top k and each expert's MLP width), its parameters, a mixture of experts'
    /// active parameters, the published count and the description, in the order `models` lists them.
    static func catalogJSON() throws(InputError) -> JSONValue {
        var models: [JSONValue] = []
        for entry in ModelCatalog.all {
            let graph = try entry.build()
            var object = JSONObject([("id", .string(entry.id))])
            if let t = entry.transformer {
                for (key, value) in [("layers", t.layers), ("hidden", t.hidden), ("heads", t.heads), ("key_value_heads", t.keyValueHeads),
                                     ("feed_forward_hidden", t.feedForwardHidden), ("vocabulary", t.vocabulary),
                                     ("sequence_length", t.sequenceLength)] {
                    object[key] = .int(value)
                }
                if let experts = t.mixtureOfExperts {
                    object["experts"] = .int(experts.experts)
                    object["top_k"] = .int(experts.topK)
                    object["expert_feed_forward_hidden"] = .int(experts.expertFeedForwardHidden ?? t.feedForwardHidden)
                }
            }
            object["global_batch"] = graph.batchSize.map { .int($0) } ?? .null
            object["parameters"] = .int(ModelCatalog.parameterCount(of: graph))
            if let configuration = entry.transformer, configuration.mixtureOfExperts != nil {
                object["active_parameters"] = .int(ModelCatalog.activeParameterCount(of: graph, configuration: configuration))
            }
            object["published_parameters"] = entry.publishedParameterCount.map { .int($0) } ?? .null
            object["description"] = .string(entry.description)
            models.append(.object(object))
        }
        return .array(models)
    }

    /// A count with four significant digits and a unit suffix: 174.6B, 125.2M.
    private static func abbreviated(_ count: Int) -> String {
        let value = Double(count)
        for (scale, suffix) in [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")] where value >= scale {
            let scaled = value / scale
            let decimals = scaled >= 100 ? 1 : scaled >= 10 ? 2 : 3
            return String(format: "%.\(decimals)f\(suffix)", scaled)
        }
        return String(count)
    }
}
