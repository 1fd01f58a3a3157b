import Testing
@testable import ShardPlan

@Suite("einsum shape rule")
struct EinsumShapeTests {
    @Test("bd,df->bf multiplies a batch of rows by a weight")
    func matrixProduct() throws {
        var builder = GraphBuilder(name: "t")
        let x = try builder.input("x", [8, 16], .bf16)
        let w = try builder.parameter("w", [16, 32])
        let y = try builder.add("y", .einsum(try EinsumEquation("bd,df->bf")), [x, w])
        #expect(builder.type(of: y) == TensorType([8, 32], .bf16))
    }
}
