import ArgumentParser
import ShardPlan

/// The checks `plan` and `score` share on `--recompute` and `--recompute-blocks` (the blocks of each stage full
/// recomputation reruns).
enum RecomputeOption {
    /// Refuses `blocks` outside 1 to `TrainingOptions.largestRecomputedBlocks`, or without `--recompute full`
    /// (`fullRecomputation`).
    static func validate(_ blocks: Int?, fullRecomputation: Bool) throws {
        guard let blocks else { return }
        guard fullRecomputation else {
            throw ValidationError("--recompute-blocks counts the blocks each stage reruns under full recomputation; give --recompute full with it.")
        }
        guard (1 ... TrainingOptions.largestRecomputedBlocks).contains(blocks) else {
            throw ValidationError("--recompute-blocks must be between 1 and \(TrainingOptions.largestRecomputedBlocks), found \(blocks).")
        }
    }

    /// Refuses a count of blocks (`options.recomputedBlocks`) for a graph without transformer blocks, at
    /// `--recompute-blocks` (`TrainingOptions.recomputedBlocksProblem(in:)`), and notes a named `norm-act` that
    /// reruns nothing in `graph` (`StageCostModel.rerunsUnderNormActivation`).
    static func check(_ options: TrainingOptions, for graph: Graph) throws(InputError) {
        if let problem = options.recomputedBlocksProblem(in: graph) {
            throw InputError(.invalidValue, at: JSONPath([.key("--recompute-blocks")]), problem)
        }
        if options.recompute == .normAct && !StageCostModel.rerunsUnderNormActivation(graph) {
            printError("note: --recompute norm-act changes nothing: \(graph.name) holds no mixture of experts, whose norm and activation it reruns, nor a multi-head latent attention, whose input norm it reruns (Megatron-Core fuses every other norm into the linear layer after it, where layernorm reruns nothing).")
        }
    }
}
