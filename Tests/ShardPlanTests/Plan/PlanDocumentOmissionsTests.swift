import Testing
@testable import ShardPlan

/// A hand-edited plan that drops what `plan` writes is priced as the reader fills it in, and `score --plan` says so:
/// an absent `options` member is the default stack; a layout left out of `shardings` is the one the stage's other
/// entries imply, not replicated.
@Suite("Plan documents: what a hand edit leaves out is noted")
struct PlanDocumentOmissionsTests {
    let graph: Graph
    let cluster: Cluster
    let plan: TrainingPlan
    let document: JSONObject

    init() throws {
        graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        var options = TrainingOptions()
        options.recompute = .full
        plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                         configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, options: options))
        guard case .object(let object) = try JSONParser.parse(plan.jsonText(prediction: PlanEvaluator(cluster: cluster).evaluate(plan))) else {
            throw InputError(.wrongType, at: .root, "expected an object")
        }
        document = object
    }

    func decoded(_ object: JSONObject) throws -> TrainingPlan {
        try TrainingPlan(json: .object(object), graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1")
    }

    /// `document` with `names` removed from stage 0's `shardings`.
    func dropping(_ names: [String]) throws -> JSONObject {
        var edited = document
        guard case .array(var stages)? = edited["stages"], case .object(var stage) = stages[0],
              case .object(var shardings)? = stage["shardings"] else { throw InputError(.wrongType, at: .root, "expected stages") }
        for name in names { shardings[name] = nil }
        stage["shardings"] = .object(shardings)
        stages[0] = .object(stage)
        edited["stages"] = .array(stages)
        return edited
    }

    @Test("a plan as written has nothing to note, and lists every value its stage reads or makes")
    func writtenPlan() throws {
        #expect(PlanDocumentOmissions.notes(in: .object(document), for: try decoded(document)).isEmpty)
        let stated = PlanDocumentOmissions.statedValues(of: plan.stages[0], in: graph)
        #expect(stated.prefix(4) == ["tokens", "embed.table", "embed", "embed.position_table"], "\(stated.prefix(4))")
        #expect(stated.count == Set(stated).count)
    }

    @Test("without options the plan is priced on the default stack, its recomputation gone, and a note says so")
    func missingOptions() throws {
        var edited = document
        edited["options"] = nil
        let plan = try decoded(edited)
        #expect(plan.options.recompute == .none)
        let notes = PlanDocumentOmissions.notes(in: .object(edited), for: plan)
        #expect(notes.count == 1)
        #expect(notes.first?.hasPrefix("the plan has no \"options\" member: it is priced on the default training stack") == true)
        edited["options"] = .null
        #expect(PlanDocumentOmissions.notes(in: .object(edited), for: try decoded(edited)) == notes)
    }

    /// The tensor-parallel qkv weight's entry dropped: its op's result and partial sums still say column-parallel, so
    /// the weight is split as before (the same price), and the note says it was not read as replicated.
    @Test("a parameter left out of shardings takes the layout the rest implies, named in a note")
    func droppedParameter() throws {
        let edited = try dropping(["h0.attn.qkv.w"])
        let read = try decoded(edited)
        let evaluator = PlanEvaluator(cluster: cluster)
        #expect(evaluator.evaluate(read).iterationSeconds == evaluator.evaluate(plan).iterationSeconds)
        #expect(PlanDocumentOmissions.notes(in: .object(edited), for: read)
                == ["stage 0's shardings leave out 1 value (\"h0.attn.qkv.w\"): each is priced in the layout the stage's other entries "
                    + "imply, not replicated; to price another layout, state it for the value and the ops that read it"])
        let more = try dropping(["h0.attn.qkv.w", "h0.attn.qkv.b", "h0.attn.out.w", "h0.attn.out.b", "h1.attn.qkv.w"])
        let note = PlanDocumentOmissions.notes(in: .object(more), for: try decoded(more)).first ?? ""
        #expect(note.hasPrefix("stage 0's shardings leave out 5 values (\"h0.attn.qkv.w\", \"h0.attn.qkv.b\", \"h0.attn.out.w\" and 2 more)"), "\(note)")
    }

    /// An op whose result and weight are both left out is settled by agreement with its producers (here, replicated
    /// weights), which the stated bias add after it contradicts: the refusal says the operand's layout was not stated.
    @Test("a result and its weight both left out may contradict what follows, and the refusal says it was not stated")
    func droppedResultAndWeight() throws {
        let edited = try dropping(["h0.attn.qkv.w", "h0.attn.qkv"])
        let error = #expect(throws: InputError.self) { _ = try decoded(edited) }
        #expect(error?.message.contains("operand 0 (\"h0.attn.qkv\") read in layout [[\"x\"], null, null, null, null] (its producer's, which the stage's shardings do not state)") == true,
                "\(error?.message ?? "")")
    }
}
