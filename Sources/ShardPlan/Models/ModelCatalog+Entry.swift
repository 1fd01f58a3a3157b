extension ModelCatalog {
    /// One model of the catalog: its name, where its dimensions and parameter count come from, and how to
    /// build its forward graph.
    public struct Entry: Sendable {
        /// The catalog name, also the graph's `name` and the file name `Models/<id>.json`.
        public let id: String
        /// One line saying what the model is.
        public let description: String
        /// The parameter count the source publishes, if it publishes one.
        public let publishedParameterCount: Int?
        /// For a mixture of experts, the parameters one token runs through (its top-k experts, the shared ones
        /// and everything dense) as the source publishes them, if it does.
        public let publishedActiveParameterCount: Int?
        /// How far (relative) the graph's parameter count may be from `publishedParameterCount`: 1%, or the
        /// rounding of the published figure where the source prints fewer digits than that needs.
        public let parameterTolerance: Double
        /// Where the dimensions, batch size and published count come from.
        public let source: String
        /// The transformer's dimensions, for the transformer models.
        public let transformer: TransformerConfiguration?
        private let makeGraph: @Sendable () throws(InputError) -> Graph

        public init(id: String, description: String, publishedParameterCount: Int?, publishedActiveParameterCount: Int? = nil,
                    parameterTolerance: Double = 0.01, source: String, transformer: TransformerConfiguration? = nil,
                    build: @escaping @Sendable () throws(InputError) -> Graph) {
            self.id = id
            self.description = description
            self.publishedParameterCount = publishedParameterCount
            self.publishedActiveParameterCount = publishedActiveParameterCount
            self.parameterTolerance = parameterTolerance
            self.source = source
            self.transformer = transformer
            self.makeGraph = build
        }

        /// A transformer model, built by `TransformerBuilder`.
        init(id: String, description: String, publishedParameterCount: Int?, publishedActiveParameterCount: Int? = nil,
             parameterTolerance: Double = 0.01, source: String, transformer: TransformerConfiguration) {
            self.init(id: id, description: description, publishedParameterCount: publishedParameterCount,
                      publishedActiveParameterCount: publishedActiveParameterCount,
                      parameterTolerance: parameterTolerance, source: source, transformer: transformer) {
                () throws(InputError) -> Graph in
                try TransformerBuilder(name: id, configuration: transformer).build()
            }
        }

        /// The model's forward graph for one global batch.
        public func build() throws(InputError) -> Graph { try makeGraph() }

        /// The text of `Models/<id>.json`.
        public func documentText() throws(InputError) -> String { try build().jsonText }

        /// The model's forward graph at another shape, as `shardplan models ID --seq-length N --batch N --lora-rank R
        /// --pad-vocab M` prints it: `sequenceLength` tokens a sequence and `globalBatch` samples an iteration, each where
        /// given, with `loraRank` a LoRA fine-tune of it (`TransformerConfiguration.lowRankAdapters`: adapters of that
        /// rank, every other weight frozen), and with `vocabularyMultiple` its vocabulary padded up to a multiple of
        /// that, as Megatron-LM pads it (`--make-vocab-size-divisible-by` times tp) so that tensor-parallel ranks split it.
        ///
        /// A transformer is rebuilt from its configuration, so everything sized by the sequence follows: the
        /// causal mask, the rotary tables, a learned position table (one row a position, as a model trained at
        /// that length has), an expert's token slots. Another model's batch changes as `plan --batch` changes it
        /// (`Graph.rebatched(to:)`); it has no sequence length to set. The graph is named after what changed
        /// (`llama3-8b-seq131072-batch64`), since it is not the graph of `Models/<id>.json`. A shape the model
        /// cannot take is refused at `sequenceLength` or `globalBatch` (`vocabularyMultiple` where the padded vocabulary
        /// is at fault), saying why.
        public func build(sequenceLength: Int?, globalBatch: Int?, loraRank: Int? = nil,
                          vocabularyMultiple: Int? = nil) throws(InputError) -> Graph {
            for (property, size) in [("sequenceLength", sequenceLength), ("globalBatch", globalBatch), ("loraRank", loraRank),
                                     ("vocabularyMultiple", vocabularyMultiple)] {
                if let size, size < 1 {
                    throw InputError(.invalidValue, at: JSONPath([.key(property)]), "\(id) needs a positive \(property), found \(size)")
                }
            }
            var padded: Int?
            if let vocabularyMultiple, let vocabulary = transformer?.vocabulary {
                guard let size = vocabulary.roundedUp(toMultipleOf: vocabularyMultiple) else {
                    throw InputError(.invalidValue, at: JSONPath([.key("vocabularyMultiple")]),
                                     "\(id)'s vocabulary of \(vocabulary) padded to a multiple of \(vocabularyMultiple) is past the largest integer")
                }
                if size != vocabulary { padded = size }
            }
            let name = id + (sequenceLength.map { "-seq\($0)" } ?? "") + (globalBatch.map { "-batch\($0)" } ?? "")
                + (loraRank.map { "-lora\($0)" } ?? "") + (padded.map { "-vocab\($0)" } ?? "")
            guard var configuration = transformer else {
                for (property, what, given) in [("sequenceLength", "sequence length to set", sequenceLength != nil),
                                                 ("loraRank", "transformer blocks to adapt", loraRank != nil),
                                                 ("vocabularyMultiple", "vocabulary to pad", vocabularyMultiple != nil)] where given {
                    throw InputError(.invalidValue, at: JSONPath([.key(property)]), "\(id) is not a transformer: its graph has no \(what)")
                }
                var graph = try build()
                if let globalBatch { graph = try graph.rebatched(to: globalBatch) }
                graph.name = name
                return graph
            }
            if let sequenceLength { configuration.sequenceLength = sequenceLength }
            if let globalBatch { configuration.globalBatch = globalBatch }
            if let loraRank { configuration.lowRankAdapters = TransformerConfiguration.LowRankAdapters(rank: loraRank) }
            if let padded { configuration.vocabulary = padded }
            do {
                return try TransformerBuilder(name: name, configuration: configuration).build()
            } catch where error.path.description.hasPrefix("lowRankAdapters") {
                throw InputError(error.kind, at: JSONPath([.key("loraRank")]), "\(id) cannot take LoRA adapters of rank \(loraRank ?? 0): \(error.message)")
            } catch {
                // A padded vocabulary is at fault where the graph builds without it (a table past 2^53 elements).
                if let padded, let vocabulary = transformer?.vocabulary {
                    var unpadded = configuration
                    unpadded.vocabulary = vocabulary
                    if (try? TransformerBuilder(name: name, configuration: unpadded).build()) != nil {
                        throw InputError(error.kind, at: JSONPath([.key("vocabularyMultiple")]),
                                         "\(id) cannot be built with its vocabulary padded to \(padded): \(error.message)")
                    }
                }
                // The catalog's model builds at its own shape, and the batch is only a dimension, so a new
                // sequence length is what fails where one is given (an expert's slots, a size past 2^53).
                throw InputError(error.kind, at: JSONPath([.key(sequenceLength != nil ? "sequenceLength" : "globalBatch")]),
                                 "\(id) cannot be built\(sequenceLength.map { " at \($0) tokens a sequence" } ?? "")"
                                 + "\(globalBatch.map { " with a batch of \($0)" } ?? ""): \(error.message)")
            }
        }
    }
}
