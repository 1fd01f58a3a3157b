import Foundation
import Testing
@testable import ShardPlan

@Suite("Rewrite rules: matching, side conditions, valid graphs, records")
struct RewriteRuleTests {
    static let fixtures = (try? RewriteFixtures.all()) ?? []

    @Test("the catalog has at least 15 rules with distinct names, and every rule has a fixture")
    func catalog() throws {
        let names = RewriteCatalog.rules.map(\.name)
        #expect(names.count >= 15)
        #expect(Set(names).count == names.count)
        #expect(Set(try RewriteFixtures.all().map(\.rule)) == Set(names))
        #expect(RewriteCatalog.safeRuleNames.isSubset(of: Set(names)))
        #expect(RewriteSelection.none.rules.isEmpty && RewriteSelection.all.rules.count == names.count)
    }

    @Test("Docs/rewrites.md has a row for every rule, marked safe exactly when it is")
    func documented() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Docs/rewrites.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        for rule in RewriteCatalog.rules {
            let safe = RewriteCatalog.safeRuleNames.contains(rule.name) ? "yes" : "no"
            #expect(text.contains("| `\(rule.name)` | \(safe) |"), "no row for \(rule.name) marked \(safe)")
        }
    }

    @Test("each rule applies to its fixture and gives a valid graph with the same outputs", arguments: fixtures)
    func appliesAndStaysValid(_ fixture: RewriteFixture) throws {
        let rule = try #require(RewriteCatalog.rule(named: fixture.rule))
        let rewrites = rule.rewrites(in: fixture.graph).filter { fixture.choice == nil || $0.choice == fixture.choice }
        #expect(!rewrites.isEmpty, "\(fixture.rule) does not apply to \(fixture.graph.name)")
        for rewrite in rewrites {
            let rewritten = try fixture.graph.applying([rewrite])
            #expect(rewritten.outputs.map { rewritten[$0].type } == fixture.graph.outputs.map { fixture.graph[$0].type })
            #expect(rewritten.operations.count == fixture.graph.operations.count - rewrite.removedOperations.count + rewrite.addedOperations.count)
            // A new parameter has the type its derivation computes, and the removed ones are gone.
            for parameter in rewrite.addedParameters {
                #expect(rewritten[try #require(rewritten.value(named: parameter.name))].type == parameter.type)
            }
            for name in rewrite.removedParameters { #expect(rewritten.value(named: name) == nil) }
            // The document form reads back, and the rule re-derives the same rewrite from its anchors.
            #expect(try GraphRewrite(json: rewrite.json, at: .root) == rewrite)
            #expect(rule.rewrite(anchoredAt: rewrite.anchors, choice: rewrite.choice, in: fixture.graph) == rewrite)
        }
    }

    @Test("applying every match at once equals applying them one at a time, and is deterministic", arguments: fixtures)
    func batchedEqualsSequential(_ fixture: RewriteFixture) throws {
        let rule = try #require(RewriteCatalog.rule(named: fixture.rule))
        let (once, applied) = try fixture.graph.rewritingEverywhere(with: [(rule, fixture.choice)])
        var stepwise = fixture.graph
        for rewrite in applied { stepwise = try stepwise.applying([rewrite]) }
        #expect(once.jsonText == stepwise.jsonText)
        #expect(try fixture.graph.rewritingEverywhere(with: [(rule, fixture.choice)]).graph.jsonText == once.jsonText)
    }

    @Test("merging Q, K and V stacks the weights head-aligned and slices each output back out")
    func mergedProjections() throws {
        let graph = try RewriteFixtures.projections(bias: true)
        let rewrite = try #require(RewriteRule.mergeParallelContractions.rewrites(in: graph).first)
        #expect(rewrite.anchors == ["q", "k", "v"])
        #expect(Set(rewrite.removedParameters) == ["q.w", "k.w", "v.w", "q.b", "k.b", "v.b"])
        let weight = try #require(rewrite.addedParameters.first { $0.name == "q.w+k.w+v.w" })
        // [d, t, h, k]: the stacking axis sits before the heads, so splitting heads splits q, k and v alike.
        #expect(weight.type.shape == [8, 3, 2, 4])
        let bias = try #require(rewrite.addedParameters.first { $0.name == "q.b+k.b+v.b" })
        #expect(bias.type.shape == [3, 2, 4])
        let merged = try graph.applying([rewrite])
        #expect(merged.operations.first { $0.name == "q+k+v" }.map { "\($0.op.kindName) \(merged[$0.result].type)" } == "einsum bf16[4, 6, 3, 2, 4]")
        #expect(merged[try #require(merged.value(named: "q.bias"))].type == graph[try #require(graph.value(named: "q.bias"))].type)
    }

    @Test("side conditions: a weight read twice, a slice that does not partition, a transpose read twice, an output identity")
    func sideConditions() throws {
        // Two projections of one input whose weights are the same tensor: not merged.
        var g = GraphBuilder(name: "shared-weight")
        let x = try g.input("x", [4, 8], .f32)
        let w = try g.parameter("w", [8, 8], .f32)
        g.output(try g.binary("sum", .add, try g.einsum("a", "bd,df->bf", x, w), try g.einsum("b", "bd,df->bf", x, w)))
        #expect(RewriteRule.mergeParallelContractions.rewrites(in: try g.build()).isEmpty)

        // Slices that leave a gap are no partition: the contraction is not split.
        g = GraphBuilder(name: "gap")
        let y = try g.einsum("y", "bd,df->bf", try g.input("x", [4, 8], .f32), try g.parameter("w", [8, 8], .f32))
        g.output(try g.add("left", .slice(axis: 1, start: 0, end: 3), [y]))
        g.output(try g.add("right", .slice(axis: 1, start: 4, end: 8), [y]))
        #expect(RewriteRule.splitContraction.rewrites(in: try g.build()).isEmpty)

        // A transpose another op also reads stays.
        g = GraphBuilder(name: "shared-transpose")
        let t = try g.add("t", .transpose(permutation: [1, 0]), [try g.input("x", [8, 4], .f32)])
        g.output(try g.einsum("y", "bd,df->bf", t, try g.parameter("w", [8, 6], .f32)))
        g.output(try g.unary("z", .exp, t))
        #expect(RewriteRule.foldTransposeIntoContraction.rewrites(in: try g.build()).isEmpty)

        // An identity that is a graph output keeps its name, so it stays.
        g = GraphBuilder(name: "output-identity")
        g.output(try g.unary("copy", .identity, try g.input("x", [2, 3], .f32)))
        #expect(RewriteRule.removeIdentity.rewrites(in: try g.build()).isEmpty)

        // Widths that agree are the stacking rule's, not the concatenation's.
        #expect(RewriteRule.concatenateParallelContractions.rewrites(in: try RewriteFixtures.projections(bias: false)).isEmpty)
        // A scale on an einsum whose operands are no smaller than its result has nowhere to go.
        g = GraphBuilder(name: "outer-product")
        let outer = try g.einsum("outer", "i,j->ij", try g.input("a", [4], .f32), try g.input("b", [4], .f32))
        g.output(try g.add("scaled", .scale(factor: 2), [outer]))
        #expect(RewriteRule.moveScaleIntoContraction.rewrites(in: try g.build()).count == 2)
        g = GraphBuilder(name: "inner-product")
        let inner = try g.einsum("inner", "ij,ij->ij", try g.input("a", [4, 4], .f32), try g.input("b", [4, 4], .f32))
        g.output(try g.add("scaled", .scale(factor: 2), [inner]))
        #expect(RewriteRule.moveScaleIntoContraction.rewrites(in: try g.build()).isEmpty)
    }

    @Test("batching three towers stacks their weights and turns the joining concat into a transpose and a reshape")
    func batchedTowers() throws {
        let graph = try RewriteFixtures.towers(count: 3)
        let rewrite = try #require(RewriteRule.batchParallelBranches.rewrites(in: graph).first)
        #expect(rewrite.anchors == ["t0.up", "t1.up", "t2.up", "t0.bias", "t1.bias", "t2.bias", "t0.relu", "t1.relu", "t2.relu",
                                    "t0.down", "t1.down", "t2.down"])
        let batched = try graph.applying([rewrite])
        #expect(batched.operations.map(\.name) == ["t0.up+t1.up+t2.up", "t0.bias+t1.bias+t2.bias", "t0.relu+t1.relu+t2.relu",
                                                   "t0.down+t1.down+t2.down", "join.interleaved", "join", "head", "loss"])
        #expect(batched.parameters.map { "\(batched[$0].name) \(batched[$0].type.shape)" }
                == ["head.w [24, 8]", "t0.w1+t1.w1+t2.w1 [3, 8, 16]", "t0.b1+t1.b1+t2.b1 [3, 1, 16]", "t0.w2+t1.w2+t2.w2 [3, 16, 8]"])
    }

    @Test("an alternative that no match offers is refused, naming those offered; a rule that matches nothing rewrites nothing")
    func unofferedAlternativeRefused() throws {
        let chain = try RewriteFixtures.lowRankChain()
        let rule = try #require(RewriteCatalog.rule(named: "reassociate-contraction"))
        let offered = Set(rule.rewrites(in: chain).map(\.choice)).sorted()
        #expect(offered == [0, 1])
        do {
            _ = try chain.rewritingEverywhere(with: [(rule, 7)])
            Issue.record("alternative 7 must be refused")
        } catch {
            #expect(error.path.description == "--rule")
            #expect(error.message == "reassociate-contraction has no alternative 7 in this graph; its matches offer 0, 1")
        }
        let llama = try BuiltModels.graph("llama-tiny")
        #expect(rule.rewrites(in: llama).isEmpty)
        #expect(try llama.rewritingEverywhere(with: [(rule, 7)]).rewrites.isEmpty)
    }

    @Test("rewrites keep repeated blocks identical: every block of a Llama keeps one structure key")
    func blocksStayIdentical() throws {
        let graph = try BuiltModels.graph("llama-tiny")
        let (merged, applied) = try graph.rewritingEverywhere(with: [(.mergeParallelContractions, nil)])
        #expect(applied.count == 4)
        let blocks = GraphAnalysis(merged).layers.filter { $0.name.hasPrefix("layer") }
        #expect(blocks.count == GraphAnalysis(graph).layers.filter { $0.name.hasPrefix("layer") }.count)
        #expect(Set(blocks.map(\.structureKey)).count == 1)
    }
}
