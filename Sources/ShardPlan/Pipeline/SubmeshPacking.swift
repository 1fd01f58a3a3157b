/// What the stage DP counts, besides devices, so that it accepts exactly the lists of submeshes that can be
/// placed together on `nodes` NVLink domains of `devicesPerNode` devices (`SubmeshShape.placement`).
///
/// Devices alone suffice while every slice's size divides the domain and every larger slice's size: slices then
/// fill any domain to the last device. A slice that does not divide the domain (16, 32 or 64 GPUs of a 72-GPU
/// rack, `SubmeshShape.candidates`) must also find room in one domain. With slice sizes that each divide the next
/// larger one, a list of slices fits into free domains of M devices exactly when, for every size s, the slices of
/// at least s devices add up to at most what those domains hold in multiples of s, `M - M mod s` each (each such
/// slice is a multiple of s; conversely, placed largest first, every domain's used devices are a multiple of the
/// slice being placed, so it goes into any domain with `M - M mod s` minus used devices of room, and the
/// condition says one has). For sizes dividing M that is the device count. For the sizes that do not, when they
/// all have the same room R per domain (64 of 72 for 16, 32 and 64), it is one count: such a slice of s devices
/// weighs s / g, a stage of n whole domains n R / g (it leaves no room), g the least such size, and a list fits
/// when its devices add up to at most the cluster's and its weights to at most `capacity`, N R / g. In one
/// domain the devices decide alone (slices of at least s devices within M add up to a multiple of s, so to at most
/// `M - M mod s`): a single GB200 NVL72 rack needs no weight, two do (64 + 64 + 16 is 144 GPUs but does not fit).
public struct SubmeshPacking: Sendable, Equatable {
    /// Each shape's weight, in the order given: 0 for the slices that divide the domain.
    public let weights: [Int]
    /// The most a placeable list's weights add up to: 0 when every slice divides the domain, or on one domain.
    public let capacity: Int

    /// The weights of `shapes` on `nodes` domains of `devicesPerNode` devices. A list with slices that do not
    /// divide the domain must have slice sizes that each divide the next larger one, and the same room per
    /// domain for every size that does not divide it (`SubmeshShape.candidates` has both).
    public init(shapes: [SubmeshShape], nodes: Int, devicesPerNode: Int) {
        let slices = Set(shapes.filter { $0.nodes == 1 && $0.devicesPerNode < devicesPerNode }.map(\.devicesPerNode)).sorted()
        let packed = slices.filter { devicesPerNode % $0 != 0 }
        guard let least = packed.first, nodes > 1 else {
            weights = shapes.map { _ in 0 }
            capacity = 0
            return
        }
        let room = devicesPerNode - devicesPerNode % least
        precondition(zip(slices, slices.dropFirst()).allSatisfy { $1 % $0 == 0 }
                     && packed.allSatisfy { devicesPerNode - devicesPerNode % $0 == room },
                     "slices of \(slices) devices on domains of \(devicesPerNode) cannot be counted by devices and one weight")
        weights = shapes.map { shape in
            if shape.devicesPerNode == devicesPerNode { return shape.nodes * room / least }
            return shape.nodes == 1 && devicesPerNode % shape.devicesPerNode != 0 ? shape.devicesPerNode / least : 0
        }
        capacity = nodes * room / least
    }

    /// Whether shapes of these weights, `shapeIndices` into the list given (repeats allowed), pass the weight
    /// count; with the device count (at most the cluster's) this is `SubmeshShape.placement` succeeding.
    public func admits(_ shapeIndices: [Int]) -> Bool {
        shapeIndices.reduce(0) { $0 + weights[$1] } <= capacity
    }
}
