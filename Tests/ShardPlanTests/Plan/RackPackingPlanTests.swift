import Testing
@testable import ShardPlan

/// Stages of 16, 32 or 64 GPUs of a GB200 NVL72 rack (one NVLink domain of 72 = 8 x 9): a model whose dimensions
/// are powers of two can split them more than 8 ways only on such a slice (Docs/pipeline-search.md, section 2).
@Suite("Packed stages on a 72-GPU NVLink domain")
struct RackPackingPlanTests {
    /// A wide MLP, x W1 -> gelu -> W2, then a narrow projection W3 and the loss, as two hinted layers; every
    /// dimension a power of two. 8192 tokens of 8192, W1 and W2 8192 x 131072 (1.07B parameters each), W3
    /// 8192 x 1024.
    static func wideMLP() throws -> Graph {
        let json = """
        {"format": "shardplan.graph/1", "name": "wide-mlp",
         "inputs": [{"name": "x", "shape": [8192, 8192], "dtype": "bf16", "batch_dim": 0}],
         "parameters": [{"name": "w1", "shape": [8192, 131072], "dtype": "bf16"},
                        {"name": "w2", "shape": [131072, 8192], "dtype": "bf16"},
                        {"name": "w3", "shape": [8192, 1024], "dtype": "bf16"}],
         "ops": [{"name": "h", "op": "einsum", "equation": "bd,df->bf", "inputs": ["x", "w1"], "layer": "wide"},
                 {"name": "a", "op": "gelu", "inputs": ["h"], "layer": "wide"},
                 {"name": "y", "op": "einsum", "equation": "bf,fd->bd", "inputs": ["a", "w2"], "layer": "wide"},
                 {"name": "z", "op": "einsum", "equation": "bd,de->be", "inputs": ["y", "w3"], "layer": "narrow"},
                 {"name": "loss", "op": "reduce", "kind": "mean", "axes": [0, 1], "inputs": ["z"], "layer": "narrow"}],
         "outputs": ["loss"]}
        """
        return try Graph(jsonBytes: Array(json.utf8))
    }

    @Test("on one rack the planner's stages may take 16, 32 or 64 GPUs, and devices alone decide what fits")
    func rackCandidates() throws {
        let cluster = try Cluster.preset(named: "gb200-nvl72")
        let planner = PipelinePlanner(graph: try Self.wideMLP(), cluster: cluster, clusterName: "gb200-nvl72")
        let general = try #require(planner.programs(layerCount: 2, clustering: LayerClustering(GraphAnalysis(planner.graph))).first)
        #expect(general.submeshes.map(\.deviceCount) == [1, 2, 4, 8, 16, 32, 64, 72])
        #expect(general.packing.capacity == 0 && general.deviceUnit == 1)
    }

    @Test("a wide MLP on a GB200 NVL72 rack: the plan splits its weights 64 ways on 64 GPUs and the narrow layer takes the other 8")
    func tensorParallelOverSixtyFour() throws {
        let graph = try Self.wideMLP()
        let cluster = try Cluster.preset(named: "gb200-nvl72")
        let result = try PipelinePlanner(graph: graph, cluster: cluster, clusterName: "gb200-nvl72").plan()
        let plan = result.plan
        #expect(plan.stages.map(\.mesh.devices.count) == [64, 8])
        let wide = plan.stages[0]
        let up = try #require(graph.operations.firstIndex { $0.name == "h" })
        // h = x W1 ("bd,df->bf"): its index 2, W1's 131072 columns, is split over all 64 GPUs of the stage.
        #expect(wide.strategy(of: up).splitFactor(of: 2, meshShape: wide.mesh.shape) == 64, "\(wide.mesh.shape): \(wide.strategy(of: up))")
        // By hand, why this beats every plan the rack allowed before (stages of 1, 2, 4 or 8 GPUs or a share of 72:
        // with two layers covering all 72 GPUs, one stage of 72 or two of 36). Splits must divide the dimensions,
        // all powers of two, so no op of a 72-GPU stage is split more than 8 ways (72 = 8 x 9) and none of a
        // 36-GPU stage more than 4: every such plan runs each op's FLOPs on at most 8 GPUs' worth, at least
        // 1.06e14 / (8 x 2500 TFLOP/s) = 5.3 ms for the 1.06e14 FLOPs of a step (6 x 8192 x 2 x 8192 x 131072 for
        // the wide layer, 0.4% more for the narrow one); before this search could use 64 GPUs it planned tp = 8 on
        // the 8 x 9 view, 8.5 ms. The plan takes 1.6 ms: matmuls 0.79 ms (the wide layer's 1.05e14 FLOPs on 64
        // GPUs are 0.66 ms at peak), y's partial sums reduce-scattered and gathered back in the stage 0.12 ms, the
        // send to the narrow stage 0.09 ms, that stage 0.18 ms, the optimizer step 0.23 ms. Weights split 64 ways
        // leave no gradients to synchronise, where 64-way data parallelism would all-reduce those of W1 and W2's
        // 2.15B parameters every step.
        let flops = result.prediction.modelFLOPs
        #expect(abs(flops - 6 * 8192 * (2 * 8192 * 131072 + 8192 * 1024)) <= 0.01 * flops)
        let floorBefore = flops / (8 * cluster.device.peakFLOPsPerSecond(for: .bf16))
        #expect(result.prediction.iterationSeconds < 0.5 * floorBefore,
                "\(result.prediction.iterationSeconds) s against at least \(floorBefore) s on stages of at most 8 useful GPUs")
        #expect(result.prediction.fitsInMemory)
    }
}
