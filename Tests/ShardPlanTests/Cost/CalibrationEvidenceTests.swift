import Foundation
import Testing
@testable import ShardPlan

/// `RunProfile.distance` by hand, `CalibrationEvidence`'s choice of runs against a brute-force ranking, and the
/// evidence the repository's calibration rows give for a plan like some of them.
@Suite("Calibration evidence for a plan")
struct CalibrationEvidenceTests {
    static let h100 = 989.4e12, a100 = 312e12

    static func profile(_ device: String = "H100-SXM5-80GB", peak: Double = h100, devices: Int = 64, sequence: Int? = 4096,
                        parameters: Double = 7e9, zero3: Bool = false, pipelined: Bool = false) -> RunProfile {
        RunProfile(deviceName: device, peakFLOPsPerSecond: peak, devices: devices, sequenceLength: sequence,
                   parameters: parameters, shardsWeights: zero3, pipelined: pipelined)
    }

    @Test("distance: doublings of each ratio, and fixed steps for device, ZeRO-3, pipeline and unknown length")
    func distanceByHand() {
        let plan = Self.profile()
        #expect(plan.distance(to: plan) == 0)
        // 4x the devices (2), half the sequence (1), 8x the parameters (3).
        #expect(plan.distance(to: Self.profile(devices: 256, sequence: 2048, parameters: 56e9)) == 6)
        // An H200: same peak, another product (1/2).
        #expect(plan.distance(to: Self.profile("H200-SXM5-141GB")) == 0.5)
        // An A100: 1/2 + log2(989.4 / 312) = 0.5 + 1.6650 = 2.1650.
        #expect(abs(plan.distance(to: Self.profile("A100-SXM4-80GB", peak: Self.a100)) - 2.1650) < 1e-4)
        // ZeRO-3 (2), a pipeline (1), a sequence known on one side only (1).
        #expect(plan.distance(to: Self.profile(zero3: true)) == 2)
        #expect(plan.distance(to: Self.profile(pipelined: true)) == 1)
        #expect(plan.distance(to: Self.profile(sequence: nil)) == 1)
        #expect(Self.profile(sequence: nil).distance(to: Self.profile(sequence: nil)) == 0)
        // Symmetric.
        let other = Self.profile("A100-SXM4-40GB", peak: Self.a100, devices: 8, sequence: 8192, parameters: 1e9, zero3: true)
        #expect(plan.distance(to: other) == other.distance(to: plan))
    }

    @Test("the nearest runs are the brute-force ranking's first, ties in the file's order")
    func nearestAgainstBruteForce() {
        var generator = SplitMix64(seed: 14)
        for _ in 0 ..< 50 {
            let runs = (0 ..< 12).map { index in
                CalibrationEvidence.Run(id: "run\(index)", profile: Self.profile(
                    devices: [8, 64, 512][Int(generator.next() % 3)], sequence: [2048, 4096][Int(generator.next() % 2)],
                    parameters: [1e9, 7e9][Int(generator.next() % 2)], zero3: generator.next() % 2 == 0),
                    relativeError: Double(Int(generator.next() % 41)) / 100 - 0.2)
            }
            let plan = Self.profile(devices: 64, zero3: generator.next() % 2 == 0)
            let evidence = CalibrationEvidence(profile: plan, runs: runs, count: 5)
            // Brute force: every run's distance, then the five smallest with the earlier run first on a tie.
            var ranked: [(distance: Double, index: Int)] = []
            for (index, run) in runs.enumerated() {
                let distance = plan.distance(to: run.profile)
                let position = ranked.firstIndex { $0.distance > distance } ?? ranked.count
                ranked.insert((distance, index), at: position)
            }
            #expect(evidence.nearest.map(\.id) == ranked.prefix(5).map { "run\($0.index)" })
            #expect(evidence.nearest.map(\.distance) == ranked.prefix(5).map(\.distance))
        }
    }

