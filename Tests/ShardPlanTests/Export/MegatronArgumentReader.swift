@testable import ShardPlan

/// Reads a `torchrun ... pretrain_gpt.py ...` command back as argparse would: `torchrun`'s node and process
/// counts, then Megatron-LM's flags, each either a switch or a flag with one value. Only the options
/// Docs/frameworks.md documents (with their source in Megatron-LM's `megatron/training/arguments.py`) are
/// known; any other flag is an error, so an emitter cannot invent one.
struct MegatronArgumentReader {
    /// Megatron-LM's switches (`action='store_true'`) that the emitter may write.
    static let switches: Set<String> = [
        "--sequence-parallel", "--use-distributed-optimizer", "--use-megatron-fsdp", "--overlap-grad-reduce",
        "--overlap-param-gather", "--tp-comm-overlap", "--no-gradient-accumulation-fusion", "--grad-reduce-in-bf16",
        "--cross-entropy-loss-fusion", "--fp8-param-gather", "--account-for-embedding-in-pipeline-split",
        "--account-for-loss-in-pipeline-split", "--overlap-moe-expert-parallel-comm", "--moe-grouped-gemm", "--bf16",
    ]
    /// Megatron-LM's options that take one value, with the values argparse would accept.
    static let options: [String: @Sendable (String) -> Bool] = [
        "--tensor-model-parallel-size": isPositive, "--pipeline-model-parallel-size": isPositive,
        "--context-parallel-size": isPositive, "--expert-model-parallel-size": isPositive,
        "--expert-tensor-parallel-size": isPositive, "--num-layers": isPositive,
        "--num-layers-per-virtual-pipeline-stage": isPositive, "--num-virtual-stages-per-pipeline-rank": isPositive,
        "--decoder-first-pipeline-num-layers": isPositive, "--decoder-last-pipeline-num-layers": isPositive,
        "--recompute-granularity": { ["full", "selective"].contains($0) }, "--recompute-method": { ["uniform", "block"].contains($0) },
        "--recompute-num-layers": isPositive, "--data-parallel-sharding-strategy": { ["no_shard", "optim", "optim_grads", "optim_grads_params"].contains($0) },
        "--fp8-format": { ["e4m3", "hybrid"].contains($0) }, "--fp8-recipe": { ["tensorwise", "delayed", "mxfp8", "blockwise"].contains($0) },
        "--micro-batch-size": isPositive, "--global-batch-size": isPositive, "--seq-length": isPositive,
        "--ckpt-format": { ["torch", "torch_dist", "zarr", "torch_dcp", "fsdp_dtensor"].contains($0) },
        "--moe-token-dispatcher-type": { ["allgather", "alltoall", "flex"].contains($0) },
        "--moe-flex-dispatcher-backend": { ["deepep", "hybridep"].contains($0) },
        "--moe-router-num-groups": isPositive, "--moe-router-group-topk": isPositive,
        "--num-experts": isPositive, "--moe-router-topk": isPositive,
        "--cp-comm-type": { ["p2p", "all_gather", "a2a", "a2a+p2p"].contains($0) },
    ]

    /// Megatron-LM's options that take one or more values (`nargs='*'`, `nargs='+'`), with the values argparse would accept.
    static let listOptions: [String: @Sendable (String) -> Bool] = [
        "--recompute-modules": { ["core_attn", "moe_act", "layernorm", "mla_up_proj", "mlp", "moe", "experts", "router"].contains($0) },
        "--hierarchical-context-parallel-sizes": isPositive,
    ]

    static func isPositive(_ text: String) -> Bool { Int(text).map { $0 >= 1 } ?? false }

    var switchesSet: Set<String> = []
    var values: [String: String] = [:]
    var lists: [String: [String]] = [:]
    var nodes = 0
    var processesPerNode = 0
    /// Environment variables set before `torchrun` (`NAME=value torchrun ...`).
    var environment: [String: String] = [:]

