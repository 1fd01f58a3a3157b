import Foundation
import Testing
@testable import ShardPlan

@Suite("Intra-operator search: known answers")
struct IntraOperatorKnownAnswerTests {
    let cluster: Cluster

    init() throws { cluster = try Cluster.preset(named: "dgx-a100-80g:1") }

    func search(_ graph: Graph, shape: [Int], budget: Double? = nil, microbatches: Int = 1) throws -> StageLayout {
        let mesh = try DeviceMesh(devices: Array(0..<shape.reduce(1, *)), shape: shape, in: cluster)
        let model = StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device), options: TrainingOptions(),
                                   microbatches: microbatches)
        return try IntraOperatorSearch().search(model: model, operations: 0..<graph.operations.count, mesh: mesh, inFlight: 1,
                                                memoryBudget: budget, layers: GraphAnalysis(graph).layers).layout
    }

    func indexName(_ graph: Graph, _ layout: StageLayout, op name: String, axis: Int) -> String? {
        let op = graph.operations.firstIndex { $0.name == name }!
        return layout.strategy(of: op).indexOfAxis[axis].map { graph.operations[op].indexSpace.indices[$0].name }
    }

    @Test("a 2-layer MLP with a large hidden size on 1x8 NVLink devices is column- then row-parallel")
    func megatronMLP() throws {
        let graph = try ModelCatalog.model(id: "mlp-2")!.build()
        let layout = try search(graph, shape: [1, 8])
        // h = x w1 splits w1's output features f; y = a w2 splits the contracted f, leaving a partial sum.
        #expect(indexName(graph, layout, op: "h", axis: 1) == "f")
        #expect(indexName(graph, layout, op: "y", axis: 1) == "f")
        let y = graph.operations.firstIndex { $0.name == "y" }!
        #expect(layout.strategy(of: y).resultSpec(in: graph.operations[y].indexSpace).partialAxes == [1])
    }

    @Test("a small model with a large batch is pure data parallelism")
    func dataParallel() throws {
        var builder = GraphBuilder(name: "small-wide-batch")
        let x = try builder.input("x", [65536, 64], .bf16)
        let w1 = try builder.parameter("w1", [64, 64])
        let w2 = try builder.parameter("w2", [64, 64])
        let h = try builder.einsum("h", "bd,df->bf", x, w1)
        let a = try builder.unary("a", .gelu, h)
        let y = try builder.einsum("y", "bf,fd->bd", a, w2)
        builder.output(try builder.add("loss", .reduce(.mean, axes: [0, 1], keepDimensions: false), [y]))
        let graph = try builder.build()
        let layout = try search(graph, shape: [1, 8])
        let roles = TensorRoles(graph)
        for name in ["h", "a", "y"] {
            let op = graph.operations.firstIndex { $0.name == name }!
            #expect(layout.strategy(of: op).indexOfAxis[1] == roles.batchIndex[op], "op \(name) splits its batch")
        }
    }

    @Test("a tight memory budget makes the search shard the parameters")
    func memoryShardsParameters() throws {
        var builder = GraphBuilder(name: "big-weights")
        var current = try builder.input("x", [64, 4096], .bf16)
        for layer in 0..<3 {
            let weight = try builder.parameter("w\(layer)", [4096, 4096])
            current = try builder.einsum("h\(layer)", "bd,df->bf", current, weight)
        }
        builder.output(try builder.add("loss", .reduce(.mean, axes: [0, 1], keepDimensions: false), [current]))
        let graph = try builder.build()
        // Replicated, the three weights need 3 x 16.8 M x 18 bytes = 906 MB per device.
        let unconstrained = try search(graph, shape: [8, 1])
        let constrained = try search(graph, shape: [8, 1], budget: 300e6)
        let weightSplit = { (layout: StageLayout) in
            (0..<3).filter { self.indexName(graph, layout, op: "h\($0)", axis: 0) != "b" && self.indexName(graph, layout, op: "h\($0)", axis: 0) != nil }.count
        }
        #expect(weightSplit(constrained) == 3, "every weight is split under the budget")
        let model = StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device), options: TrainingOptions(), microbatches: 1)
        #expect(model.cost(of: constrained).modelStateBytes <= 300e6)
        #expect(model.cost(of: unconstrained).modelStateBytes >= model.cost(of: constrained).modelStateBytes)
    }

    @Test("when weights cannot be split, a tight memory budget makes the search pick ZeRO")
    func memoryPicksZeRO() throws {
        var builder = GraphBuilder(name: "indivisible-weights")
        // 4095 = 3^2 x 5 x 7 x 13: no mesh axis of 8 divides a weight dimension.
        var current = try builder.input("x", [64, 4095], .bf16)
        for layer in 0..<2 {
            let weight = try builder.parameter("w\(layer)", [4095, 4095])
            current = try builder.einsum("h\(layer)", "bd,df->bf", current, weight)
        }
        builder.output(try builder.add("loss", .reduce(.mean, axes: [0, 1], keepDimensions: false), [current]))
        let graph = try builder.build()
        // Replicated, two weights need 2 x 16.8 M x 18 bytes = 604 MB; ZeRO-1 over 8 devices 2 x 16.8 M x 7.5 = 252 MB.
        let layout = try search(graph, shape: [8, 1], budget: 400e6)
        for name in ["h0", "h1"] {
            let op = graph.operations.firstIndex { $0.name == name }!
            #expect(layout.strategy(of: op).zeroStage >= 1, "op \(name) shards its weight's training state")
        }
        let model = StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device), options: TrainingOptions(), microbatches: 1)
        #expect(model.cost(of: layout).modelStateBytes <= 400e6)
    }

    @Test("attention splits heads")
    func attentionSplitsHeads() throws {
        var builder = GraphBuilder(name: "attention-block")
        let x = try builder.input("x", [1, 256, 512], .bf16)
        let projections = try ["q", "k", "v"].map { name in
            let weight = try builder.parameter("w\(name)", [512, 8, 64])
            return try builder.einsum(name, "bsd,dhk->bshk", x, weight)
        }
        let context = try builder.attention("attention", q: projections[0], k: projections[1], v: projections[2], causal: true)
        let wo = try builder.parameter("wo", [8, 64, 512])
        let out = try builder.einsum("out", "bshk,hkd->bsd", context, wo)
        builder.output(try builder.add("loss", .reduce(.mean, axes: [0, 1, 2], keepDimensions: false), [out]))
        let graph = try builder.build()
        let layout = try search(graph, shape: [1, 4])
        #expect(indexName(graph, layout, op: "attention", axis: 1) == "heads")
    }
}

@Suite("Single-stage planner against published configurations")
struct SingleStagePlanQualityTests {
    @Test("on 8 A100s the searched plan for GPT-22B is no slower than Korthikanti et al.'s tp=8 configuration")
    func korthikanti22B() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let data = try Data(contentsOf: root.appendingPathComponent("Docs/calibration/published-runs.json"))
        let document = try JSONValue.parseDocument(Array(data), document: "published-runs.json")
        let runs = try PublishedRun.rows(in: document).runs.filter { $0.id.hasPrefix("korthikanti22-22B") }
        #expect(runs.count == 2)
        for run in runs {
            let replay = try CalibrationRun.replay(run)
            let published = try CalibrationRun(run).predictedSeconds
            let found = try SingleStagePlanner(graph: replay.graph, cluster: replay.cluster, clusterName: replay.clusterName,
                                               options: replay.configuration.options, recomputeModes: [replay.configuration.options.recompute]).plan()
            #expect(found.prediction.iterationSeconds <= published * (1 + 1e-9), "\(run.id): searched \(found.prediction.iterationSeconds) s vs published \(published) s")
            #expect(found.prediction.fitsInMemory)
        }
    }
}
