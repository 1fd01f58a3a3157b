import Testing
@testable import ShardPlan

/// `h = einsum("bd,df->bf", x, w)` with x [8, 16] and w [16, 32], on a [2, 4] mesh.
@Suite("Op strategies of a matrix product")
struct OpStrategyCostTests {
    let graph: Graph
    let operation: Operation
    var space: IndexSpace { operation.indexSpace }

    init() throws {
        var builder = GraphBuilder(name: "product")
        let x = try builder.input("x", [8, 16], .bf16)
        let w = try builder.parameter("w", [16, 32])
        let h = try builder.einsum("h", "bd,df->bf", x, w)
        builder.output(h)
        graph = try builder.build()
        operation = graph.operations[0]
    }

    func strategy(axis1 name: String) throws -> OpStrategy {
        OpStrategy(indexOfAxis: [nil, try #require(space.position(of: name) as Int?)])
    }

    func isValid(_ strategy: OpStrategy, meshShape: [Int]) -> Bool {
        strategy.isValid(for: operation, operandShapes: [[8, 16], [16, 32]], resultShape: [8, 32], meshShape: meshShape)
    }

    @Test("splitting f on axis 1 is column parallelism: w and h split along f, x's gradient partial over axis 1")
    func columnParallel() throws {
        let strategy = try strategy(axis1: "f")
        #expect(strategy.operandSpec(0, in: space) == ShardingSpec(dimensionAxes: [[], []]))
        #expect(strategy.operandSpec(1, in: space) == ShardingSpec(dimensionAxes: [[], [1]]))
        #expect(strategy.resultSpec(in: space) == ShardingSpec(dimensionAxes: [[], [1]]))
        #expect(strategy.gradientSpec(0, in: space) == ShardingSpec(dimensionAxes: [[], []], partialSums: [[1]]))
        #expect(strategy.gradientSpec(1, in: space) == ShardingSpec(dimensionAxes: [[], [1]]))
        #expect(isValid(strategy, meshShape: [2, 4]))
    }

    @Test("splitting the summed d on axis 1 is row parallelism: the result is partial over axis 1")
    func rowParallel() throws {
        let strategy = try strategy(axis1: "d")
        #expect(strategy.operandSpec(0, in: space) == ShardingSpec(dimensionAxes: [[], [1]]))
        #expect(strategy.operandSpec(1, in: space) == ShardingSpec(dimensionAxes: [[1], []]))
        #expect(strategy.resultSpec(in: space) == ShardingSpec(dimensionAxes: [[], []], partialSums: [[1]]))
        // Both operands carry d, so neither gradient is partial.
        #expect(strategy.gradientSpec(0, in: space).partialAxes.isEmpty)
        #expect(strategy.gradientSpec(1, in: space).partialAxes.isEmpty)
    }

    @Test("splitting the batch on axis 0 leaves the weight's gradient partial over axis 0 (data parallelism)")
    func dataParallel() throws {
        let strategy = OpStrategy(indexOfAxis: [try #require(space.position(of: "b") as Int?), nil])
        #expect(strategy.resultSpec(in: space) == ShardingSpec(dimensionAxes: [[0], []]))
        #expect(strategy.gradientSpec(1, in: space) == ShardingSpec(dimensionAxes: [[], []], partialSums: [[0]]))
    }

    @Test("a split that does not divide the index is invalid", arguments: [
        ("d", [1, 3]),  // 16 % 3 != 0
        ("f", [1, 64]), // 32 % 64 != 0
        ("b", [1, 16]), // 8 % 16 != 0
    ])
    func unevenSplit(name: String, meshShape: [Int]) throws {
        #expect(!isValid(try strategy(axis1: name), meshShape: meshShape))
    }

    @Test("the replicated strategy is valid on any mesh")
    func replicated() {
        #expect(isValid(.replicated(axisCount: 2), meshShape: [3, 5]))
    }
}
