/// The models ShardPlan knows by name: published architectures (GPT-3, the Megatron-LM SC'21 GPT family,
/// Llama 2 and 3, Mistral 7B, BERT-large, a GShard-style mixture of experts, Mixtral 8x7B, Qwen3-30B-A3B, DeepSeek-V3,
/// Wide-ResNet-50-2) and tiny test graphs,
/// each with the parameter count its source publishes. `Models/<id>.json` holds each one's graph, written
/// by `shardplan models --write Models`.
public enum ModelCatalog {
    /// Every model, in the order `shardplan models` lists them.
    public static let all: [Entry] = examples + gpt3 + megatron + llama + [mistral7B, bertLarge, mixtureOfExpertsGShard] + mixtureOfExperts
        + [wideResNet50x2]

    /// The model called `id`, if the catalog has one.
    public static func model(id: String) -> Entry? { all.first { $0.id == id } }

    /// The number of parameter elements in a graph, frozen ones included: the sum of its parameters' element counts.
    public static func parameterCount(of graph: Graph) -> Int {
        graph.elementCount(of: graph.parameters)
    }
}

extension ModelCatalog {
    /// The parameters one token runs through in a graph built from `configuration`: every parameter, less the
    /// routed experts it does not take (`1 - topK / experts` of each expert weight, the parameters named
    /// `.experts.`).
    public static func activeParameterCount(of graph: Graph, configuration: TransformerConfiguration) -> Int {
        let total = parameterCount(of: graph)
        guard let moe = configuration.mixtureOfExperts else { return total }
        let routed = graph.parameters.filter { graph[$0].name.contains(".experts.") }
            .reduce(0) { $0 + graph[$1].type.elementCount }
        return total - routed / moe.experts * (moe.experts - moe.topK)
    }
}
