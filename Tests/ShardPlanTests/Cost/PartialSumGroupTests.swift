import Testing
@testable import ShardPlan

/// `h = einsum("bsd,df->bsf", x, w)` with x [8, 32, 16] and w [16, 32] f32 (2,048 bytes), and `r`, the sum of
/// x over b and s (16 f32, 64 bytes), on a [2, 2] mesh (axis 0 "x", axis 1 "y"). The expectations are what XLA's SPMD partitioner compiled for the same sums in
/// the JAX check (Docs/cost-model.md, "Partial sums").
@Suite("Partial sums: one collective per summed index")
struct PartialSumGroupTests {
    let graph: Graph
    var space: IndexSpace { graph.operations[0].indexSpace }

    init() throws {
        var builder = GraphBuilder(name: "projection")
        let x = try builder.input("x", [8, 32, 16], .f32)
        let w = try builder.parameter("w", [16, 32], .f32)
        let h = try builder.einsum("h", "bsd,df->bsf", x, w)
        let z = try builder.unary("z", .exp, x)
        let r = try builder.add("r", .reduce(.sum, axes: [0, 1], keepDimensions: false), [x])
        builder.output(h)
        builder.output(z)
        builder.output(r)
        graph = try builder.build()
    }

    func strategy(x: String?, y: String?) throws -> OpStrategy {
        OpStrategy(indexOfAxis: [try x.map { try #require(space.position(of: $0) as Int?) },
                                 try y.map { try #require(space.position(of: $0) as Int?) }])
    }

    func collectives(_ source: ShardingSpec, _ target: ShardingSpec) -> [Collective] {
        Resharding.collectives(from: source, to: target, elementCount: 512, bytesPerElement: 4, meshShape: [2, 2])
    }

    @Test("w's gradient with the sequence split by x and the batch by y is partial in two groups, one per index")
    func groupsByIndex() throws {
        let gradient = try strategy(x: "s", y: "b").gradientSpec(1, in: space)
        #expect(gradient.partialSums == [[0], [1]])
        #expect(gradient.partialAxes == [0, 1])
        #expect(try strategy(x: "b", y: "b").gradientSpec(1, in: space).partialSums == [[0, 1]])
    }

    @Test("two groups take two all-reduces of the whole 2,048-byte buffer; one index split by (x, y) takes one")
    func oneAllReducePerGroup() {
        let replicated = ShardingSpec.replicated(rank: 2)
        #expect(collectives(ShardingSpec(dimensionAxes: [[], []], partialSums: [[0], [1]]), replicated) == [
            Collective(.allReduce, axes: [0], bytes: 2048), Collective(.allReduce, axes: [1], bytes: 2048),
        ])
        #expect(collectives(ShardingSpec(dimensionAxes: [[], []], partialSums: [[0, 1]]), replicated) == [
            Collective(.allReduce, axes: [0, 1], bytes: 2048),
        ])
    }

    @Test("a target split by y reduce-scatters y's group first (2,048 bytes), then all-reduces x's on the 1,024-byte half")
    func scatterBeforeAllReduce() {
        let target = ShardingSpec(dimensionAxes: [[1], []])
        #expect(collectives(ShardingSpec(dimensionAxes: [[], []], partialSums: [[0], [1]]), target) == [
            Collective(.reduceScatter, axes: [1], bytes: 2048), Collective(.allReduce, axes: [0], bytes: 1024),
        ])
        #expect(collectives(ShardingSpec(dimensionAxes: [[], []], partialSums: [[0, 1]]), target) == [
            Collective(.reduceScatter, axes: [1], bytes: 2048), Collective(.allReduce, axes: [0], bytes: 1024),
        ])
    }

    @Test("a reduction all-reduces each group whole and slices: x's group on the whole 64 bytes, y's as a reduce-scatter of all 64; one (x, y) group as a reduce-scatter over both")
    func reductionSlicesLast() throws {
        let reduce = graph.operations[2].indexSpace
        let sum = OpStrategy(indexOfAxis: [try #require(reduce.position(of: "r1") as Int?), try #require(reduce.position(of: "r0") as Int?)])
        let partial = sum.resultSpec(in: reduce)
        #expect(partial.partialSums == [[0], [1]] && !partial.partialSumsFromContraction)
        #expect(try strategy(x: "s", y: "b").resultSpec(in: space).partialSumsFromContraction)
        let target = ShardingSpec(dimensionAxes: [[1]])
        func collectives(_ source: ShardingSpec) -> [Collective] {
            Resharding.collectives(from: source, to: target, elementCount: 16, bytesPerElement: 4, meshShape: [2, 2])
        }
        #expect(collectives(partial) == [Collective(.allReduce, axes: [0], bytes: 64), Collective(.reduceScatter, axes: [1], bytes: 64)])
        #expect(collectives(ShardingSpec(dimensionAxes: [[]], partialSums: [[0, 1]], fromContraction: false))
            == [Collective(.reduceScatter, axes: [0, 1], bytes: 64)])
    }

    @Test("a plan document's partial axes match the grouped layout they were written from")
    func documentedAxes() {
        var written = ShardingSpec(dimensionAxes: [[], []])
        written.partialAxes = [1, 0]
        let grouped = ShardingSpec(dimensionAxes: [[], []], partialSums: [[1], [0]])
        #expect(written.partialSums == [[0, 1]])
        #expect(grouped.partialSums == [[0], [1]])
        #expect(grouped.hasSameAxes(as: written) && grouped != written)
    }

    @Test("a stage synchronises w's gradient over x and over y (2,048 bytes each); x, read as [-, y, x] by z, arrives as h reads it, [y, x, -], and pays an all-to-all over y and a collective-permute (4,096 bytes each)")
    func stageCost() throws {
        let cluster = try Cluster.preset(named: "dgx-a100-80g")
        let mesh = try DeviceMesh(devices: [0, 1, 2, 3], shape: [2, 2], in: cluster)
        let z = graph.operations[1].indexSpace
        let elementwise = OpStrategy(indexOfAxis: [try #require(z.position(of: "d2") as Int?), try #require(z.position(of: "d1") as Int?)])
        let stage = StageLayout(operations: 0 ..< 2, mesh: mesh, strategies: [try strategy(x: "s", y: "b"), elementwise])
        let model = StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device), options: TrainingOptions(),
                                   microbatches: 1)
        let cost = model.cost(of: stage)
        #expect(cost.gradientSynchronizationBytesByAxes == [[0]: [.allReduce: 2048], [1]: [.allReduce: 2048]])
        #expect(cost.communicationBytesByAxes == [[1]: [.allToAll: 4096], [0, 1]: [.sendReceive: 4096]])
    }
}
