import Testing
@testable import ShardPlan

private func close(_ actual: Double, _ expected: Double) -> Bool {
    abs(actual - expected) <= 1e-12 + 1e-9 * abs(expected)
}

@Suite("Device meshes")
struct DeviceMeshTests {
    let twoNodes = try! Cluster.preset(named: "dgx-a100-80g:2")

    @Test("a 2x8 mesh over 2 DGX A100s: axis 0 crosses nodes on one NIC each, axis 1 stays on NVLink")
    func axisLinks() throws {
        let mesh = try DeviceMesh(devices: Array(0 ..< 16), shape: [2, 8], in: twoNodes)
        #expect(mesh.axisNames == ["x", "y"])
        #expect(mesh.groups(alongAxes: [0]) == (0 ..< 8).map { [$0, $0 + 8] })
        #expect(mesh.groups(alongAxes: [1]) == [Array(0 ..< 8), Array(8 ..< 16)])
        let across = mesh.collectiveGroup(alongAxes: [0])
        #expect(across.size == 2 && across.nodeCount == 2)
        #expect(across.allReduceBusBandwidth == 24e9 && across.interNodeLatency == 14e-6)
        let inside = mesh.collectiveGroup(alongAxes: [1])
        #expect(inside.size == 8 && inside.nodeCount == 1)
        #expect(inside.allReduceBusBandwidth == 232.5e9 && close(inside.intraNodeLatency, 3.4e-6))
        #expect(close(mesh.allReduceSeconds(bytes: 1e9, alongAxes: [0]), 1e9 / 24e9 + 1.4 * (8.4e-6 + 2 * 14e-6)))
        #expect(close(mesh.allReduceSeconds(bytes: 1e9, alongAxes: [1]), 2.0 * 7 / 8 * 1e9 / 232.5e9 + 8.4e-6 + 14 * 3.4e-6))
    }

