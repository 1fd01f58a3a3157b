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
    }
}
