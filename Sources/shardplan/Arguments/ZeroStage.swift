import ArgumentParser

/// `--zero`: the ZeRO stage over the data-parallel devices (0 off; 1 shards optimizer state, 2 also
/// gradients, 3 also weights).
enum ZeroStage: Int, ExpressibleByArgument, CaseIterable {
    case off = 0, optimizerState, gradients, weights

    var defaultValueDescription: String { String(rawValue) }
}
