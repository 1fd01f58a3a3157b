import ArgumentParser

/// `plan --microbatches`: the fewest microbatches per iteration that fit (the search tries several), or a
/// fixed count.
enum MicrobatchChoice: ExpressibleByArgument, Equatable {
    case auto
    /// Exactly this many microbatches (at least 1; the global batch must split into them).
    case fixed(Int)

    init?(argument: String) {
        if argument == "auto" { self = .auto; return }
        guard let count = Int(argument), count >= 1 else { return nil }
        self = .fixed(count)
    }

    /// The fixed count, or nil for auto.
    var count: Int? {
        if case .fixed(let count) = self { return count }
        return nil
    }

    var defaultValueDescription: String {
        switch self {
        case .auto: "auto"
        case .fixed(let count): String(count)
        }
    }
}
