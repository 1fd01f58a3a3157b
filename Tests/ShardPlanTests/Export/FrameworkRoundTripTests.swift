import Foundation
import Testing
@testable import ShardPlan

/// Every published run's configuration, emitted for Megatron-LM, NeMo, Megatron-Bridge and torchtitan and read back by this
/// folder's readers (which know only the documented options), gives the same degrees, chunks, split of the
/// layers over them, microbatch size and recomputation.
@Suite("Framework settings round-trip for every published run")
struct FrameworkRoundTripTests {
    static let runs: [PublishedRun] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Docs/calibration/published-runs.json")
        let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        return (try? PublishedRun.rows(in: JSONParser.parse(text)).runs) ?? []
    }()

    /// `text` read back by `framework`'s reader; `layers`, the model's transformer blocks, for torchtitan's
    /// layer-level checkpointing without a pipeline (`TorchTitanJobConfigReader.layout(layers:)`).
    static func readBack(_ text: String, _ framework: TrainingFramework, layers: Int? = nil) throws -> ReadBackLayout {
        switch framework {
        case .megatron: try MegatronArgumentReader(text).layout()
        case .nemo: try NeMoOverrideReader(text).layout()
        case .megatronBridge: try MegatronBridgeConfigReader(text).layout()
        case .torchtitan: try TorchTitanJobConfigReader(text).layout(layers: layers)
        }
    }

    @Test("the 115 published rows are read, fifteen with context parallelism and one with expert parallelism")
    func rowCount() {
        #expect(Self.runs.count == 115)
        #expect(Self.runs.count { $0.contextParallel > 1 } == 15 && Self.runs.count { $0.expertParallel > 1 } == 1)
    }

    /// torchtitan writes Megatron's selective recomputation and op-level selective checkpointing as the same
    /// op-level policy (`selective_ac_option = "op"`), so its reader reads both back as selective; MaxText's policies
    /// that rerun products (`mlp`, `all-but-qkv`) it runs as full recomputation. Full recomputation of some blocks of
    /// each stage reads back as it is: every row that has it reruns one block in every K of each stage.
    static func asTorchTitanReads(_ layout: ReadBackLayout) -> ReadBackLayout {
        var read = layout
        if read.recompute == .mlp || read.recompute == .allButQKV {
            read.recompute = .full
        } else if read.recompute.isOperatorLevel {
            read.recompute = .selective
        }
        return read
    }

    @Test("each row's settings read back as its configuration", arguments: runs.map(\.id))
    func roundTrip(id: String) throws {
        // The calibration tests' replay of the row: its plan, laid out from its configuration, and its prediction.
        let replay = try #require(try CalibrationTests.report().runs.first { $0.run.id == id })
        let (run, plan, prediction) = (replay.run, replay.plan, replay.prediction)
        var expected = ReadBackLayout(tensorParallel: run.tensorParallel, pipelineParallel: run.pipelineParallel,
                                      dataParallel: run.dataParallel, contextParallel: run.contextParallel,
                                      expertParallel: run.expertParallel,
                                      virtualStages: run.virtualStages, microBatchSize: run.microBatchSize ?? 1,
                                      recompute: replay.configuration.options.recompute,
                                      recomputedBlocks: replay.configuration.options.recomputedBlocks,
                                      fp8: replay.configuration.options.precision != .bf16,
                                      layerSplit: replay.configuration.layerSplit)
        if run.expertParallel > 1 { expected.expertDispatcher = run.expertDispatcher }
        let recognition = try LayoutRecognition(plan)
        #expect(recognition.isExact, "\(recognition.differences)")
        let operatorLevel = replay.configuration.options.recompute.isOperatorLevel
        for framework in TrainingFramework.allCases {
            let export = try FrameworkExport(recognition: recognition, of: plan, prediction: prediction, framework: framework)
            let read = try Self.readBack(export.text, framework, layers: export.layout.layerCount)
            var wanted = expected
            // Megatron-LM and NeMo have no op-level selective checkpointing: their nearest is selective granularity, or
            // the submodules they checkpoint for MaxText's policies that rerun products.
            if operatorLevel && framework != .torchtitan && wanted.recompute != .mlp && wanted.recompute != .allButQKV {
                wanted.recompute = .selective
            }
            if framework == .torchtitan { wanted = Self.asTorchTitanReads(wanted) }
            #expect(read == wanted, "\(framework.rawValue): read back \(read), the row is \(expected)")
            #expect(read == (framework == .torchtitan ? Self.asTorchTitanReads(ReadBackLayout(export.layout)) : ReadBackLayout(export.layout)))
            // A published configuration is a layout Megatron-LM runs as it is, but for op-level checkpointing, Adam
            // state kept in bf16 without master weights, PyTorch's fp32 weights (Megatron keeps bf16 weights beside an
            // fp32 master copy), ZeRO-3 shard groups (Megatron shards over every data-parallel rank) and a PyTorch
            // stack's eager or compiled kernels.
            let options = replay.configuration.options
            let changedState = options.optimizerState != .fp32
            // Megatron-Core reduces gradients in its buffer's type: a 16-bit reduction from an fp32 buffer (the model's
            // default) runs from a bf16 one, an fp32 reduction from a bf16 buffer from an fp32 one.
            let changedBuffer = run.dataParallel * run.contextParallel > 1
                && options.gradientPrecision != (options.reduceGradientsInFP32 ? .fp32 : .bf16)
            if framework == .megatron {
                let changedGroups = options.zeroShardGroup != nil
                // Megatron runs its own fused kernels, not a PyTorch stack's eager or compiled ones.
                let changedFusion = options.kernelFusion != .fused
                // Megatron-Core's FSDP computes on its gathered buffers: FSDP2's copy-out is not run.
                let changedCopyOut = options.copiesOutGatheredParameters && options.zeroStage >= 3 && run.dataParallel * run.contextParallel > 1
                #expect(export.differences.count == (operatorLevel ? 1 : 0) + (changedState ? 1 : 0) + (changedBuffer ? 1 : 0)
                        + (changedGroups ? 1 : 0) + (changedFusion ? 1 : 0) + (changedCopyOut ? 1 : 0),
                        "\(export.differences)")
            }
        }
    }
}
