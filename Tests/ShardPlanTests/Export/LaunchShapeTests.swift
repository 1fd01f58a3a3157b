import Testing
@testable import ShardPlan

/// How launchers start a layout's processes on the cluster's nodes: as the plan places its ranks, node by node,
/// never on more nodes than those ranks touch.
@Suite("Launch shape: processes per node as the plan places them")
struct LaunchShapeTests {
    @Test("the ranks fill whole nodes, then part of one more", arguments: [
        // world, devices per node: nodes, processes per node, processes on the last node
        (1024, 8, 128, 8, 8), (64, 4, 16, 4, 4), (4, 8, 1, 4, 4), (6, 8, 1, 6, 6),
        (12, 8, 2, 8, 4), (20, 8, 3, 8, 4), (8, 8, 1, 8, 8),
    ])
    func shape(world: Int, devicesPerNode: Int, nodes: Int, processes: Int, last: Int) {
        let shape = LaunchShape(worldSize: world, devicesPerNode: devicesPerNode)
        #expect(shape.nodes == nodes && shape.processesPerNode == processes && shape.lastNodeProcesses == last, "\(shape)")
        #expect(shape.worldSize == world && shape.isUniform == (processes == last))
        #expect(shape.processesPerNode <= devicesPerNode)
    }

    @Test("an even spread takes the fewest of the cluster's nodes that divide the world, or none", arguments: [
        // world, devices per node, cluster nodes: nodes, processes per node (0, 0: none)
        (12, 8, 2, 2, 6), (16, 8, 2, 2, 8), (20, 8, 4, 4, 5), (9, 8, 2, 0, 0), (4, 8, 1, 1, 4), (12, 8, 4, 2, 6),
    ])
    func evenSpread(world: Int, devicesPerNode: Int, clusterNodes: Int, nodes: Int, processes: Int) {
        let spread = LaunchShape(worldSize: world, devicesPerNode: devicesPerNode).evenSpread(maximumNodes: clusterNodes)
        #expect(spread?.nodes ?? 0 == nodes && spread?.processesPerNode ?? 0 == processes)
        if let spread { #expect(spread.nodes * spread.processesPerNode == world && spread.processesPerNode <= devicesPerNode) }
    }

    /// tp = 4 x pp = 3 on two nodes of 8: the plan's ranks are the first node's 8 devices and 4 of the second's.
    static func partialNodeExports() throws -> [TrainingFramework: FrameworkExport] {
        let graph = try #require(ModelCatalog.model(id: "gpt3-125m")).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:2")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:2",
                                             configuration: MegatronConfiguration(tensorParallel: 4, pipelineParallel: 3, dataParallel: 1))
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        let recognition = try LayoutRecognition(plan)
        var exports: [TrainingFramework: FrameworkExport] = [:]
        for framework in TrainingFramework.allCases {
            exports[framework] = try FrameworkExport(recognition: recognition, of: plan, prediction: prediction, framework: framework)
        }
        return exports
    }

    @Test("12 of 16 devices: torchrun starts 8 on the first node and 4 on the second, never on a third node")
    func partialNode() throws {
        let exports = try Self.partialNodeExports()
        let megatron = try #require(exports[.megatron])
        #expect(megatron.layout.worldSize == 12)
        #expect(megatron.text.contains("\nCUDA_DEVICE_MAX_CONNECTIONS=1 torchrun --nnodes=2 --nproc-per-node=8 pretrain_gpt.py \\\n"))
        let lastNode = "# On the last node start torchrun with --nproc-per-node=4 and the last --node-rank: "
            + "the plan's 12 devices are 8 on the first node and 4 on the last"
        #expect(megatron.text.contains(lastNode))
        let titan = try #require(exports[.torchtitan]).text
        #expect(titan.contains("# Launch: torchrun --nnodes=2 --nproc-per-node=8 -m torchtitan.train") && titan.contains(lastNode))
        // The degrees read back all the same: Megatron-LM's data parallelism is the world over tp x pp.
        let read = try MegatronArgumentReader(megatron.text)
        #expect(read.int("--tensor-model-parallel-size") == 4 && read.int("--pipeline-model-parallel-size") == 3)
    }

    @Test("NeMo's trainer starts as many processes on every node: 12 of two nodes of 8 become 6 on each, with a warning")
    func nemoEvenSpread() throws {
        let nemo = try #require(try Self.partialNodeExports()[.nemo])
        #expect(nemo.text.contains("    trainer.num_nodes=2 \\\n    trainer.devices=6 \\\n"))
        #expect(nemo.text.contains("# Warning: the plan's 12 devices are 8 on the first node and 4 on the last, but NeMo's trainer starts "
                                   + "trainer.devices processes on every node; trainer.num_nodes=2 and trainer.devices=6 spread them evenly instead"))
        #expect(try NeMoOverrideReader(nemo.text).layout() == ReadBackLayout(nemo.layout))
    }

    @Test("NeMo on a cluster where no even spread fits: the nodes the plan touches, and a warning that they start more processes")
    func nemoNoSpread() throws {
        var layout = try #require(try Self.partialNodeExports()[.nemo]).layout
        // tp = 3 x pp = 3: 9 processes, 8 + 1 on two nodes of 8, and 9 splits over 1, 3 or 9 nodes only.
        layout.configuration.tensorParallel = 3
        #expect(layout.worldSize == 9 && layout.clusterNodes == 2)
        let text = NeMoRecipeOverrides(layout).text(header: [])
        #expect(text.contains("    trainer.num_nodes=2 \\\n    trainer.devices=8 \\\n"))
        #expect(text.contains("no even spread fits the cluster's 2 nodes, and trainer.num_nodes=2 with trainer.devices=8 start 16 processes, not the plan's 9."))
    }
}