    @Test("both axes of a 2x8 mesh form one group of 16 at NVIDIA's measured 192 GB/s multi-node bus bandwidth")
    func bothAxes() throws {
        let mesh = try DeviceMesh(devices: Array(0 ..< 16), shape: [2, 8], in: twoNodes)
        #expect(mesh.groups(alongAxes: [0, 1]) == [Array(0 ..< 16)])
        let all = mesh.collectiveGroup(alongAxes: [0, 1])
        #expect(all.size == 16 && all.allReduceBusBandwidth == 192e9)
        #expect(mesh.collectiveGroup(alongAxes: []) == .singleDevice)
        #expect(close(mesh.allGatherSeconds(bytes: 1e9, alongAxes: [0, 1]),
                      15.0 / 16 * 1e9 / 192e9 + 8.4e-6 + 14 * 3.4e-6 + 1 * 14e-6))
    }

    @Test("a 4x4 mesh over 2 nodes: axis 0 groups hold 2 devices per node and use 2 NICs per node")
    func partialNodeGroups() throws {
        let mesh = try DeviceMesh(devices: Array(0 ..< 16), shape: [4, 4], in: twoNodes)
        #expect(mesh.groups(alongAxes: [0])[0] == [0, 4, 8, 12])
        #expect(mesh.collectiveGroup(alongAxes: [0]).allReduceBusBandwidth == 48e9)
        #expect(mesh.collectiveGroup(alongAxes: [1]).nodeCount == 1)
    }

    @Test("a mesh that straddles a node boundary takes its slowest group")
    func straddlingMesh() throws {
        let mesh = try DeviceMesh(devices: Array(4 ..< 12), shape: [8], in: twoNodes)
        #expect(mesh.axisNames == ["x"])
        #expect(mesh.collectiveGroup(alongAxes: [0]).allReduceBusBandwidth == 96e9)
        let rows = try DeviceMesh(devices: Array(6 ..< 10), shape: [2, 2], in: twoNodes)
        #expect(rows.groups(alongAxes: [1]) == [[6, 7], [8, 9]])
        #expect(rows.collectiveGroup(alongAxes: [1]).nodeCount == 1)
        #expect(rows.collectiveGroup(alongAxes: [0]).allReduceBusBandwidth == 24e9)
    }

    @Test("p3.16xlarge shares one 25 Gb/s NIC: 0.39 GB/s per GPU, the whole 3.125 GB/s for a group of 8")
    func sharedNIC() throws {
        let p3 = try Cluster.preset(named: "p3.16xlarge:2")
        let mesh = try DeviceMesh(devices: Array(0 ..< 16), shape: [2, 8], in: p3)
        #expect(close(mesh.collectiveGroup(alongAxes: [0]).allReduceBusBandwidth, 3.125e9 / 8 * 0.8))
        #expect(close(mesh.collectiveGroup(alongAxes: [0, 1]).allReduceBusBandwidth, 3.125e9 * 0.8))
    }

    @Test("coordinates, axis names and sizes")
    func addressing() throws {
        let mesh = try DeviceMesh(devices: [3, 1, 2, 0, 7, 5], shape: [2, 3], axisNames: ["data", "model"], in: twoNodes)
        #expect(mesh.device(at: [1, 0]) == 0 && mesh.device(at: [0, 2]) == 2)
        #expect(mesh.axis(named: "model") == 1 && mesh.axis(named: "z") == nil)
        #expect(mesh.size(ofAxes: [0]) == 2 && mesh.size(ofAxes: [0, 1]) == 6 && mesh.size(ofAxes: []) == 1)
        #expect(mesh.groups(alongAxes: [0]) == [[3, 0], [1, 7], [2, 5]])
        #expect(mesh.rank == 2 && mesh.deviceCount == 6)
    }

    @Test("a single-device cluster has a 1x1 mesh with free collectives")
    func singleDevice() throws {
        let one = try Cluster.preset(named: "single-h100")
        let mesh = try DeviceMesh(devices: [0], shape: [1, 1], in: one)
        #expect(mesh.allReduceSeconds(bytes: 1e9, alongAxes: [0, 1]) == 0)
    }

    struct BadMesh: Sendable, CustomTestStringConvertible {
        var devices: [Int]
        var shape: [Int]
        var names: [String]?
        var fragment: String
        var testDescription: String { fragment }
    }

    @Test("a bad mesh is an InputError at the given path", arguments: [
        BadMesh(devices: [0, 1, 2], shape: [2, 2], fragment: "mesh shape [2, 2] holds 4 devices, but 3 are given"),
        BadMesh(devices: [0, 1], shape: [0, 2], fragment: "at least one device"),
        BadMesh(devices: [0, 0], shape: [2], fragment: "device 0 appears twice"),
        BadMesh(devices: [0, 16], shape: [2], fragment: "device 16 is not in cluster"),
        BadMesh(devices: [0, 1], shape: [1, 2], names: ["x"], fragment: "1 axis name for a mesh of 2 axes"),
        BadMesh(devices: [0], shape: [1], names: ["x", "y"], fragment: "2 axis names for a mesh of 1 axis"),
        BadMesh(devices: [0, 1], shape: [1], fragment: "mesh shape [1] holds 1 device, but 2 are given"),
        BadMesh(devices: [0], shape: [2], fragment: "mesh shape [2] holds 2 devices, but 1 is given"),
        BadMesh(devices: [0, 1], shape: [1, 2], names: ["x", "x"], fragment: "axis name \"x\" is used twice"),
        BadMesh(devices: [0], shape: [], fragment: "a mesh has 1 to 4 axes"),
        BadMesh(devices: [0, 1], shape: [1, 1, 1, 1, 2], fragment: "a mesh has 1 to 4 axes"),
    ])
    func badMesh(_ bad: BadMesh) {
        let path = JSONPath([.key("stages"), .index(0, label: nil), .key("mesh")])
        #expect {
            _ = try DeviceMesh(devices: bad.devices, shape: bad.shape, axisNames: bad.names, in: twoNodes, at: path)
        } throws: { error in
            guard let error = error as? InputError else { return false }
            return error.path == path && error.message.contains(bad.fragment)
        }
    }

    @Test("logical shapes of a submesh honour node boundaries", arguments: [
        (1, 1, [[1, 1]]),
        (1, 4, [[1, 4], [2, 2], [4, 1]]),
        (2, 8, [[1, 16], [2, 8], [4, 4], [8, 2], [16, 1]]),
        (3, 8, [[1, 24], [3, 8], [6, 4], [12, 2], [24, 1]]),
    ])
    func logicalShapes(nodes: Int, devicesPerNode: Int, expected: [[Int]]) {
        #expect(DeviceMesh.logicalShapes(nodes: nodes, devicesPerNode: devicesPerNode) == expected)
    }

    @Test("every logical shape of 4 nodes of 8 keeps each inner-axis group inside a node or on whole nodes")
    func logicalShapesAreNodeAligned() throws {
        let cluster = try Cluster.preset(named: "dgx-h100:4")
        for shape in DeviceMesh.logicalShapes(nodes: 4, devicesPerNode: 8) {
            let mesh = try DeviceMesh(devices: Array(cluster.deviceIDs), shape: shape, in: cluster)
            for group in mesh.groups(alongAxes: [1]) {
                let nodes = Set(group.map { cluster.node(ofDevice: $0) })
                #expect(nodes.count == 1 || group.count == nodes.count * cluster.devicesPerNode, "shape \(shape)")
            }
        }
    }
}
