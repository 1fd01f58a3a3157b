/// The models ShardPlan knows by name: published architectures (GPT-3, the Megatron-LM SC'21 GPT family,
/// Llama 2 and 3, BERT-large, a GShard-style mixture of experts, Wide-ResNet-50-2) and tiny test graphs,
/// each with the parameter count its source publishes. `Models/<id>.json` holds each one's graph, written
/// by `shardplan models --write Models`.
public enum ModelCatalog {
    /// Every model, in the order `shardplan models` lists them.
    public static let all: [Entry] = examples + gpt3 + megatron + llama + [bertLarge, mixtureOfExpertsGShard, wideResNet50x2]

    /// The model called `id`, if the catalog has one.
    public static func model(id: String) -> Entry? { all.first { $0.id == id } }

    /// The number of trainable elements in a graph: the sum of its parameters' element counts.
    public static func parameterCount(of graph: Graph) -> Int {
        graph.parameters.reduce(0) { $0 + graph[$1].type.elementCount }
    }
}