    @Test("median of the signed errors, and the plan's time as it would be off as they were")
    func medianAndAdjustedTime() {
        let runs = [-0.2, 0.1, -0.1, 0.0].enumerated().map { index, error in
            CalibrationEvidence.Run(id: "r\(index)", profile: Self.profile(), relativeError: error)
        }
        let evidence = CalibrationEvidence(profile: Self.profile(), runs: runs, count: 4)
        // Sorted: -0.2, -0.1, 0.0, 0.1; the middle two average to -0.05.
        #expect(abs(evidence.medianError - -0.05) < 1e-12)
        let text = evidence.textReport(source: "runs.json", predictedSeconds: 2)
        // 2 / 0.95 = 2.105 s at the median; 2 / 1.1 = 1.818 s to 2 / 0.8 = 2.5 s.
        #expect(text.contains("would take 2.11 s (1.82 s to 2.50 s) against the predicted 2.00 s"))
        #expect(text.contains("predicted -20.0% to +10.0% of their measured time (median -5.0%"))
        #expect(!text.contains("None is close"))
        let far = CalibrationEvidence(profile: Self.profile(devices: 1024), runs: runs, count: 4)
        #expect(far.textReport(source: "runs.json", predictedSeconds: 1).contains("None is close (the nearest is 4.0 doublings away)"))
        #expect(CalibrationEvidence(profile: Self.profile(), runs: [], count: 5).textReport(source: "x.json", predictedSeconds: 1)
                    == "calibration evidence (x.json): no measured runs to compare with\n")
    }

    static func moe(devices: Int = 64, parameters: Double = 64e9, active: Double = 8e9, ep: Int = 8,
                    dispatcher: ExpertDispatcher = .deepEP) -> RunProfile {
        RunProfile(deviceName: "H100-SXM5-80GB", peakFLOPsPerSecond: h100, devices: devices, sequenceLength: 4096, parameters: parameters,
                   activeParameters: active, mixtureOfExperts: true, expertParallel: ep, expertDispatcher: dispatcher,
                   shardsWeights: false, pipelined: false)
    }

    @Test("distance of a mixture of experts: active parameters, the kind, the sparsity, expert parallelism and the dispatcher, by hand")
    func mixtureOfExpertsDistanceByHand() {
        let plan = Self.moe()
        #expect(plan.distance(to: plan) == 0)
        // A dense 8 B model: the same active parameters, another kind (3), a sparsity of 8x against 1x (0.5 x 3) and
        // ep = 8 against 1 (0.5 x 3), DeepEP against no dispatcher (0.5): 6.5, where the total parameters gave 3 before.
        #expect(plan.distance(to: Self.profile(parameters: 8e9)) == 6.5)
        // Another MoE with ep = 16 under NCCL's all-to-all: 0.5 x 1 + 0.5.
        #expect(plan.distance(to: Self.moe(ep: 16, dispatcher: .allToAll)) == 1)
        // Twice the active parameters at the same total: 1 doubling of compute, half a doubling of sparsity.
        #expect(plan.distance(to: Self.moe(active: 16e9)) == 1.5)
        #expect(plan.distance(to: Self.profile()) == Self.profile().distance(to: plan))
        // Two dense profiles are as far apart as before.
        #expect(Self.profile().distance(to: Self.profile(devices: 256, parameters: 56e9)) == 5)
        #expect(plan.description == "64 H100-SXM5-80GB, 4096 tokens, 64.0 B parameters (8.00 B active), ep=8 deepep")
    }

    /// QA: DeepSeek-V3 on 2,048 H800s rated by dense runs alone, errors from -2.9% to +3.3% and no warning. A mixture of
    /// experts now ranks a farther MoE run before a dense run of its active size, and where the file has none the
    /// evidence says so.
    @Test("a mixture of experts is compared with MoE runs first, and a file of dense runs alone is said to be one")
    func mixtureOfExpertsEvidence() {
        let plan = Self.moe()
        let dense = CalibrationEvidence.Run(id: "dense-8b", profile: Self.profile(parameters: 8e9), relativeError: 0.03)
        let other = CalibrationEvidence.Run(id: "moe-256", profile: Self.moe(devices: 256), relativeError: -0.2)
        let evidence = CalibrationEvidence(profile: plan, runs: [dense, other], count: 1)
        #expect(evidence.nearest.map(\.id) == ["moe-256"])
        #expect(!evidence.textReport(source: "runs.json", predictedSeconds: 1).contains("None of"))
        let denseOnly = CalibrationEvidence(profile: plan, runs: [dense, dense], count: 5)
        #expect(denseOnly.textReport(source: "runs.json", predictedSeconds: 1)
                    .contains("None of the 2 runs in runs.json is a mixture of experts, as this plan is: dense runs' errors say little"))
        let moeOnly = CalibrationEvidence(profile: Self.profile(), runs: [other], count: 5)
        #expect(moeOnly.textReport(source: "zoo.json", predictedSeconds: 1).contains("None of the 1 runs in zoo.json is dense, as this plan is"))
    }

    /// The active parameters found from the graph alone (the expert GEMMs' rows per weight element against the tokens)
    /// are the catalog's, which knows each model's top-k: moe-tiny's 8 experts top-2, Mixtral's 8 top-2, DeepSeek-V3's
    /// 256 top-8 (37 B of 671 B, as DeepSeek publishes).
    @Test("active parameters from the graph are the catalog's", arguments: ["moe-tiny", "mixtral-8x7b", "deepseek-v3"])
    func activeParametersFromGraph(id: String) throws {
        let entry = try #require(ModelCatalog.model(id: id))
        let graph = try entry.build()
        let configuration = try #require(entry.transformer)
        #expect(RunProfile.activeParameterCount(of: graph) == Double(ModelCatalog.activeParameterCount(of: graph, configuration: configuration)))
        let dense = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        #expect(RunProfile.activeParameterCount(of: dense) == Double(ModelCatalog.parameterCount(of: dense)))
    }

    /// A plan of moe-tiny with its experts split 8 ways over a DGX H100, against the repository's calibration rows: the
    /// nearest five are dense, and the evidence says so; against the dense rows alone it says that none in the file is
    /// a mixture of experts.
    @Test("the evidence for a plan of a mixture of experts says when the runs it compares with are dense")
    func mixtureOfExpertsPlanAgainstDenseRows() throws {
        let graph = try #require(ModelCatalog.model(id: "moe-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-h100")
        var configuration = MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, expertParallel: 8)
        configuration.options.expertDispatcher = .deepEP
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100", configuration: configuration)
        let runs = try CalibrationTests.report().runs
        let evidence = CalibrationEvidence(plan: plan, runs: runs)
        #expect(evidence.profile.mixtureOfExperts && evidence.profile.expertParallel == 8 && evidence.profile.expertDispatcher == .deepEP)
        #expect(evidence.sameKindRuns == 1 && evidence.runCount == runs.count)
        // The one MoE row is of 3 B active parameters, 15 doublings from moe-tiny's 83 K; GPT-2 124M is nearer.
        #expect(evidence.textReport(source: "published-runs.json", predictedSeconds: 1)
                    .contains("None of them is a mixture of experts, as this plan is (published-runs.json holds 1 such run): their errors say little about it."))
        let dense = runs.filter { !RunProfile(plan: $0.plan).mixtureOfExperts }
        #expect(CalibrationEvidence(plan: plan, runs: dense).textReport(source: "published-runs.json", predictedSeconds: 1)
                    .contains("None of the \(dense.count) runs in published-runs.json is a mixture of experts, as this plan is"))
    }

    /// A plan of Llama 2 70B under ZeRO-3 on 64 A100s is torchtitan's runs: the two of that model and those
    /// devices come first, at distance 0, and the evidence says the model predicted them fast; MaxText's run of the
    /// same model on 64 H100s is the fifth.
    @Test("the calibration rows nearest a 70B ZeRO-3 plan on 64 A100s are torchtitan's")
    func torchtitanPlan() throws {
        let runs = try CalibrationTests.report().runs
        let row = try #require(runs.first { $0.run.id == "torchtitan-llama2-70b-full-64xA100" })
        let evidence = CalibrationEvidence(plan: row.plan, runs: runs)
        #expect(evidence.profile == RunProfile(plan: row.plan))
        #expect(evidence.profile.shardsWeights && !evidence.profile.pipelined && evidence.profile.devices == 64)
        #expect(evidence.profile.sequenceLength == 4096)
        #expect(evidence.nearest.count == 5)
        #expect(Set(evidence.nearest.prefix(2).map(\.id))
                    == ["torchtitan-llama2-70b-selective-op-64xA100", "torchtitan-llama2-70b-full-64xA100"])
        #expect(evidence.nearest.prefix(2).allSatisfy { $0.distance == 0 })
        #expect(evidence.nearest.allSatisfy { $0.profile.shardsWeights })
        // Four A100 rows, then the same model under ZeRO-3 on 64 H100s (MaxText), a GPU generation further.
        #expect(evidence.nearest.prefix(4).allSatisfy { $0.profile.deviceName == "A100-SXM4-80GB" })
        #expect(evidence.nearest[4].id == "maxtext-llama2-70b-64xH100")
        #expect(evidence.medianError < -0.05)
    }
}
