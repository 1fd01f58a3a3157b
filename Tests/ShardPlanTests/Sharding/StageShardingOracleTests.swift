import Testing
@testable import ShardPlan

@Suite("Stage sharding ILP on random graphs against exhaustive enumeration")
struct StageShardingOracleTests {
    /// A random graph of up to 6 ops drawn from the catalog over 2-D activations.
    static func randomGraph(seed: UInt64) throws -> Graph {
        var random = SplitMix64(seed: seed)
        var builder = GraphBuilder(name: "random-\(seed)")
        let batch = [8, 16].randomElement(using: &random)!
        var width = [8, 16].randomElement(using: &random)!
        var current = try builder.input("x", [batch, width], .bf16)
        var tensors = [current]
        let count = Int.random(in: 2...6, using: &random)
        for index in 0..<count {
            let name = "op\(index)"
            switch Int.random(in: 0..<8, using: &random) {
            case 0, 1:
                let next = [8, 16, 32].randomElement(using: &random)!
                let weight = try builder.parameter("w\(index)", [width, next])
                current = try builder.einsum(name, "bd,df->bf", current, weight)
                width = next
            case 2: current = try builder.unary(name, .gelu, current)
            case 3:
                let bias = try builder.parameter("bias\(index)", [width])
                current = try builder.binary(name, .add, current, bias)
            case 4: current = try builder.add(name, .softmax(axis: 1), [current])
            case 5:
                let scale = try builder.parameter("gamma\(index)", [width])
                let shift = try builder.parameter("beta\(index)", [width])
                current = try builder.layerNorm(name, current, scale: scale, shift: shift)
            case 6:
                if let other = tensors.last(where: { builder.type(of: $0) == builder.type(of: current) && $0 != current }) {
                    current = try builder.binary(name, .mul, current, other)
                } else {
                    current = try builder.unary(name, .tanh, current)
                }
            default:
                current = try builder.add(name, .reduce(.sum, axes: [1], keepDimensions: true), [current])
                width = 1
            }
            tensors.append(current)
        }
        let loss = try builder.add("loss", .reduce(.mean, axes: [0, 1], keepDimensions: false), [current])
        builder.output(loss)
        return try builder.build()
    }

    static let meshes: [[Int]] = [[1, 4], [2, 2], [2, 4]]

    @Test("the ILP's objective equals brute force on 54 random graphs", arguments: 0..<54)
    func randomGraphs(seed: Int) throws {
        let graph = try Self.randomGraph(seed: UInt64(seed) * 7 + 3)
        let shape = Self.meshes[seed % Self.meshes.count]
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let mesh = try DeviceMesh(devices: Array(0..<shape.reduce(1, *)), shape: shape, in: cluster)
        let model = StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device), options: TrainingOptions(), microbatches: 1)
        let stage = StageShardingProblem(operations: 0..<graph.operations.count, mesh: mesh, model: model, inFlight: 1,
                                         memoryBudget: nil, layers: [])
        let solution = try ShardingSolver().solve(stage.problem)
        let best = try #require(ExhaustiveSharding.optimum(stage.problem))
        #expect(abs(solution.cost - best.cost) <= 1e-7 * best.cost, "ILP \(solution.cost) vs brute force \(best.cost) on mesh \(shape)")
    }
    @Test("pinned ops keep the given strategy; the rest is the best around them, never better than the unpinned optimum", arguments: 0..<12)
    func pinnedOperations(seed: Int) throws {
        let graph = try Self.randomGraph(seed: UInt64(seed) * 11 + 5)
        let shape = Self.meshes[seed % Self.meshes.count]
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let mesh = try DeviceMesh(devices: Array(0..<shape.reduce(1, *)), shape: shape, in: cluster)
        let model = StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device), options: TrainingOptions(), microbatches: 1)
        let operations = 0..<graph.operations.count
        let free = try IntraOperatorSearch().search(model: model, operations: operations, mesh: mesh, inFlight: 1, memoryBudget: nil, layers: [])
        // Every op pinned to the optimum: the same layout and cost.
        let all = Dictionary(uniqueKeysWithValues: operations.map { ($0, free.layout.strategy(of: $0)) })
        let same = try IntraOperatorSearch().search(model: model, operations: operations, mesh: mesh, inFlight: 1, memoryBudget: nil, layers: [], pinned: all)
        #expect(same.layout.strategies == free.layout.strategies)
        // Every other op pinned to its last candidate: those keep it, and the ILP's cost is the brute-force
        // optimum of the pinned problem and no better than the unpinned optimum.
        let terms = StageCostTerms(model: model, operations: operations, mesh: mesh, inFlight: 1, prices: nil)
        let pins = Dictionary(uniqueKeysWithValues: operations.filter { $0 % 2 == 0 }.map { ($0, terms.candidates(of: $0).last!) })
        let stage = StageShardingProblem(operations: operations, mesh: mesh, model: model, inFlight: 1, memoryBudget: nil, layers: [], pinned: pins)
        let solution = try ShardingSolver().solve(stage.problem)
        let layout = stage.layout(for: solution.choice)
        for (op, strategy) in pins { #expect(layout.strategy(of: op) == strategy) }
        let best = try #require(ExhaustiveSharding.optimum(stage.problem))
        #expect(abs(solution.cost - best.cost) <= 1e-7 * best.cost)
        #expect(solution.cost >= free.solution.cost * (1 - 1e-9))
    }
}
