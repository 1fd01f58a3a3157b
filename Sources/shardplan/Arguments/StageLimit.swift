import ArgumentParser

/// `plan --stages`: let the stage DP choose the number of pipeline stages, or cap it (1: the whole graph on
/// one mesh).
enum StageLimit: ExpressibleByArgument, Equatable {
    case auto
    /// At most this many stages (at least 1).
    case atMost(Int)

    init?(argument: String) {
        if argument == "auto" { self = .auto; return }
        guard let count = Int(argument), count >= 1 else { return nil }
        self = .atMost(count)
    }

    /// The cap, or nil for none.
    var limit: Int? {
        if case .atMost(let count) = self { return count }
        return nil
    }

    var defaultValueDescription: String {
        switch self {
        case .auto: "auto"
        case .atMost(let count): String(count)
        }
    }
}
