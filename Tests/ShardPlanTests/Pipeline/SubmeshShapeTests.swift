import Testing
@testable import ShardPlan

@Suite("submesh shapes and placement")
struct SubmeshShapeTests {
    @Test("stage shapes are power-of-two slices of a node that divide it, the larger ones that leave the largest's room, then whole nodes",
          arguments: [(2, 8, ["1x1", "1x2", "1x4", "1x8", "2x8"]), (3, 6, ["1x1", "1x2", "1x4", "1x6", "2x6", "3x6"]),
                      (1, 1, ["1x1"]), (4, 1, ["1x1", "2x1", "3x1", "4x1"]),
                      (1, 72, ["1x1", "1x2", "1x4", "1x8", "1x16", "1x32", "1x64", "1x72"]),
                      (1, 56, ["1x1", "1x2", "1x4", "1x8", "1x32", "1x56"]), (2, 3, ["1x1", "1x2", "1x3", "2x3"])])
    func candidates(nodes: Int, devicesPerNode: Int, shapes: [String]) {
        #expect(SubmeshShape.candidates(nodes: nodes, devicesPerNode: devicesPerNode).map(\.description) == shapes)
    }

    @Test("Alpa's power-of-two space keeps whole-node counts 1, 2, 4, ...")
    func powersOfTwo() {
        #expect(SubmeshShape.candidates(nodes: 6, devicesPerNode: 4, nodeCounts: .powersOfTwo).map(\.description)
                == ["1x1", "1x2", "1x4", "2x4", "4x4"])
    }

    @Test("a submesh's logical meshes are the cluster module's")
    func logicalShapes() {
        let shape = SubmeshShape(nodes: 2, devicesPerNode: 8)
        #expect(shape.deviceCount == 16)
        #expect(shape.logicalShapes == DeviceMesh.logicalShapes(nodes: 2, devicesPerNode: 8))
        #expect(shape.logicalShapes.contains([2, 8]) && shape.logicalShapes.contains([16, 1]))
    }

    @Test("whole nodes go first in stage order, slices largest first into the nodes left")
    func placement() {
        let shapes = [(2, 8), (1, 2), (1, 8), (1, 4), (1, 2)].map { SubmeshShape(nodes: $0.0, devicesPerNode: $0.1) }
        let devices = SubmeshShape.placement(of: shapes, nodes: 4, devicesPerNode: 8)
        #expect(devices == [Array(0 ..< 16), Array(28 ..< 30), Array(16 ..< 24), Array(24 ..< 28), Array(30 ..< 32)])
    }

    @Test("submeshes that need more than the cluster, or straddle nodes, are not placed")
    func impossiblePlacements() {
        let slice = SubmeshShape(nodes: 1, devicesPerNode: 4)
        #expect(SubmeshShape.placement(of: [slice, slice, slice], nodes: 1, devicesPerNode: 8) == nil)
        #expect(SubmeshShape.placement(of: [SubmeshShape(nodes: 3, devicesPerNode: 8)], nodes: 2, devicesPerNode: 8) == nil)
        #expect(SubmeshShape.placement(of: [slice, slice, slice], nodes: 2, devicesPerNode: 6) == nil,
                "12 devices of 2 x 6, but a node holds one slice of 4")
    }

    @Test("any candidate shapes adding up to at most the cluster, and admitted by the packing count, are placed on disjoint devices, slices inside one node",
          arguments: 1 ... 20)
    func coveringCondition(seed: Int) throws {
        var state = UInt64(seed)
        let (nodes, devicesPerNode) = [(4, 8), (3, 4), (5, 2), (2, 16), (3, 6)][seed % 5]
        let candidates = SubmeshShape.candidates(nodes: nodes, devicesPerNode: devicesPerNode)
        let packing = SubmeshPacking(shapes: candidates, nodes: nodes, devicesPerNode: devicesPerNode)
        var shapes: [SubmeshShape] = []
        var chosen: [Int] = []
        var used = 0
        while true {
            let index = Int(SyntheticStageCostOracle.mix(&state) % UInt64(candidates.count))
            guard used + candidates[index].deviceCount <= nodes * devicesPerNode, packing.admits(chosen + [index]) else { break }
            shapes.append(candidates[index])
            chosen.append(index)
            used += candidates[index].deviceCount
        }
        let devices = try #require(SubmeshShape.placement(of: shapes, nodes: nodes, devicesPerNode: devicesPerNode))
        let all = devices.flatMap { $0 }
        #expect(Set(all).count == all.count && all.allSatisfy { 0 ..< nodes * devicesPerNode ~= $0 })
        for (shape, ids) in zip(shapes, devices) {
            #expect(ids.count == shape.deviceCount)
            #expect(Set(ids.map { $0 / devicesPerNode }).count == shape.nodes, "\(shape) on \(ids)")
        }
    }

    @Test("a submesh's representative mesh takes the first devices of the first nodes")
    func representativeMesh() throws {
        let cluster = try Cluster.preset(named: "dgx-a100-80g:4")
        let mesh = try SubmeshShape(nodes: 2, devicesPerNode: 8).representativeMesh(shape: [2, 8], in: cluster)
        #expect(mesh.devices == Array(0 ..< 16) && mesh.shape == [2, 8])
        let slice = try SubmeshShape(nodes: 1, devicesPerNode: 4).representativeMesh(shape: [2, 2], in: cluster)
        #expect(slice.devices == [0, 1, 2, 3])
    }
}
