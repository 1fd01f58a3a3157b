/// Placing the submeshes of a pipeline's stages onto a cluster's devices.
extension SubmeshShape {
    /// Device ids (node-major: device `n * devicesPerNode + i`) for each of `shapes`, in order, disjoint; nil
    /// when they cannot all be placed.
    ///
    /// Whole-node shapes take consecutive nodes from node 0 in stage order; slices of a node then go, largest
    /// first, into the free devices of the remaining nodes, each into the first node with room. When each slice
    /// size divides the next larger one (as in `candidates`) every slice starts at a multiple of its size, so a
    /// 16-GPU slice of a rack of 4-GPU trays takes 4 whole trays, and this places every list that can be placed
    /// at all: where every slice size also divides `devicesPerNode`, any list whose devices add up to at most
    /// the cluster's (Alpa's covering condition, Zheng et al. OSDI'22 section 5.2); with larger slices (64 + 8,
    /// 32 + 32 + 8 or 4 x 16 + 8 of 72), those `SubmeshPacking` admits.
    public static func placement(of shapes: [SubmeshShape], nodes: Int, devicesPerNode: Int) -> [[Int]]? {
        var devices = Array(repeating: [Int](), count: shapes.count)
        var nextNode = 0
        for (index, shape) in shapes.enumerated() where shape.devicesPerNode == devicesPerNode {
            guard nextNode + shape.nodes <= nodes else { return nil }
            devices[index] = Array(nextNode * devicesPerNode ..< (nextNode + shape.nodes) * devicesPerNode)
            nextNode += shape.nodes
        }
        var used = Array(repeating: 0, count: max(nodes - nextNode, 0))
        let slices = shapes.indices.filter { shapes[$0].devicesPerNode != devicesPerNode }
            .sorted { shapes[$0].deviceCount != shapes[$1].deviceCount ? shapes[$0].deviceCount > shapes[$1].deviceCount : $0 < $1 }
        for index in slices {
            let shape = shapes[index]
            guard shape.nodes == 1, shape.devicesPerNode < devicesPerNode,
                  let slot = used.firstIndex(where: { $0 + shape.devicesPerNode <= devicesPerNode }) else { return nil }
            let start = (nextNode + slot) * devicesPerNode + used[slot]
            devices[index] = Array(start ..< start + shape.devicesPerNode)
            used[slot] += shape.devicesPerNode
        }
        return devices
    }
}
