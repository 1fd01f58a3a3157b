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
