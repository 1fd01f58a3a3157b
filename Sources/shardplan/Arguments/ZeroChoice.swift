import ArgumentParser

/// `plan --zero`: one ZeRO stage for every pipeline stage, or `auto`: each stage takes whichever of 0-3
/// makes the plan fastest.
enum ZeroChoice: ExpressibleByArgument, Equatable {
    case auto
    case stage(ZeroStage)

    init?(argument: String) {
        if argument == "auto" { self = .auto; return }
        guard let stage = ZeroStage(argument: argument) else { return nil }
        self = .stage(stage)
    }

    /// The ZeRO stages a pipeline stage may take.
    var stages: [Int] {
        switch self {
        case .auto: ZeroStage.allCases.map(\.rawValue)
        case .stage(let stage): [stage.rawValue]
        }
    }

    /// The plan-wide floor: the pinned stage, or 0.
    var floor: Int { stages.count == 1 ? stages[0] : 0 }

    var defaultValueDescription: String {
        switch self {
        case .auto: "auto"
        case .stage(let stage): String(stage.rawValue)
        }
    }

    static var allValueStrings: [String] { ["auto"] + ZeroStage.allCases.map { String($0.rawValue) } }
}
