/// A logical device mesh: the devices of one pipeline stage viewed as an n-dimensional array (row-major over
/// `devices`, as a plan's `mesh` and `axes` describe it), with the collective figures of every set of its axes.
///
/// Communicating "along axis x" means every group of devices that differ only in their x coordinate runs the
/// collective at once; along a set of axes, the groups are the products (both axes of a 2-D mesh: all devices).
/// An axis whose groups stay inside nodes gets the intra-node link's figures; one whose groups cross nodes gets
/// the network's, as `Cluster.collectiveGroup(devices:)` describes. Costs are in seconds, sizes in bytes of the
/// full logical tensor (`CollectiveGroup`).
public struct DeviceMesh: Sendable, Equatable {
    /// Device ids in row-major order of the mesh.
    public let devices: [Int]
    /// Devices along each axis.
    public let shape: [Int]
    /// One name per axis.
    public let axisNames: [String]
    /// The collective figures of each set of axes, indexed by the set as a bit mask (bit i: axis i).
    private let groupsByAxisMask: [CollectiveGroup]

    /// Names axes take unless given: `x`, `y`, `z`, `w`.
    public static let defaultAxisNames = ["x", "y", "z", "w"]

    /// The highest mesh rank; tensor and pipeline plans use 1-D and 2-D meshes.
    public static let maximumRank = 4

    /// A mesh of `devices` (ids of `cluster`, a cluster `Cluster.validate()` accepts) with `shape`. Problems are
    /// `InputError`s at `path`, so a plan decoder can point at the stage they came from.
    public init(devices: [Int], shape: [Int], axisNames: [String]? = nil, in cluster: Cluster,
                at path: JSONPath = .root) throws(InputError) {
        guard (1 ... Self.maximumRank).contains(shape.count) else {
            throw InputError(.invalidValue, at: path, "a mesh has 1 to \(Self.maximumRank) axes, found \(shape.count)")
        }
        if let bad = shape.first(where: { $0 < 1 }) {
            throw InputError(.invalidValue, at: path, "every mesh axis holds at least one device, found \(bad) in \(shape)")
        }
        let capacity = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        guard capacity == devices.count else {
            throw InputError(.invalidValue, at: path,
                             "mesh shape \(shape) holds \(capacity == Int.max ? "too many devices" : "\(capacity) device\(capacity == 1 ? "" : "s")"), but \(devices.count) \(devices.count == 1 ? "is" : "are") given")
        }
        var seen = Set<Int>()
        for id in devices {
            guard cluster.deviceIDs.contains(id) else {
                throw InputError(.invalidReference, at: path,
                                 "device \(id) is not in cluster \"\(cluster.name)\", whose devices are 0 ..< \(cluster.deviceCount)")
            }
            guard seen.insert(id).inserted else {
                throw InputError(.invalidValue, at: path, "device \(id) appears twice in the mesh")
            }
        }
        let names = axisNames ?? Array(Self.defaultAxisNames.prefix(shape.count))
        guard names.count == shape.count else {
            throw InputError(.invalidValue, at: path, "\(names.count) axis name\(names.count == 1 ? "" : "s") for a mesh of \(shape.count) ax\(shape.count == 1 ? "is" : "es")")
        }
        for (index, name) in names.enumerated() where name.isEmpty || names[..<index].contains(name) {
            throw InputError(name.isEmpty ? .invalidValue : .duplicateName, at: path,
                             name.isEmpty ? "axis names must not be empty" : "axis name \"\(name)\" is used twice")
        }
        self.devices = devices
        self.shape = shape
        self.axisNames = names
        let rank = shape.count
        groupsByAxisMask = (0 ..< (1 << rank)).map { mask in
            let groups = Self.groups(devices: devices, shape: shape, axes: (0 ..< rank).filter { mask & (1 << $0) != 0 })
            return CollectiveGroup.slowest(of: groups.map { cluster.collectiveGroup(devices: $0) })
        }
    }

