import ArgumentParser
import ShardPlan

/// Which communication overlaps the compute, for `plan` and `score`: `--overlap-grad-reduce` and `--overlap-tp-comm`
/// (Megatron-Core's `--overlap-grad-reduce` and `--tp-comm-overlap`, which its recipes for Hopper turn on).
struct CommunicationOverlap: ParsableArguments {
    @Flag(name: .customLong("overlap-grad-reduce"), help: "Overlap the data-parallel gradient reduction with the backward pass, and under ZeRO the updated weights' all-gather with the next forward pass (Megatron-Core's --overlap-grad-reduce and --overlap-param-gather, PyTorch DDP's and FSDP's buckets, which torchtitan always runs); plan searches with it.")
    var gradientReduction = false

    @Flag(name: .customLong("overlap-tp-comm"), help: "Overlap tensor-parallel collectives with the GEMMs around them (Megatron-Core's --tp-comm-overlap with sequence parallelism, TransformerEngine's userbuffers; torchtitan's async tensor parallelism, in a compiled model); plan searches with it.")
    var tensorParallel = false

    /// Whether either flag was given (`score --plan` refuses them: the plan sets its own).
    var isGiven: Bool { gradientReduction || tensorParallel }

    /// Whether the flag of `setting` was given (`--overlap-tp-comm`, which can change nothing in a plan).
    func gives(_ setting: IneffectiveOption.Setting) -> Bool { setting == .tensorParallelOverlap && tensorParallel }

    /// `options` with the overlaps asked for turned on (one not asked for is left as it is).
    func applied(to options: TrainingOptions) -> TrainingOptions {
        var options = options
        options.overlapGradientReduction = options.overlapGradientReduction || gradientReduction
        options.overlapTensorParallelCommunication = options.overlapTensorParallelCommunication || tensorParallel
        return options
    }
}