    init(_ text: String) throws {
        // Comments out, line continuations joined, then whitespace-separated words as a shell splits them.
        let command = text.split(separator: "\n").filter { !$0.hasPrefix("#") }
            .map { $0.hasSuffix("\\") ? String($0.dropLast()) : String($0) }.joined(separator: " ")
        var words = command.split(separator: " ").map(String.init)[...]
        while let word = words.first, let equals = word.firstIndex(of: "="), !word.hasPrefix("-") {
            words.removeFirst()
            environment[String(word[..<equals])] = String(word[word.index(after: equals)...])
        }
        guard words.popFirst() == "torchrun" else { throw ReadBackError("the command does not start with torchrun") }
        while let word = words.first, word.hasPrefix("--") {
            words.removeFirst()
            let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let value = Int(parts[1]) else { throw ReadBackError("torchrun option \(word) has no number") }
            switch parts[0] {
            case "--nnodes": nodes = value
            case "--nproc-per-node", "--nproc_per_node": processesPerNode = value
            default: throw ReadBackError("unknown torchrun option \(parts[0])")
            }
        }
        guard words.popFirst() == "pretrain_gpt.py" else { throw ReadBackError("torchrun does not run pretrain_gpt.py") }
        while let flag = words.popFirst() {
            if Self.switches.contains(flag) {
                switchesSet.insert(flag)
            } else if let accepts = Self.options[flag] {
                guard let value = words.popFirst(), !value.hasPrefix("--") else { throw ReadBackError("\(flag) has no value") }
                guard accepts(value) else { throw ReadBackError("\(flag) does not take \(value)") }
                guard values.updateValue(value, forKey: flag) == nil else { throw ReadBackError("\(flag) is given twice") }
            } else if let accepted = Self.listOptions[flag] {
                var items: [String] = []
                while let value = words.first, !value.hasPrefix("--") {
                    words.removeFirst()
                    guard accepted(value) else { throw ReadBackError("\(flag) does not take \(value)") }
                    items.append(value)
                }
                guard !items.isEmpty, lists.updateValue(items, forKey: flag) == nil else { throw ReadBackError("\(flag) has no values or is given twice") }
            } else {
                throw ReadBackError("\(flag) is not a documented Megatron-LM argument")
            }
        }
    }

    func int(_ flag: String) -> Int? { values[flag].flatMap { Int($0) } }