    public var rank: Int { shape.count }

    public var deviceCount: Int { devices.count }

    /// The index of the axis called `name`.
    public func axis(named name: String) -> Int? { axisNames.firstIndex(of: name) }

    /// Devices in each group along `axes` (the product of their sizes; 1 for no axes).
    public func size(ofAxes axes: [Int]) -> Int {
        axes.reduce(1) { $0 * shape[$1] }
    }

    /// The device at `coordinates` (one per axis).
    public func device(at coordinates: [Int]) -> Int {
        precondition(coordinates.count == rank && zip(coordinates, shape).allSatisfy { 0 ..< $1 ~= $0 },
                     "coordinates \(coordinates) are not in a mesh of shape \(shape)")
        return devices[zip(coordinates, Self.strides(shape)).reduce(0) { $0 + $1.0 * $1.1 }]
    }

    /// The groups of devices that communicate along `axes`: devices that share every other coordinate, each
    /// group in row-major order of its coordinates on `axes`, the groups in row-major order of the others.
    public func groups(alongAxes axes: [Int]) -> [[Int]] {
        Self.groups(devices: devices, shape: shape, axes: (0 ..< rank).filter { Self.mask(axes, rank: rank) & (1 << $0) != 0 })
    }

    /// The collective figures along `axes` (the slowest of its groups); no axes gives `CollectiveGroup.singleDevice`.
    public func collectiveGroup(alongAxes axes: [Int]) -> CollectiveGroup {
        groupsByAxisMask[Self.mask(axes, rank: rank)]
    }

    /// Seconds to all-reduce a `bytes`-byte tensor along `axes`.
    public func allReduceSeconds(bytes: Double, alongAxes axes: [Int]) -> Double {
        collectiveGroup(alongAxes: axes).allReduceSeconds(bytes: bytes)
    }

    /// Seconds to all-gather a tensor of `bytes` bytes (the gathered size) along `axes`.
    public func allGatherSeconds(bytes: Double, alongAxes axes: [Int]) -> Double {
        collectiveGroup(alongAxes: axes).allGatherSeconds(bytes: bytes)
    }

    /// Seconds to reduce-scatter a `bytes`-byte tensor (the unreduced size) along `axes`.
    public func reduceScatterSeconds(bytes: Double, alongAxes axes: [Int]) -> Double {
        collectiveGroup(alongAxes: axes).reduceScatterSeconds(bytes: bytes)
    }

    /// Seconds to re-split a `bytes`-byte tensor with an all-to-all along `axes`.
    public func allToAllSeconds(bytes: Double, alongAxes axes: [Int]) -> Double {
        collectiveGroup(alongAxes: axes).allToAllSeconds(bytes: bytes)
    }

    private static func mask(_ axes: [Int], rank: Int) -> Int {
        var mask = 0
        for axis in axes {
            precondition(0 ..< rank ~= axis, "axis \(axis) is not in a mesh of \(rank) axes")
            precondition(mask & (1 << axis) == 0, "axis \(axis) is listed twice")
            mask |= 1 << axis
        }
        return mask
    }

    private static func strides(_ shape: [Int]) -> [Int] {
        var strides = Array(repeating: 1, count: shape.count)
        for axis in stride(from: shape.count - 2, through: 0, by: -1) { strides[axis] = strides[axis + 1] * shape[axis + 1] }
        return strides
    }

    /// `axes` must be in increasing order.
    private static func groups(devices: [Int], shape: [Int], axes: [Int]) -> [[Int]] {
        let strides = strides(shape)
        func offsets(_ dimensions: [Int]) -> [Int] {
            var result = [0]
            for dimension in dimensions {
                result = result.flatMap { base in (0 ..< shape[dimension]).map { base + $0 * strides[dimension] } }
            }
            return result
        }
        let others = (0 ..< shape.count).filter { !axes.contains($0) }
        let members = offsets(axes)
        return offsets(others).map { base in members.map { devices[base + $0] } }
    }
}
