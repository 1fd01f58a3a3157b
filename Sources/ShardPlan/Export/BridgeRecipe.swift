/// The Megatron-Bridge 0.3 pretraining recipe that the usage comment of `--emit megatron-bridge` names for a graph: the
/// model's own where the graph is a catalog model that has one (`llama3_8b_pretrain_config` for `llama3-8b`, and for
/// `llama3-8b-seq16384` that `shardplan models` builds from it), else a
/// recipe of its family, told by the graph's name (Llama, Qwen3, gpt-oss); nil for any other model (GPT-3, Mixtral,
/// a graph of the user's), whose comment names none. Only recipes that `Examples/frameworks/check_megatron_bridge.py`
/// imports from Megatron-Bridge 0.3.1 are named.
struct BridgeRecipe: Sendable, Equatable {
    /// The module that defines it (`megatron.bridge.recipes.llama`).
    var module: String
    /// The function that returns its `ConfigContainer` (`llama3_8b_pretrain_config`).
    var function: String
    /// Whether it is the model's own recipe, not another of its family.
    var isModelsOwn: Bool

    /// Catalog ids with a recipe of their own, by the name of the function.
    private static let ownRecipes = [
        "llama3-8b": "llama3_8b_pretrain_config", "llama3-70b": "llama3_70b_pretrain_config",
        "llama3-405b": "llama31_405b_pretrain_config", "qwen3-30b-a3b": "qwen3_30b_a3b_pretrain_config",
        "gpt-oss-20b": "gpt_oss_20b_pretrain_config",
    ]
    /// A family's name prefix, its recipes' module and the recipe named for a model of it without its own.
    private static let families = [
        (prefix: "llama", module: "megatron.bridge.recipes.llama", recipe: "llama3_8b_pretrain_config"),
        (prefix: "qwen3", module: "megatron.bridge.recipes.qwen", recipe: "qwen3_30b_a3b_pretrain_config"),
        (prefix: "gpt-oss", module: "megatron.bridge.recipes.gpt_oss.gpt_oss", recipe: "gpt_oss_20b_pretrain_config"),
    ]

    init?(graphName: String) {
        let name = graphName.lowercased()
        guard let family = Self.families.first(where: { name.hasPrefix($0.prefix) }) else { return nil }
        module = family.module
        // A catalog model at another shape is still that model (`llama3-8b-seq16384-batch64`, `-lora16`, `-vocab...`).
        let own = Self.ownRecipes.filter { name == $0.key || name.hasPrefix($0.key + "-") }.max { $0.key.count < $1.key.count }
        function = own?.value ?? family.recipe
        isModelsOwn = own != nil
    }
}
