import Testing
@testable import ShardPlan

@Suite("mlp-2")
struct TwoLayerPerceptronTests {
    /// SPEC section 1's example document, verbatim.
    static let specExample = #"""
        {
          "format": "shardplan.graph/1",
          "name": "mlp-2",
          "inputs":     [{"name": "x",  "shape": [1024, 4096], "dtype": "bf16", "batch_dim": 0}],
          "parameters": [{"name": "w1", "shape": [4096, 16384], "dtype": "bf16"},
                         {"name": "w2", "shape": [16384, 4096], "dtype": "bf16"}],
          "ops": [
            {"name": "h",    "op": "einsum", "equation": "bd,df->bf", "inputs": ["x", "w1"], "layer": "mlp"},
            {"name": "a",    "op": "gelu",   "inputs": ["h"]},
            {"name": "y",    "op": "einsum", "equation": "bf,fd->bd", "inputs": ["a", "w2"]},
            {"name": "loss", "op": "reduce", "kind": "mean", "axes": [0, 1], "inputs": ["y"]}
          ],
          "outputs": ["loss"]
        }
        """#

    @Test("the catalog's mlp-2 is SPEC section 1's example")
    func equalsSpecExample() throws {
        let spec = try Graph(jsonBytes: Array(Self.specExample.utf8))
        #expect(try BuiltModels.graph("mlp-2") == spec)
    }
}
