import ArgumentParser
import ShardPlan
import Testing
@testable import shardplan

@Suite("Argument types: what each option value parses to, and what it refuses")
struct ArgumentTypeTests {
    @Test("mesh shapes are sizes joined by x", arguments: [("2x4", [2, 4]), ("8", [8]), ("1x2x4", [1, 2, 4]), ("4X2", [4, 2])])
    func meshShape(text: String, sizes: [Int]) {
        #expect(MeshShape(argument: text)?.sizes == sizes)
        #expect(MeshShape(argument: text)?.devices == sizes.reduce(1, *))
    }

    @Test("a mesh shape needs a positive size on every axis, and at most a cluster's most devices in all",
          arguments: ["", "x", "2x", "x4", "0x4", "2x-1", "2y4", "2x4.0", "9223372036854775807x2", "100000x100000x100000x100000", "2097152"])
    func badMeshShape(text: String) {
        #expect(MeshShape(argument: text) == nil)
    }

    @Test("stage limits: auto or a count of at least 1")
    func stageLimit() {
        #expect(StageLimit(argument: "auto") == .auto)
        #expect(StageLimit(argument: "1")?.limit == 1)
        #expect(StageLimit(argument: "12")?.limit == 12)
        #expect(StageLimit.auto.limit == nil)
        for bad in ["0", "-2", "two", "Auto", ""] { #expect(StageLimit(argument: bad) == nil, "\(bad)") }
    }

    @Test("microbatch counts: auto or a count of at least 1")
    func microbatches() {
        #expect(MicrobatchChoice(argument: "auto") == .auto)
        #expect(MicrobatchChoice(argument: "64")?.count == 64)
        #expect(MicrobatchChoice.auto.count == nil)
        for bad in ["0", "-1", "many", "1.5"] { #expect(MicrobatchChoice(argument: bad) == nil, "\(bad)") }
    }

    @Test("recomputation: a mode for every stage, or auto: any mode but MaxText's two that rerun products, per stage, starting from none")
    func recompute() {
        #expect(RecomputeChoice(argument: "auto")?.baseMode == RecomputeMode.none)
        #expect(RecomputeChoice(argument: "auto")?.modes == [.none, .normAct, .selective, .elementwise, .selectiveOperators, .full])
        #expect(RecomputeChoice(argument: "norm-act")?.modes == [.normAct])
        #expect(RecomputeChoice(argument: "selective")?.baseMode == .selective)
        #expect(RecomputeChoice(argument: "full")?.modes == [.full])
        #expect(RecomputeChoice(argument: "some") == nil)
        #expect(RecomputeChoice(argument: "selective-op")?.baseMode == .selectiveOperators)
        #expect(RecomputeChoice(argument: "elementwise")?.baseMode == .elementwise)
        #expect(RecomputeChoice(argument: "elementwise")?.modes == [.elementwise])
        #expect(RecomputeChoice(argument: "mlp")?.modes == [.mlp])
        #expect(RecomputeChoice(argument: "all-but-qkv")?.baseMode == .allButQKV)
        #expect(RecomputeChoice.allValueStrings == ["none", "norm-act", "selective", "elementwise", "selective-op", "mlp", "all-but-qkv", "full", "auto"])
    }

    @Test("ZeRO stages 0 to 3 and nothing else")
    func zero() {
        #expect((0...3).map { ZeroStage(argument: String($0))?.rawValue } == [0, 1, 2, 3])
        #expect(ZeroStage(argument: "4") == nil)
        #expect(ZeroStage(argument: "-1") == nil)
        #expect(ZeroStage.allValueStrings == ["0", "1", "2", "3"])
    }

    @Test("row selections are comma-separated ids")
    func rows() {
        #expect(RowSelection(argument: "a,b, c")?.ids == ["a", "b", "c"])
        #expect(RowSelection(argument: "a,,b") == nil)
        #expect(RowSelection(argument: "") == nil)
    }

    @Test("cluster completion offers the presets that start with what was typed")
    func clusterCompletion() {
        let offered = ModelAndCluster.clusterCompletions(prefix: "dgx-h")
        #expect(offered.contains("dgx-h100"))
        #expect(offered.contains("dgx-h200"))
        #expect(!offered.contains("dgx-a100-80g"))
    }

    @Test("plan's ZeRO choice: auto lets each stage take any stage, a number pins it")
    func zeroChoice() {
        #expect(ZeroChoice(argument: "auto")?.stages == [0, 1, 2, 3])
        #expect(ZeroChoice(argument: "auto")?.floor == 0)
        #expect(ZeroChoice(argument: "3")?.stages == [3])
        #expect(ZeroChoice(argument: "3")?.floor == 3)
        for bad in ["4", "-1", "some"] { #expect(ZeroChoice(argument: bad) == nil, "\(bad)") }
    }
}
