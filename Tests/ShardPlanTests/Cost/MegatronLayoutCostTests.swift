import Testing
@testable import ShardPlan

/// SPEC §1's two-layer MLP: h = x w1 (bd,df->bf), a = gelu(h), y = a w2 (bf,fd->bd), loss = mean(y).
@Suite("Megatron layout of the two-layer MLP")
struct MegatronLayoutCostTests {
    let graph: Graph

    init() throws {
        graph = try #require(ModelCatalog.model(id: "mlp-2")).build()
    }

    @Test("on a [1, 8] mesh the first product is column parallel and the second row parallel")
    func tensorParallel() throws {
        let strategies = MegatronLayout().strategies(for: graph, meshShape: [1, 8])
        #expect(strategies.count == 4)
        let first = graph.operations[0].indexSpace
        #expect(strategies[0].indexOfAxis == [nil, first.position(of: "f")])
        #expect(strategies[0].resultSpec(in: first) == ShardingSpec(dimensionAxes: [[], [1]]))
        // gelu keeps f split.
        #expect(strategies[1].resultSpec(in: graph.operations[1].indexSpace) == ShardingSpec(dimensionAxes: [[], [1]]))
        let second = graph.operations[2].indexSpace
        #expect(strategies[2].indexOfAxis == [nil, second.position(of: "f")])
        #expect(strategies[2].operandSpec(1, in: second) == ShardingSpec(dimensionAxes: [[1], []]))
        #expect(strategies[2].resultSpec(in: second) == ShardingSpec(dimensionAxes: [[], []], partialSums: [[1]]))
        // The loss reads y reduced and is replicated along the tensor axis.
        #expect(strategies[3].indexOfAxis == [nil, nil])
    }

    @Test("on an [8, 1] mesh every op splits the batch and nothing else")
    func dataParallel() {
        let strategies = MegatronLayout().strategies(for: graph, meshShape: [8, 1])
        let roles = TensorRoles(graph)
        for (index, strategy) in strategies.enumerated() {
            #expect(strategy.indexOfAxis[MegatronLayout.tensorAxis] == nil)
            #expect(strategy.indexOfAxis[MegatronLayout.dataAxis] != nil)
            #expect(strategy.indexOfAxis[MegatronLayout.dataAxis] == roles.batchIndex[index])
        }
        let first = graph.operations[0].indexSpace
        #expect(strategies[0].indexOfAxis[0] == first.position(of: "b"))
        // The mean over the batch leaves each device a partial sum over the data axis.
        #expect(strategies[3].resultSpec(in: graph.operations[3].indexSpace).partialAxes == [0])
    }
}
