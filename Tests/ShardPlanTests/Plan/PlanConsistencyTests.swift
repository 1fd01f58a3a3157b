import Testing
@testable import ShardPlan

/// One way to make a plan document disagree with its graph, its cluster or itself, and where the decoder
/// must say so when it is the only problem (paths as the writer orders members).
struct PlanInconsistency: CustomTestStringConvertible, Sendable {
    var name: String
    /// The path whose value is changed.
    var target: JSONPath
    /// The change; nil removes the value.
    var change: @Sendable (JSONValue) -> JSONValue?
    var expectedPath: String
    var expectedKind: InputError.Kind

    var testDescription: String { name }

    private static func at(_ text: String...) -> JSONPath {
        JSONPath(text.map { part in Int(part).map { .index($0, label: nil) } ?? .key(part) })
    }

    /// Changes to the Megatron plan of gpt-tiny at tp=2, pp=2 with sequence parallelism on one DGX A100
    /// (stage 0 on devices 0-3, stage 1 on 4-7, both meshes 2x2 with axes x and y).
    static let all: [PlanInconsistency] = [
        PlanInconsistency(name: "an op the graph lacks", target: at("stages", "1", "ops", "3"), change: { _ in "h1.nonexistent" },
                          expectedPath: "stages[1].ops[3]", expectedKind: .undefinedName),
        PlanInconsistency(name: "a parameter listed as an op", target: at("stages", "0", "ops", "2"), change: { _ in "embed.table" },
                          expectedPath: "stages[0].ops[2]", expectedKind: .invalidReference),
        PlanInconsistency(name: "an op left out of the middle of a stage", target: at("stages", "0", "ops", "1"), change: { _ in nil },
                          expectedPath: "stages[0].ops[1]", expectedKind: .invalidValue),
        PlanInconsistency(name: "an op listed twice", target: at("stages", "0", "ops", "2"), change: { _ in "embed" },
                          expectedPath: "stages[0].ops[2]", expectedKind: .invalidValue),
        PlanInconsistency(name: "the last stage's last op left out", target: at("stages", "1"), change: { stage in
            guard case .object(var object) = stage, case .array(let ops)? = object["ops"] else { return stage }
            object["ops"] = .array(Array(ops.dropLast()))
            for key in ["shardings", "partial_sums", "operand_shardings"] { object[key] = nil }
            return .object(object)
        }, expectedPath: "stages", expectedKind: .invalidValue),
        PlanInconsistency(name: "a device the cluster lacks", target: at("stages", "1", "devices", "2"), change: { _ in 8 },
                          expectedPath: "stages[1].devices[2]", expectedKind: .invalidReference),
        PlanInconsistency(name: "a device listed twice", target: at("stages", "0", "devices", "3"), change: { _ in 0 },
                          expectedPath: "stages[0].devices[3]", expectedKind: .invalidValue),
        PlanInconsistency(name: "a device of another rank", target: at("stages", "1", "devices", "0"), change: { _ in 3 },
                          expectedPath: "stages[1].devices[0]", expectedKind: .invalidValue),
        PlanInconsistency(name: "a device id that is not an integer", target: at("stages", "0", "devices", "1"), change: { _ in "1" },
                          expectedPath: "stages[0].devices[1]", expectedKind: .wrongType),
        PlanInconsistency(name: "a mesh that does not hold the stage's devices", target: at("stages", "0", "mesh"), change: { _ in .ints([2, 1]) },
                          expectedPath: "stages[0].mesh", expectedKind: .invalidValue),
        PlanInconsistency(name: "a mesh axis of no devices", target: at("stages", "1", "mesh", "1"), change: { _ in 0 },
                          expectedPath: "stages[1].mesh[1]", expectedKind: .invalidValue),
        PlanInconsistency(name: "a mesh larger than the cluster (axis sizes whose product overflows)", target: at("stages", "0", "mesh"),
                          change: { _ in .ints([1 << 31, 1 << 31, 1 << 31]) },
                          expectedPath: "stages[0].mesh", expectedKind: .invalidValue),
        PlanInconsistency(name: "an axis name used twice", target: at("stages", "1", "axes", "1"), change: { _ in "x" },
                          expectedPath: "stages[1].axes[1]", expectedKind: .duplicateName),
        PlanInconsistency(name: "an unknown mesh axis in a layout", target: at("stages", "0", "shardings", "embed.table", "0"),
                          change: { _ in .strings(["q"]) },
                          expectedPath: "stages[0].shardings[\"embed.table\"][0][0]", expectedKind: .invalidReference),
        PlanInconsistency(name: "a layout entry that is neither null nor a list", target: at("stages", "1", "shardings", "h1.attn.norm.gamma", "0"),
                          change: { _ in "y" },
                          expectedPath: "stages[1].shardings[\"h1.attn.norm.gamma\"][0]", expectedKind: .wrongType),
        PlanInconsistency(name: "one axis splitting two dimensions", target: at("stages", "0", "shardings", "tokens", "1"),
                          change: { _ in .strings(["x"]) },
                          expectedPath: "stages[0].shardings.tokens[1][0]", expectedKind: .invalidValue),
        PlanInconsistency(name: "a layout of the wrong rank", target: at("stages", "0", "shardings", "tokens"), change: { _ in [.strings(["x"]), nil, nil] },
                          expectedPath: "stages[0].shardings.tokens", expectedKind: .invalidValue),
        PlanInconsistency(name: "a layout of a tensor the graph lacks", target: at("stages", "1", "shardings"), change: { shardings in
            guard case .object(var object) = shardings else { return shardings }
            object["nonexistent"] = [nil]
            return .object(object)
        }, expectedPath: "stages[1].shardings.nonexistent", expectedKind: .undefinedName),
        PlanInconsistency(name: "a layout of a tensor of another stage", target: at("stages", "1", "shardings"), change: { shardings in
            guard case .object(var object) = shardings else { return shardings }
            object["embed.position_table"] = [nil, nil]
            return .object(object)
        }, expectedPath: "stages[1].shardings[\"embed.position_table\"]", expectedKind: .invalidReference),
        PlanInconsistency(name: "partial sums over an axis the result is split by", target: at("stages", "0", "partial_sums"), change: { sums in
            guard case .object(var object) = sums else { return sums }
            object["embed.dropout"] = .strings(["x"])
            return .object(object)
        }, expectedPath: "stages[0].partial_sums[\"embed.dropout\"]", expectedKind: .invalidValue),
        PlanInconsistency(name: "an operand layout for an op of another stage", target: at("stages", "0", "operand_shardings"), change: { reads in
            guard case .object(var object) = reads else { return reads }
            object["h1.attn.qkv"] = [nil, nil]
            return .object(object)
        }, expectedPath: "stages[0].operand_shardings[\"h1.attn.qkv\"]", expectedKind: .invalidReference),
        PlanInconsistency(name: "a ZeRO stage that does not exist", target: at("stages", "0", "zero_stages"), change: { zero in
            guard case .object(var object) = zero else { return zero }
            object["embed.table"] = 7
            return .object(object)
        }, expectedPath: "stages[0].zero_stages[\"embed.table\"]", expectedKind: .invalidValue),
        PlanInconsistency(name: "a rank out of turn", target: at("stages", "1", "rank"), change: { _ in 3 },
                          expectedPath: "stages[1].rank", expectedKind: .invalidValue),
        PlanInconsistency(name: "a stage index out of turn", target: at("stages", "1", "index"), change: { _ in 0 },
                          expectedPath: "stages[1].index", expectedKind: .invalidValue),
        PlanInconsistency(name: "a stage that is not an object", target: at("stages", "1"), change: { _ in 3 },
                          expectedPath: "stages[1]", expectedKind: .wrongType),
        PlanInconsistency(name: "no stages at all", target: at("stages"), change: { _ in nil },
                          expectedPath: "(top level)", expectedKind: .missingField),
        PlanInconsistency(name: "an empty list of stages", target: at("stages"), change: { _ in [] },
                          expectedPath: "stages", expectedKind: .invalidValue),
        PlanInconsistency(name: "a global batch other than the graph's", target: at("global_batch"), change: { _ in 16 },
                          expectedPath: "global_batch", expectedKind: .invalidValue),
        PlanInconsistency(name: "microbatches that do not divide the batch", target: at("microbatches"), change: { _ in 3 },
                          expectedPath: "microbatches", expectedKind: .invalidValue),
        PlanInconsistency(name: "virtual stages the stages do not make", target: at("virtual_stages"), change: { _ in 2 },
                          expectedPath: "stages", expectedKind: .invalidValue),
        PlanInconsistency(name: "a device count the stages do not use", target: at("devices"), change: { _ in 4 },
                          expectedPath: "stages", expectedKind: .invalidValue),
        PlanInconsistency(name: "the interleaved schedule with one chunk a rank", target: at("schedule"), change: { _ in "interleaved-1f1b" },
                          expectedPath: "stages", expectedKind: .invalidValue),
    ]
}