    /// The layout, derived as Megatron-LM derives it: data parallelism fills the world that torchrun starts.
    /// What `validate_args` asserts of the flags read is checked first.
    func layout() throws -> ReadBackLayout {
        // Megatron-FSDP only checkpoints as fsdp_dtensor, and the format defaults to torch_dist.
        if switchesSet.contains("--use-megatron-fsdp") && values["--ckpt-format"] != "fsdp_dtensor" {
            throw ReadBackError("--use-megatron-fsdp without --ckpt-format fsdp_dtensor: validate_args refuses it")
        }
        if values["--ckpt-format"] == "fsdp_dtensor" && !switchesSet.contains("--use-megatron-fsdp") {
            throw ReadBackError("--ckpt-format fsdp_dtensor without --use-megatron-fsdp: validate_args refuses it")
        }
        // Without --bf16 Megatron-LM trains in fp32, which no plan prices; it reads --grad-reduce-in-bf16 only under
        // --bf16, and asserts it beside --moe-grouped-gemm.
        guard switchesSet.contains("--bf16") else { throw ReadBackError("no --bf16: Megatron-LM would train in fp32") }
        if switchesSet.contains("--tp-comm-overlap") && !switchesSet.contains("--sequence-parallel") {
            throw ReadBackError("--tp-comm-overlap without --sequence-parallel: validate_args refuses it")
        }
        // Before Blackwell, tensor or context parallelism needs one CUDA work queue, and Megatron-FSDP more than one.
        let connections = environment["CUDA_DEVICE_MAX_CONNECTIONS"]
        if switchesSet.contains("--use-megatron-fsdp") {
            guard connections != "1" else { throw ReadBackError("Megatron-FSDP with CUDA_DEVICE_MAX_CONNECTIONS=1: validate_args refuses it") }
        } else if (int("--tensor-model-parallel-size") ?? 1) > 1 || (int("--context-parallel-size") ?? 1) > 1 {
            guard connections == "1" else {
                throw ReadBackError("tensor or context parallelism without CUDA_DEVICE_MAX_CONNECTIONS=1: validate_args refuses it before Blackwell")
            }
        }
        // Megatron-Core's TransformerConfig: "num_moe_experts must be non None to use expert-parallel", and each
        // expert-parallel rank holds a whole number of experts.
        if let ep = int("--expert-model-parallel-size"), ep > 1 {
            guard let experts = int("--num-experts"), experts % ep == 0 else {
                throw ReadBackError("--expert-model-parallel-size \(ep) without --num-experts divisible by it: Megatron-Core refuses it")
            }
        }
        let tp = int("--tensor-model-parallel-size") ?? 1, pp = int("--pipeline-model-parallel-size") ?? 1
        let cp = int("--context-parallel-size") ?? 1
        if let sizes = lists["--hierarchical-context-parallel-sizes"] {
            guard values["--cp-comm-type"] == "a2a+p2p", sizes.compactMap({ Int($0) }).reduce(1, *) == cp else {
                throw ReadBackError("--hierarchical-context-parallel-sizes \(sizes.joined(separator: " ")) beside cp = \(cp): validate_args wants their product to be cp, under a2a+p2p")
            }
        }
        let world = nodes * processesPerNode
        guard world % (tp * pp * cp) == 0 else { throw ReadBackError("\(world) processes do not divide into tp x pp x cp = \(tp * pp * cp)") }
        var virtualStages = int("--num-virtual-stages-per-pipeline-rank") ?? 1
        if let perStage = int("--num-layers-per-virtual-pipeline-stage") {
            guard let layers = int("--num-layers"), layers % (pp * perStage) == 0 else { throw ReadBackError("the virtual stages do not split the layers") }
            virtualStages = layers / (pp * perStage)
        }
        let layerSplit = MegatronLayerSplit(
            firstStageLayers: int("--decoder-first-pipeline-num-layers"), lastStageLayers: int("--decoder-last-pipeline-num-layers"),
            embeddingInPipelineSplit: switchesSet.contains("--account-for-embedding-in-pipeline-split"),
            lossInPipelineSplit: switchesSet.contains("--account-for-loss-in-pipeline-split"))
        try ReadBackLayout.checkLayerSplit(layerSplit, layers: int("--num-layers") ?? 0, ranks: pp, chunks: virtualStages,
                                           layersPerChunkGiven: values["--num-layers-per-virtual-pipeline-stage"] != nil)
        let recompute: RecomputeMode
        var recomputedBlocks: Int?
        switch values["--recompute-granularity"] {
        case nil: recompute = .none
        case "selective":
            recompute = try ReadBackLayout.selectiveRecompute(
                modules: lists["--recompute-modules"], delayedFP8: values["--fp8-format"] != nil && values["--fp8-recipe"] == "delayed")
        default:
            recompute = .full
            recomputedBlocks = try ReadBackLayout.fullRecomputedBlocks(method: values["--recompute-method"], layers: int("--recompute-num-layers"))
        }
        let ep = int("--expert-model-parallel-size") ?? 1
        var layout = ReadBackLayout(tensorParallel: tp, pipelineParallel: pp, dataParallel: world / (tp * pp * cp), contextParallel: cp,
                                    expertParallel: ep,
                                    expertTensorParallel: int("--expert-tensor-parallel-size"), virtualStages: virtualStages,
                                    microBatchSize: int("--micro-batch-size") ?? 1, recompute: recompute,
                                    recomputedBlocks: recomputedBlocks, fp8: values["--fp8-format"] != nil, layerSplit: layerSplit)
        layout.expertDispatcher = try ReadBackLayout.megatronDispatcher(
            type: values["--moe-token-dispatcher-type"], backend: values["--moe-flex-dispatcher-backend"], expertParallel: ep)
        return layout
    }
}
