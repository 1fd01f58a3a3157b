import ArgumentParser
import ShardPlan

/// A logical device mesh shape as users type it: sizes joined by `x` (`2x4` is 2 rows of 4 devices).
struct MeshShape: ExpressibleByArgument, Equatable {
    /// Devices along each axis, outermost first; every size is at least 1, and their product is at most
    /// `Cluster.maximumDeviceCount` (so that it is a count of devices, not an overflow).
    var sizes: [Int]

    init(sizes: [Int]) { self.sizes = sizes }

    init?(argument: String) {
        let parts = argument.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        let sizes = parts.compactMap { Int($0) }
        guard !parts.isEmpty, sizes.count == parts.count, sizes.allSatisfy({ $0 >= 1 }) else { return nil }
        var devices = 1
        for size in sizes {
            let (product, overflow) = devices.multipliedReportingOverflow(by: size)
            guard !overflow, product <= Cluster.maximumDeviceCount else { return nil }
            devices = product
        }
        self.sizes = sizes
    }

    var devices: Int { sizes.reduce(1, *) }

    var defaultValueDescription: String { sizes.map(String.init).joined(separator: "x") }
}
