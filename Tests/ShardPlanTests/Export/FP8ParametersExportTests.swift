import Testing
@testable import ShardPlan

/// Each framework's settings keep FP8 weights where the plan does: Megatron-LM's `--fp8-param-gather`, NeMo 2.0's
/// `trainer.plugins.fp8_params`, torchtitan's float8 all-gather under FSDP. What a framework cannot run that way is
/// named as a change.
@Suite("Framework settings keep FP8 weights")
struct FP8ParametersExportTests {
    /// gpt-tiny over one DGX H100 (8 data-parallel GPUs) in FP8 under ZeRO `zeroStage`, as `framework`'s settings read
    /// back by its reader, with the changes the framework needed.
    static func export(_ framework: TrainingFramework, zeroStage: Int, fp8Parameters: Bool = true,
                       recipe: FP8Recipe = .tensorwise) throws -> (text: String, export: FrameworkExport) {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        let options = TrainingOptions(zeroStage: zeroStage, precision: .fp8, fp8Recipe: recipe, fp8Parameters: fp8Parameters)
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100:1",
                                             configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, options: options))
        let export = try FrameworkExport(plan: plan, prediction: PlanEvaluator(cluster: cluster).evaluate(plan), framework: framework)
        _ = try FrameworkRoundTripTests.readBack(export.text, framework)
        return (export.text, export)
    }

    @Test("Megatron-LM: --fp8-param-gather beside the distributed optimizer; under ZeRO-0 the distributed optimizer is turned on, named")
    func megatron() throws {
        let (text, export) = try Self.export(.megatron, zeroStage: 1)
        #expect(text.contains("--fp8-param-gather") && text.contains("--use-distributed-optimizer"))
        #expect(!export.differences.contains { $0.contains("ZeRO") })
        #expect(try !Self.export(.megatron, zeroStage: 1, fp8Parameters: false).text.contains("--fp8-param-gather"))
        let (unsharded, changed) = try Self.export(.megatron, zeroStage: 0)
        #expect(unsharded.contains("--fp8-param-gather") && unsharded.contains("--use-distributed-optimizer"))
        #expect(changed.differences.contains { $0.contains("ZeRO-0 becomes ZeRO-1") })
    }

    @Test("NeMo 2.0: trainer.plugins.fp8_params=True, and False where the plan keeps 16-bit weights (recipes set it)")
    func nemo() throws {
        #expect(try Self.export(.nemo, zeroStage: 1).text.contains("trainer.plugins.fp8_params=True"))
        #expect(try Self.export(.nemo, zeroStage: 1, fp8Parameters: false).text.contains("trainer.plugins.fp8_params=False"))
    }

    @Test("torchtitan: FSDP's float8 all-gather with precomputed scales where FSDP shards weights; without sharded weights the option is dropped, named")
    func torchtitan() throws {
        let (sharded, export) = try Self.export(.torchtitan, zeroStage: 3)
        #expect(sharded.contains("[quantize.linear.float8]\nenable_fsdp_float8_all_gather = true\nprecompute_float8_dynamic_scale_for_fsdp = true\n"))
        // The converter refuses the all-gather beside a named recipe: tensor-wise is Float8LinearConfig's default.
        #expect(!sharded.contains("recipe_name"))
        #expect(export.prediction.fitsInMemory && !export.differences.contains { $0.contains("float8 all-gather") })
        // torchtitan's fp32 parameters are the master copy: the plan's FP8 weights beside one are named so.
        #expect(export.differences.contains { $0.contains("FP8 weights beside fp32 master weights") }, "\(export.differences)")
        let (blockwise, rowwise) = try Self.export(.torchtitan, zeroStage: 3, recipe: .blockwise)
        #expect(!blockwise.contains("enable_fsdp_float8_all_gather = true"))
        #expect(rowwise.differences.contains { $0.contains("only with tensorwise scaling") })
        // gpt-tiny's 8 data-parallel GPUs under ZeRO-0 run DDP: no FSDP to gather in FP8.
        let (replicated, unsharded) = try Self.export(.torchtitan, zeroStage: 0)
        #expect(!replicated.contains("enable_fsdp_float8_all_gather = true"))
        #expect(unsharded.differences.contains { $0.contains("without sharded weights") })
    }
}
