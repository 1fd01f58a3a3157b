import ArgumentParser

/// A logical device mesh shape as users type it: sizes joined by `x` (`2x4` is 2 rows of 4 devices).
struct MeshShape: ExpressibleByArgument, Equatable {
    /// Devices along each axis, outermost first; every size is at least 1.
    var sizes: [Int]

    init(sizes: [Int]) { self.sizes = sizes }

    init?(argument: String) {
        let parts = argument.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        let sizes = parts.compactMap { Int($0) }
        guard !parts.isEmpty, sizes.count == parts.count, sizes.allSatisfy({ $0 >= 1 }) else { return nil }
        self.sizes = sizes
    }

    var devices: Int { sizes.reduce(1, *) }

    var defaultValueDescription: String { sizes.map(String.init).joined(separator: "x") }
}
