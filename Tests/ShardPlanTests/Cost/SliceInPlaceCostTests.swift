import Testing
@testable import ShardPlan

/// A slice whose readers are all pointwise (through views) is read in place, as Megatron's fused SwiGLU
/// reads the gate and up halves of one GEMM output; a slice another kernel reads is a copy.
@Suite("Slices read in place")
struct SliceInPlaceCostTests {
    let kernels = KernelModel(peakFLOPs: [.bf16: 100e12], memoryBandwidth: 1e12, multiprocessors: 100,
                              bestMatmulEfficiency: 1, memoryEfficiency: 0.5, launchSeconds: 10e-6)

    func cost(of name: String, in graph: Graph) throws -> OperatorCost {
        let index = try #require(graph.operations.firstIndex { $0.name == name })
        let model = OperatorCostModel(graph: graph, kernels: kernels, meshShape: [1], microbatches: 1)
        return model.cost(index, OpStrategy(indexOfAxis: [nil]))
    }

    /// `silu(gate) * up` with gate and up the two halves of one `[64, 2, 256]` bf16 GEMM output, cut by slices
    /// read through reshapes (`reshapeUp`) or, for up, by an einsum instead of the multiply (`upByEinsum`).
    func gatedGraph(upByEinsum: Bool) throws -> Graph {
        var g = GraphBuilder(name: "swiglu")
        let merged = try g.einsum("gate+up", "bd,dtf->btf", try g.input("x", [64, 32], .bf16), try g.parameter("w", [32, 2, 256]))
        let gate = try g.reshape("gate", try g.add("gate.part", .slice(axis: 1, start: 0, end: 1), [merged]), [64, 256])
        let up = try g.reshape("up", try g.add("up.part", .slice(axis: 1, start: 1, end: 2), [merged]), [64, 256])
        let silu = try g.unary("silu", .silu, gate)
        if upByEinsum {
            g.output(try g.einsum("gated", "bf,bf->b", silu, up))
        } else {
            g.output(try g.binary("gated", .mul, silu, up))
        }
        return try g.build()
    }

    @Test("slices feeding silu and the multiply cost nothing; the multiply reads up's 32768 bytes and writes 32768")
    func pointwiseReadersReadInPlace() throws {
        let graph = try gatedGraph(upByEinsum: false)
        #expect(try cost(of: "gate.part", in: graph).forwardSeconds == 0)
        #expect(try cost(of: "up.part", in: graph).forwardSeconds == 0)
        // silu reads gate (64 x 256 bf16 = 32768 bytes) inside the multiply's kernel; the multiply reads up
        // and writes its result: 65536 bytes at 0.5e12 B/s plus one launch. The same as with two GEMMs.
        #expect(try cost(of: "silu", in: graph).forwardSeconds == 32_768 / 0.5e12)
        #expect(try cost(of: "gated", in: graph).forwardSeconds == 10e-6 + 65_536 / 0.5e12)
    }

    @Test("a slice an einsum reads is a copy: it reads the whole 65536-byte input and writes 32768")
    func otherReadersCopy() throws {
        let graph = try gatedGraph(upByEinsum: true)
        #expect(try cost(of: "gate.part", in: graph).forwardSeconds == 0)
        #expect(try cost(of: "up.part", in: graph).forwardSeconds == 10e-6 + (65_536 + 32_768) / 0.5e12)
    }
}