@Suite("Plan documents that disagree with the graph or the cluster are refused at the first disagreement")
struct PlanConsistencyTests {
    let graph: Graph
    let cluster: Cluster
    /// gpt-tiny at tp=2, pp=2, sequence parallel, on one DGX A100 (8 devices).
    let document: JSONValue

    /// Built once for every test of the suite.
    private static let fixture = Result { () throws -> (Graph, Cluster, JSONValue) in
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2, sequenceParallel: true))
        return (graph, cluster, try JSONParser.parse(plan.jsonText(prediction: PlanEvaluator(cluster: cluster).evaluate(plan))))
    }

    init() throws {
        (graph, cluster, document) = try Self.fixture.get()
    }

    /// The error decoding `document` gives, or nil when it decodes.
    func error(decoding document: JSONValue) -> InputError? {
        do {
            _ = try TrainingPlan(json: document, graph: graph, cluster: cluster, clusterName: "c")
            return nil
        } catch {
            return error
        }
    }

    @Test("the unchanged document decodes")
    func sound() {
        #expect(error(decoding: document) == nil)
    }

    @Test("a decoded plan's summary is worked out from its stages, so a hand-edited ZeRO stage shows in it")
    func summaryFollowsTheStages() throws {
        let plain = try TrainingPlan(json: document, graph: graph, cluster: cluster, clusterName: "c")
        #expect(plain.summary == "tp=2 dp=2 pp=2")
        let edited = document.updating(JSONPath([.key("options"), .key("zero_stage")])) { _ in 3 }
        let sharded = try TrainingPlan(json: edited, graph: graph, cluster: cluster, clusterName: "c")
        // The plan-wide stage is every parameter's.
        #expect(sharded.summary == "tp=2 dp=2 zero=3 pp=2")
        // One op of the first stage sharding its parameters further is named so.
        var mixed = plain
        let first = mixed.stages[0]
        let reader = try #require(first.operations.first { graph.operations[$0].inputs.contains { graph[$0].isParameter } })
        mixed.stages[0].strategies[reader - first.operations.lowerBound].zeroStage = 3
        #expect(mixed.stageSummary == "pp=2: stage 0 tp=2 dp=2 zero=3 on some parameters; stage 1 tp=2 dp=2")
        // A summary that is not text is still refused.
        #expect(error(decoding: document.updating(JSONPath([.key("summary")])) { _ in 7 })?.path.description == "summary")
        // So are the names of the graph and the cluster the plan was made for.
        #expect(error(decoding: document.updating(JSONPath([.key("graph")])) { _ in 0 })?.path.description == "graph")
        #expect(error(decoding: document.updating(JSONPath([.key("cluster")])) { _ in .array([]) })?.path.description == "cluster")
    }

    @Test("a decoded plan's summary names the plan-wide recomputation its stages run, not only a stage's own")
    func summaryNamesThePlanRecomputation() throws {
        let edited = document.updating(JSONPath([.key("options"), .key("recompute")])) { _ in "full" }
        let plan = try TrainingPlan(json: edited, graph: graph, cluster: cluster, clusterName: "c")
        #expect(plan.summary == "tp=2 dp=2 recompute=full pp=2")
    }

    @Test("a plan's context-parallel exchange reads by its name or Megatron's (a2a, all_gather); another is refused at options.cp_comm_type")
    func contextParallelExchangeNames() throws {
        func naming(_ name: String) -> JSONValue {
            document.updating(JSONPath([.key("options")])) { options in
                guard case .object(var members) = options else { return options }
                members["cp_comm_type"] = .string(name)
                return .object(members)
            }
        }
        for (name, communication) in [("all-to-all", ContextParallelCommunication.allToAll), ("a2a", .allToAll), ("all_gather", .allGather), ("p2p", .ring),
                                      ("pytorch-ring", .pytorchRing), ("pytorch-ring-all-to-all", .pytorchRingAllToAll),
                                      ("a2a+p2p", .hierarchical)] {
            #expect(try TrainingPlan(json: naming(name), graph: graph, cluster: cluster, clusterName: "c").options.contextParallelCommunication == communication)
        }
        let refused = error(decoding: naming("ulysses"))
        #expect(refused?.path.description == "options.cp_comm_type")
        #expect(refused?.description.contains("known: p2p, all-gather, all-to-all, pytorch-ring, pytorch-ring-all-to-all, a2a+p2p (Megatron's all_gather, a2a)") == true, "\(String(describing: refused))")
    }

    @Test("a stage listed twice is refused at the repeat, with or without its index and rank",
          arguments: [[0, 1, 1], [0, 0, 1], [0, 1, 0], [0, 1, 0, 1]], [true, false])
    func repeatedStage(order: [Int], keepsIndexAndRank: Bool) throws {
        guard case .object(var top) = document, case .array(let stages)? = top["stages"] else {
            Issue.record("a plan document has stages"); return
        }
        top["stages"] = .array(order.map { index in
            guard !keepsIndexAndRank, case .object(var stage) = stages[index] else { return stages[index] }
            stage["index"] = nil
            stage["rank"] = nil
            return .object(stage)
        })
        let repeated = try #require(order.indices.first { order[..<$0].contains(order[$0]) })
        let found = try #require(error(decoding: .object(top)), "a repeated stage must be refused")
        #expect(found.path.description.hasPrefix("stages[\(repeated)]"), "\(found)")
        #expect(!found.description.contains("\n"))
    }

    @Test("a stage repeated a thousand times is refused at the first repeat, reading no op twice")
    func stageRepeatedThousandsOfTimes() throws {
        guard case .object(var top) = document, case .array(let stages)? = top["stages"] else {
            Issue.record("a plan document has stages"); return
        }
        // Without index and rank, every copy after the first is only wrong in its ops.
        var first = stages[0]
        if case .object(var stage) = first {
            stage["index"] = nil
            stage["rank"] = nil
            first = .object(stage)
        }
        top["stages"] = .array(Array(repeating: first, count: 1000))
        let found = try #require(error(decoding: .object(top)))
        #expect(found.description.hasPrefix("stages[1].ops[0]: op \"embed\" is already in stage 0"), "\(found)")
    }

    @Test("partial sums in a stage without shardings are refused at the partial sums, a path the document has")
    func partialSumsWithoutShardings() throws {
        let stage: JSONPath = JSONPath([.key("stages"), .index(0, label: nil)])
        let changed = document.updating(stage) { value in
            guard case .object(var object) = value else { return value }
            object["shardings"] = nil
            object["partial_sums"] = ["h0.attn.out": .strings(["y"])]
            return .object(object)
        }
        let found = try #require(error(decoding: changed), "it must be refused")
        #expect(found.path.description == "stages[0].partial_sums[\"h0.attn.out\"]", "\(found)")
        #expect(found.kind == .invalidReference, "\(found)")
        #expect(changed.value(at: found.path) != nil)
    }

    @Test("a global_batch other than the graph's (gpt-tiny's 8 token sequences) is refused at global_batch, naming the graph's batch",
          arguments: [7, 16, 1 << 40])
    func globalBatch(_ declared: Int) throws {
        let changed = document.updating(JSONPath([.key("global_batch")])) { _ in .int(declared) }
        let found = try #require(error(decoding: changed), "global_batch \(declared) must be refused")
        #expect(found.kind == .invalidValue)
        #expect(found.description.hasPrefix("global_batch: global_batch says \(declared), but graph \"gpt-tiny\" has a global batch of 8 "
                                            + "(the batch dimension of its input \"tokens\")"), "\(found)")
    }

    /// QA: a global_batch of 0 was refused with advice to run `plan --batch 0`, which the command line refuses.
    @Test("a global_batch below 1 is refused as no batch at all, with no advice to plan at it", arguments: [-8, 0])
    func globalBatchBelowOne(_ declared: Int) throws {
        let changed = document.updating(JSONPath([.key("global_batch")])) { _ in .int(declared) }
        let found = try #require(error(decoding: changed), "global_batch \(declared) must be refused")
        #expect(found.kind == .invalidValue)
        #expect(found.description == "global_batch: global_batch is \(declared); a batch holds at least one sample", "\(found)")
    }

    @Test("a layout's entry count is written in the singular and plural as it falls: 1 entry, 3 entries")
    func layoutEntryCount() throws {
        for (entries, text) in [([JSONValue.null], "1 entry for a tensor of rank 2"), ([.null, .null, .null], "3 entries for a tensor of rank 2")] {
            let changed = document.updating(JSONPath([.key("stages"), .index(0, label: nil), .key("shardings"), .key("tokens")])) { _ in .array(entries) }
            let found = try #require(error(decoding: changed))
            #expect(found.message.hasPrefix(text), "\(found)")
        }
    }

    @Test("a plan of gpt-tiny rebatched to 16 (rebatched_from 8) decodes with gpt-tiny at 16 and prices as written; another rebatched_from is refused")
    func rebatchedPlan() throws {
        let rebatched = try graph.rebatched(to: 16)
        var plan = try TrainingPlan.megatron(graph: rebatched, cluster: cluster, clusterName: "c",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2, sequenceParallel: true))
        plan.rebatchedFrom = 8
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        let written = try JSONParser.parse(plan.jsonText(prediction: prediction))
        #expect(written.value(at: JSONPath([.key("rebatched_from")])) == .int(8))
        let decoded = try TrainingPlan(json: written, graph: graph, cluster: cluster, clusterName: "c")
        #expect(decoded.graph.batchSize == 16 && decoded.rebatchedFrom == 8 && decoded.microbatches == 16 / 2)
        #expect(PlanEvaluator(cluster: cluster).evaluate(decoded).iterationSeconds == prediction.iterationSeconds)
        let otherSource = try #require(error(decoding: written.updating(JSONPath([.key("rebatched_from")])) { _ in .int(4) }))
        #expect(otherSource.path.description == "rebatched_from", "\(otherSource)")
        #expect(otherSource.message.contains("a global batch of 4, but graph \"gpt-tiny\" has 8"), "\(otherSource)")
        // Only the graph file the plan was made from, at its own batch, is rebatched: gpt-tiny at 16 is priced as it is.
        #expect(error(decoding: written.updating(JSONPath([.key("rebatched_from")])) { _ in nil })?.path.description == "global_batch")
    }

    @Test("rebatched_from equal to global_batch is a plan of the graph's own batch: not rebatched, and its report does not say it was")
    func rebatchedToItsOwnBatch() throws {
        var plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "c",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2))
        plan.rebatchedFrom = 8
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        let written = try JSONParser.parse(plan.jsonText(prediction: prediction))
        #expect(written.value(at: JSONPath([.key("rebatched_from")])) == .int(8) && graph.batchSize == 8)
        let decoded = try TrainingPlan(json: written, graph: graph, cluster: cluster, clusterName: "c")
        #expect(decoded.rebatchedFrom == nil)
        #expect(!PlanEvaluator(cluster: cluster).evaluate(decoded).textReport(for: decoded).contains("rebatched"))
    }

    @Test("a global_batch of 2^63 - 1, past the integers a JSON number holds exactly, is refused at global_batch too")
    func globalBatchPastExactIntegers() throws {
        let changed = document.updating(JSONPath([.key("global_batch")])) { _ in try? JSONParser.parse("9223372036854775807") }
        let found = try #require(error(decoding: changed), "it must be refused")
        #expect(found.path.description == "global_batch", "\(found)")
    }

    @Test("a graph without inputs runs as a batch of 1: its plan says global_batch 1, and another is refused")
    func globalBatchWithoutInputs() throws {
        var builder = GraphBuilder(name: "weights-only")
        let weights = try builder.parameter("w", [64, 64])
        let squared = try builder.unary("w.squared", .square, weights)
        builder.output(try builder.add("loss", .reduce(.sum, axes: [0, 1], keepDimensions: false), [squared]))
        let graph = try builder.build()
        let found = try SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", meshShapes: [[1, 8]], recomputeModes: [.none]).plan()
        let written = try JSONParser.parse(found.plan.jsonText(prediction: found.prediction))
        #expect(written.value(at: JSONPath([.key("global_batch")])) == .int(1))
        _ = try TrainingPlan(json: written, graph: graph, cluster: cluster, clusterName: "c")
        do {
            _ = try TrainingPlan(json: written.updating(JSONPath([.key("global_batch")])) { _ in .int(2) }, graph: graph, cluster: cluster, clusterName: "c")
            Issue.record("global_batch 2 must be refused")
        } catch {
            #expect(error.description.hasPrefix("global_batch: global_batch says 2, but graph \"weights-only\" has a global batch of 1 (it has no inputs)"),
                    "\(error)")
        }
    }

    @Test("the graph's name is not checked: a plan of a renamed copy of the graph decodes, and one without global_batch too")
    func graphNameAndMissingGlobalBatch() throws {
        let renamed = document.updating(JSONPath([.key("graph")])) { _ in "gpt-tiny-copy" }
        #expect(error(decoding: renamed) == nil)
        #expect(error(decoding: renamed.updating(JSONPath([.key("global_batch")])) { _ in nil }) == nil)
    }

    @Test("each disagreement alone is refused at its path", arguments: PlanInconsistency.all)
    func alone(_ inconsistency: PlanInconsistency) throws {
        #expect(document.value(at: inconsistency.target) != nil, "the change has a target")
        let found = try #require(error(decoding: document.updating(inconsistency.target, inconsistency.change)), "it must be refused")
        #expect(found.path.description == inconsistency.expectedPath, "\(found)")
        #expect(found.kind == inconsistency.expectedKind, "\(found)")
        // The top level's path goes without saying.
        #expect(found.path == .root || found.description.hasPrefix(inconsistency.expectedPath + ": "), "\(found)")
    }

    @Test("with two disagreements, members in any order, the one written first is reported")
    func firstInDocumentOrder() throws {
        var random = SplitMix64(seed: 15)
        let changes = PlanInconsistency.all
        for _ in 0..<24 {
            let shuffled = Self.shuffled(document, using: &random)
            let first = changes.randomElement(using: &random)!
            let second = changes.randomElement(using: &random)!
            // Two changes of one value, or of a value and one inside it, are one change; removing an element
            // moves its neighbours.
            let a = first.target.components, b = second.target.components
            if a.starts(with: b) || b.starts(with: a) { continue }
            if (first.change(.null) == nil || second.change(.null) == nil) && a.dropLast() == b.dropLast() { continue }
            let both = shuffled.updating(first.target, first.change).updating(second.target, second.change)
            let alone = try [first, second].map { change in
                try #require(error(decoding: shuffled.updating(change.target, change.change)), "\(change.name) alone is refused").path
            }
            let expected = alone.min { $0.documentPosition(in: both).lexicographicallyPrecedes($1.documentPosition(in: both)) }!
            let found = try #require(error(decoding: both))
            #expect(found.path == expected, "\(first.name) + \(second.name): expected \(expected), found \(found)")
        }
    }

    /// `value` with the members of every object in a random order.
    static func shuffled(_ value: JSONValue, using random: inout SplitMix64) -> JSONValue {
        switch value {
        case .object(let object):
            return .object(JSONObject(object.members.shuffled(using: &random).map { ($0.key, shuffled($0.value, using: &random)) }))
        case .array(let elements):
            return .array(elements.map { shuffled($0, using: &random) })
        default:
            return value
        }
    }
}
