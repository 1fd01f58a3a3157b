import Testing
@testable import ShardPlan

/// Slices larger than a node's power-of-two divisors (16, 32 and 64 GPUs of a 72-GPU NVLink domain): which lists
/// of stage shapes can be placed, against exhaustive assignment of every slice to a domain.
@Suite("packing slices that do not divide an NVLink domain")
struct SubmeshPackingTests {
    /// Whether `shapes` can be placed at all: whole-domain shapes on distinct domains, and some assignment of
    /// every slice to one of the other domains that puts at most `devicesPerNode` devices in each (inside a
    /// domain any devices will do: they share the same links).
    static func placeable(_ shapes: [SubmeshShape], nodes: Int, devicesPerNode: Int) -> Bool {
        let whole = shapes.filter { $0.devicesPerNode == devicesPerNode }.reduce(0) { $0 + $1.nodes }
        let slices = shapes.filter { $0.devicesPerNode != devicesPerNode }.map(\.devicesPerNode)
        guard whole <= nodes else { return false }
        var free = Array(repeating: devicesPerNode, count: nodes - whole)
        func assign(_ next: Int) -> Bool {
            if next == slices.count { return true }
            for domain in free.indices where free[domain] >= slices[next] {
                free[domain] -= slices[next]
                defer { free[domain] += slices[next] }
                if assign(next + 1) { return true }
            }
            return false
        }
        return assign(0)
    }

    /// Every list of at most `most` candidate shapes (as multisets, in candidate order) whose devices add up to at
    /// most the cluster's.
    static func lists(nodes: Int, devicesPerNode: Int, most: Int) -> [[Int]] {
        let candidates = SubmeshShape.candidates(nodes: nodes, devicesPerNode: devicesPerNode)
        var result: [[Int]] = []
        var list: [Int] = []
        func extend(from: Int, devices: Int) {
            result.append(list)
            guard list.count < most else { return }
            for index in from ..< candidates.count where devices + candidates[index].deviceCount <= nodes * devicesPerNode {
                list.append(index)
                extend(from: index, devices: devices + candidates[index].deviceCount)
                list.removeLast()
            }
        }
        extend(from: 0, devices: 0)
        return result
    }

    @Test("the placement and the DP's count accept exactly the placeable lists of candidate shapes",
          arguments: [(1, 72, 6), (2, 72, 5), (1, 24, 6), (2, 24, 6), (2, 6, 6), (3, 6, 6), (2, 3, 6), (2, 12, 6), (2, 56, 5), (2, 8, 6)])
    func exactlyThePlaceable(nodes: Int, devicesPerNode: Int, most: Int) throws {
        let candidates = SubmeshShape.candidates(nodes: nodes, devicesPerNode: devicesPerNode)
        let packing = SubmeshPacking(shapes: candidates, nodes: nodes, devicesPerNode: devicesPerNode)
        var (placeable, refused) = (0, 0)
        for list in Self.lists(nodes: nodes, devicesPerNode: devicesPerNode, most: most) {
            let shapes = list.map { candidates[$0] }
            let expected = Self.placeable(shapes, nodes: nodes, devicesPerNode: devicesPerNode)
            #expect(packing.admits(list) == expected, "\(shapes): the count says \(packing.admits(list)), exhaustive \(expected)")
            let devices = SubmeshShape.placement(of: shapes, nodes: nodes, devicesPerNode: devicesPerNode)
            #expect((devices != nil) == expected, "\(shapes): placed \(devices != nil), exhaustive \(expected)")
            if let devices {
                let all = devices.flatMap { $0 }
                #expect(Set(all).count == all.count && all.allSatisfy { 0 ..< nodes * devicesPerNode ~= $0 })
                for (shape, ids) in zip(shapes, devices) {
                    #expect(ids.count == shape.deviceCount && ids == Array(ids[0] ..< ids[0] + ids.count)
                            && Set(ids.map { $0 / devicesPerNode }).count == shape.nodes, "\(shape) on \(ids)")
                }
            }
            if expected { placeable += 1 } else { refused += 1 }
        }
        // Power-of-two domains keep the old rule, and so does a single domain: devices alone decide.
        #expect((packing.capacity == 0) == (devicesPerNode & (devicesPerNode - 1) == 0 || nodes == 1))
        #expect(placeable > 0 && (refused > 0) == (packing.capacity > 0), "\(placeable) placeable, \(refused) refused")
    }

    @Test("a 72-GPU domain packs 64 + 8, 32 + 32 + 8 and 4 x 16 + 8, largest first on whole trays, but not 64 + 16")
    func rack() {
        func shapes(_ sizes: [Int]) -> [SubmeshShape] { sizes.map { SubmeshShape(nodes: 1, devicesPerNode: $0) } }
        #expect(SubmeshShape.placement(of: shapes([8, 64]), nodes: 1, devicesPerNode: 72) == [Array(64 ..< 72), Array(0 ..< 64)])
        #expect(SubmeshShape.placement(of: shapes([32, 8, 32]), nodes: 1, devicesPerNode: 72)
                == [Array(0 ..< 32), Array(64 ..< 72), Array(32 ..< 64)])
        #expect(SubmeshShape.placement(of: shapes([16, 16, 8, 16, 16]), nodes: 1, devicesPerNode: 72)?.map(\.first) == [0, 16, 64, 32, 48])
        #expect(SubmeshShape.placement(of: shapes([64, 16]), nodes: 2, devicesPerNode: 72) == [Array(0 ..< 64), Array(72 ..< 88)])
        #expect(SubmeshShape.placement(of: shapes([64, 16]), nodes: 1, devicesPerNode: 72) == nil)
        // Two racks: 64 + 64 + 16 is 144 devices, but neither rack has 16 left beside its 64.
        #expect(SubmeshShape.placement(of: shapes([64, 64, 16]), nodes: 2, devicesPerNode: 72) == nil)
        let candidates = SubmeshShape.candidates(nodes: 2, devicesPerNode: 72)
        let packing = SubmeshPacking(shapes: candidates, nodes: 2, devicesPerNode: 72)
        // Weights: 16 -> 1, 32 -> 2, 64 -> 4, a whole rack 4, two racks 8; the 8s and smaller none.
        #expect(packing.weights == [0, 0, 0, 0, 1, 2, 4, 4, 8] && packing.capacity == 8)
    }
}
