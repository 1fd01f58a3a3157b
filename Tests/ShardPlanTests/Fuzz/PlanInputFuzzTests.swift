import Testing
@testable import ShardPlan

@Suite("Fuzzed plan documents: re-scored, or refused at a JSON path, never crashed on")
struct PlanInputFuzzTests {
    @Test("score --plan")
    func scorePlan() {
        let plans = FuzzFixtures.plans
        let campaign = FuzzCampaign(kind: "plan", documents: plans.map(\.document),
                                    vocabulary: FuzzFixtures.planVocabulary(FuzzFixtures.smallGPT), seed: 3)
        let tally = campaign.run(cases: FuzzCampaign.caseCount(default: 600)) { fuzzCase throws(InputError) in
            let saved = plans[fuzzCase.original]
            // As `score --plan` reads a file: parsed with the file's name, decoded against the graph and cluster.
            let plan: TrainingPlan
            do throws(InputError) {
                let json: JSONValue
                switch fuzzCase.document {
                case .value(let value): json = value
                case .bytes(let bytes): json = try JSONValue.parseDocument(bytes, document: FuzzCampaign.documentName)
                }
                plan = try TrainingPlan(json: json, graph: saved.graph, cluster: saved.cluster, clusterName: "fuzz")
            } catch {
                throw error.inDocument(FuzzCampaign.documentName)
            }
            #expect(PlanValidator.violation(in: plan) == nil)
            CommandChecks.price(plan, reread: true)
        }
        #expect(tally.rerun || tally.accepted > 0 && tally.rejected > tally.accepted, "\(tally)")
    }
}
