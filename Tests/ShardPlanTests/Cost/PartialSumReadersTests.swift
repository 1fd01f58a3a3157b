import Testing
@testable import ShardPlan

/// `h = einsum("bsd,df->bsf", x, w)` with x [8, 32, 16] and w [16, 32] f32, read by two ops, `z = exp(h)` and
/// `r = h + z`, on a [2, 2] mesh (axis 0 "x", axis 1 "y"). With d split by y the einsum leaves h [8, 32, 32] as
/// partial sums over y; with b split by x each device holds [4, 32, 32] f32, 16,384 bytes. XLA reduces them
/// once, since the plan pins h reduced (`shardings`), and both readers read that value: a Llama block's embedding
/// lookup with the table split on the vocabulary, read by the first RMSNorm and the residual add, compiled one
/// `[1, 32, 128]` all-reduce where the planner priced two (Docs/jax.md).
@Suite("Partial sums read by several ops are reduced once")
struct PartialSumReadersTests {
    let graph: Graph

    init() throws {
        var builder = GraphBuilder(name: "two-readers")
        let x = try builder.input("x", [8, 32, 16], .f32)
        let w = try builder.parameter("w", [16, 32], .f32)
        let h = try builder.einsum("h", "bsd,df->bsf", x, w)
        let z = try builder.unary("z", .exp, h)
        let r = try builder.binary("r", .add, h, z)
        builder.output(r)
        graph = try builder.build()
    }

    /// The einsum splits b by x and d by y; `exp` and the add split their first dimension by x, and `exp` its second
    /// by y where `firstSplitsSequence`.
    func stage(on mesh: DeviceMesh, firstSplitsSequence: Bool = false) throws -> StageLayout {
        let einsum = graph.operations[0].indexSpace
        let product = OpStrategy(indexOfAxis: [try #require(einsum.position(of: "b") as Int?), try #require(einsum.position(of: "d") as Int?)])
        func split(_ op: Int, sequence: Bool) throws -> OpStrategy {
            let space = graph.operations[op].indexSpace
            return OpStrategy(indexOfAxis: [try #require(space.position(of: "d0") as Int?), sequence ? try #require(space.position(of: "d1") as Int?) : nil])
        }
        return StageLayout(operations: 0 ..< 3, mesh: mesh, strategies: [product, try split(1, sequence: firstSplitsSequence), try split(2, sequence: false)])
    }

    func model(_ cluster: Cluster) -> StageCostModel {
        StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device), options: TrainingOptions(), microbatches: 1)
    }

    @Test("h's partial sums over y take one 16,384-byte all-reduce, charged to its first reader; the second reads it as held")
    func oneReduction() throws {
        let cluster = try Cluster.preset(named: "dgx-a100-80g")
        let mesh = try DeviceMesh(devices: [0, 1, 2, 3], shape: [2, 2], in: cluster)
        let layout = try stage(on: mesh)
        #expect(layout.strategy(of: 0).resultSpec(in: graph.operations[0].indexSpace).partialSums == [[1]])
        #expect(model(cluster).cost(of: layout).communicationBytesByAxes == [[1]: [.allReduce: 16384]])
    }

    /// `exp` reads h split by y along the sequence, the add whole: h is all-reduced once (16,384 bytes) into its
    /// reduced layout and each reader reads it from there (`exp` slices it, free; a reduce-scatter for `exp` would
    /// leave the add to gather it back). z, which `exp` leaves split, is all-gathered for the add (16,384 after
    /// gathering), and `exp`'s gradient goes back to h's reduced layout, whole, another all-gather.
    @Test("a sum several ops read is all-reduced once, even where its first reader splits it")
    func sharedSumAllReducedOnce() throws {
        let cluster = try Cluster.preset(named: "dgx-a100-80g")
        let mesh = try DeviceMesh(devices: [0, 1, 2, 3], shape: [2, 2], in: cluster)
        let layout = try stage(on: mesh, firstSplitsSequence: true)
        #expect(model(cluster).cost(of: layout).communicationBytesByAxes == [[1]: [.allReduce: 16384, .allGather: 2 * 16384]])
    }

    @Test("the search's terms agree: h's first reader all-reduces it, the second reads the reduced value; each link costs what the exact model charges",
          arguments: [false, true])
    func searchLinks(firstSplitsSequence: Bool) throws {
        let cluster = try Cluster.preset(named: "dgx-a100-80g")
        let mesh = try DeviceMesh(devices: [0, 1, 2, 3], shape: [2, 2], in: cluster)
        let layout = try stage(on: mesh, firstSplitsSequence: firstSplitsSequence)
        let terms = StageCostTerms(model: model(cluster), operations: 0 ..< 3, mesh: mesh, inFlight: 1)
        let links = terms.links().filter { $0.from == 0 }
        #expect(links.map(\.kind) == [.sharedActivation, .reducedActivation])
        let seconds = links.map { link in
            terms.linkSeconds(link, produced: [terms.producerLayout(link, layout.strategy(of: 0))],
                              consumed: [terms.consumerLayout(link, layout.strategy(of: link.to))])[0][0]
        }
        // The first link carries the all-reduce (and, where exp splits, its gradient's all-gather back); the add
        // reads the reduced value as it wants it and returns its gradient in that layout.
        #expect(seconds[0] > 0 && seconds[1] == 0)
        let allReduce = terms.seconds([Collective(.allReduce, axes: [1], bytes: 16384)])
        let gather = terms.seconds([Collective(.allGather, axes: [1], bytes: 16384)])
        #expect(abs(seconds[0] - allReduce - (firstSplitsSequence ? gather : 0)) < 1e-12)
    }

    /// A value without partial sums is read by every reader from its producer's layout, whatever the first reader read
    /// it in: `exp` reads z's input split by y, and the add reads it whole from the einsum's result, not gathered back.
    @Test("readers of a value without partial sums read it from its producer, not from the first reader")
    func wholeValueReadFromProducer() throws {
        let cluster = try Cluster.preset(named: "dgx-a100-80g")
        let mesh = try DeviceMesh(devices: [0, 1, 2, 3], shape: [2, 2], in: cluster)
        let space = graph.operations[0].indexSpace
        let whole = OpStrategy(indexOfAxis: [try #require(space.position(of: "b") as Int?), nil])
        var layout = try stage(on: mesh, firstSplitsSequence: true)
        layout = StageLayout(operations: 0 ..< 3, mesh: mesh, strategies: [whole, layout.strategy(of: 1), layout.strategy(of: 2)])
        // Forward: z all-gathered for the add (16,384 bytes); backward: exp's gradient back to h's layout, whole.
        #expect(model(cluster).cost(of: layout).communicationBytesByAxes == [[1]: [.allGather: 2 * 16384]])
    }
}
