import Testing
@testable import ShardPlan

/// One small graph per rule on which the rule applies (the JAX check runs the same shapes with random
/// sizes, Examples/jax/tests/rewrite_instances.py).
struct RewriteFixture: CustomTestStringConvertible, Sendable {
    var rule: String
    var choice: Int?
    var graph: Graph
    var testDescription: String { "\(rule)\(choice.map { ":\($0)" } ?? "") on \(graph.name)" }
}

enum RewriteFixtures {
    static func all() throws -> [RewriteFixture] {
        [
            RewriteFixture(rule: "merge-parallel-contractions", graph: try projections(bias: true)),
            RewriteFixture(rule: "merge-parallel-contractions", graph: try projections(bias: false)),
            RewriteFixture(rule: "concatenate-parallel-contractions", graph: try groupedQueryProjections()),
            RewriteFixture(rule: "split-contraction", graph: try BuiltModels.graph("gpt-tiny")),
            RewriteFixture(rule: "reassociate-contraction", choice: 0, graph: try lowRankChain()),
            RewriteFixture(rule: "reassociate-contraction", choice: 1, graph: try lowRankChain()),
            RewriteFixture(rule: "batch-parallel-branches", graph: try towers(count: 3)),
            RewriteFixture(rule: "compose-transposes", graph: try transposes(cancel: false)),
            RewriteFixture(rule: "compose-transposes", graph: try transposes(cancel: true)),
            RewriteFixture(rule: "compose-reshapes", graph: try reshapes(cancel: false)),
            RewriteFixture(rule: "compose-reshapes", graph: try reshapes(cancel: true)),
            RewriteFixture(rule: "fold-transpose-into-contraction", graph: try transposeIntoContraction()),
            RewriteFixture(rule: "fold-transpose-of-contraction", graph: try transposeOfContraction()),
            RewriteFixture(rule: "sink-transpose", graph: try elementwiseOfLayouts(.transpose(permutation: [2, 0, 1]))),
            RewriteFixture(rule: "hoist-transpose", graph: try layoutOfElementwise(.transpose(permutation: [1, 2, 0]))),
            RewriteFixture(rule: "sink-reshape", graph: try elementwiseOfLayouts(.reshape(shape: [12, 5]))),
            RewriteFixture(rule: "hoist-reshape", graph: try layoutOfElementwise(.reshape(shape: [3, 20]))),
            RewriteFixture(rule: "cancel-slice-of-concat", graph: try sliceOfConcat()),
            RewriteFixture(rule: "cancel-concat-of-slices", graph: try concatOfSlices()),
            RewriteFixture(rule: "merge-shared-id-embeddings", graph: try sharedIdEmbeddings()),
            RewriteFixture(rule: "split-embedding-by-hidden", graph: try slicedEmbedding()),
            RewriteFixture(rule: "merge-embedding-tables", graph: try twoTables()),
            RewriteFixture(rule: "remove-identity", graph: try identities()),
            RewriteFixture(rule: "merge-scales", graph: try scales()),
            RewriteFixture(rule: "move-scale-into-contraction", choice: 0, graph: try scaledScores()),
            RewriteFixture(rule: "move-scale-into-contraction", choice: 1, graph: try scaledScores()),
            RewriteFixture(rule: "hoist-scale-out-of-contraction", graph: try scaledOperand()),
        ]
    }

    /// Q, K and V projections of one input, head-aligned, each followed by tanh.
    static func projections(bias: Bool) throws -> Graph {
        var g = GraphBuilder(name: bias ? "qkv-bias" : "qkv")
        let x = try g.input("x", [4, 6, 8], .bf16)
        var outputs: [ValueID] = []
        for part in ["q", "k", "v"] {
            var y = try g.einsum(part, "bsd,dhk->bshk", x, try g.parameter("\(part).w", [8, 2, 4]))
            if bias { y = try g.binary("\(part).bias", .add, y, try g.parameter("\(part).b", [2, 4])) }
            outputs.append(try g.unary("\(part).act", .tanh, y))
        }
        let scores = try g.einsum("scores", "bshk,bthk->bhst", outputs[0], outputs[1])
        let context = try g.einsum("context", "bhst,bthk->bshk", try g.add("probs", .softmax(axis: 3), [scores]), outputs[2])
        g.output(try g.add("out", .reduce(.sum, axes: [0, 1, 2, 3], keepDimensions: false), [context]))
        return try g.build()
    }

    static func groupedQueryProjections() throws -> Graph {
        var g = GraphBuilder(name: "gqa")
        let x = try g.input("x", [4, 8], .bf16)
        for (part, heads) in [("q", 6), ("k", 2), ("v", 2)] {
            let y = try g.einsum(part, "bd,dhk->bhk", x, try g.parameter("\(part).w", [8, heads, 4]))
            g.output(try g.binary("\(part).bias", .add, y, try g.parameter("\(part).b", [heads, 4])))
        }
        return try g.build()
    }

    static func lowRankChain() throws -> Graph {
        var g = GraphBuilder(name: "lora")
        let h = try g.einsum("down", "bd,dr->br", try g.input("x", [16, 8], .bf16), try g.parameter("a", [8, 2]))
        g.output(try g.einsum("up", "br,rf->bf", h, try g.parameter("b", [2, 8])))
        return try g.build()
    }

    /// `count` towers (linear, bias, relu, linear) on one input, joined by a concat and a final linear.
    static func towers(count: Int, batch: Int = 4, width: Int = 8, hidden: Int = 16, dtype: DType = .bf16) throws -> Graph {
        var g = GraphBuilder(name: "towers")
        let x = try g.input("x", [batch, width], dtype)
        var outputs: [ValueID] = []
        for tower in 0..<count {
            var h = try g.einsum("t\(tower).up", "bd,df->bf", x, try g.parameter("t\(tower).w1", [width, hidden], dtype))
            h = try g.binary("t\(tower).bias", .add, h, try g.parameter("t\(tower).b1", [hidden], dtype))
            h = try g.unary("t\(tower).relu", .relu, h)
            outputs.append(try g.einsum("t\(tower).down", "bf,fd->bd", h, try g.parameter("t\(tower).w2", [hidden, width], dtype)))
        }
        let joined = try g.add("join", .concat(axis: 1), outputs)
        let head = try g.einsum("head", "bc,cd->bd", joined, try g.parameter("head.w", [count * width, width], dtype))
        g.output(try g.add("loss", .reduce(.mean, axes: [0, 1], keepDimensions: false), [head]))
        return try g.build()
    }

    static func transposes(cancel: Bool) throws -> Graph {
        var g = GraphBuilder(name: "transposes")
        let first = try g.add("t1", .transpose(permutation: [1, 2, 0]), [try g.input("x", [2, 3, 4], .f32)])
        let second = try g.add("t2", .transpose(permutation: cancel ? [2, 0, 1] : [1, 0, 2]), [first])
        g.output(try g.unary("out", .tanh, second))
        return try g.build()
    }

    static func reshapes(cancel: Bool) throws -> Graph {
        var g = GraphBuilder(name: "reshapes")
        let first = try g.reshape("r1", try g.input("x", [2, 3, 4], .f32), [6, 4])
        g.output(try g.unary("out", .exp, try g.reshape("r2", first, cancel ? [2, 3, 4] : [2, 12])))
        return try g.build()
    }

    static func transposeIntoContraction() throws -> Graph {
        var g = GraphBuilder(name: "fold-in")
        let t = try g.add("xt", .transpose(permutation: [1, 0]), [try g.input("x", [8, 4], .f32)])
        g.output(try g.einsum("y", "bd,df->bf", t, try g.parameter("w", [8, 6], .f32)))
        return try g.build()
    }

    static func transposeOfContraction() throws -> Graph {
        var g = GraphBuilder(name: "fold-out")
        let y = try g.einsum("y", "bd,df->bf", try g.input("x", [4, 8], .f32), try g.parameter("w", [8, 6], .f32))
        g.output(try g.add("yt", .transpose(permutation: [1, 0]), [y]))
        return try g.build()
    }

    /// `gelu(L(x) + L(y)) * 2` for a layout change L of `[3, 4, 5]` tensors.
    static func elementwiseOfLayouts(_ layout: Operator) throws -> Graph {
        var g = GraphBuilder(name: "sink")
        let x = try g.add("lx", layout, [try g.input("x", [3, 4, 5], .f32)])
        let y = try g.add("ly", layout, [try g.input("y", [3, 4, 5], .f32)])
        let two = try g.add("two", .constant(shape: [], dtype: .f32, value: 2), [])
        let act = try g.unary("act", .gelu, try g.binary("sum", .add, x, y))
        g.output(try g.binary("scaled", .mul, act, two))
        return try g.build()
    }

    /// `L(gelu(x + y))` for a layout change L of `[3, 4, 5]` tensors.
    static func layoutOfElementwise(_ layout: Operator) throws -> Graph {
        var g = GraphBuilder(name: "hoist")
        let sum = try g.binary("sum", .add, try g.input("x", [3, 4, 5], .f32), try g.input("y", [3, 4, 5], .f32))
        g.output(try g.add("layout", layout, [try g.unary("act", .gelu, sum)]))
        return try g.build()
    }

    static func sliceOfConcat() throws -> Graph {
        var g = GraphBuilder(name: "slice-concat")
        let joined = try g.add("joined", .concat(axis: 1), [try g.input("x", [2, 3], .f32), try g.input("y", [2, 5], .f32)])
        g.output(try g.unary("out", .exp, try g.add("back", .slice(axis: 1, start: 3, end: 8), [joined])))
        return try g.build()
    }

    static func concatOfSlices() throws -> Graph {
        var g = GraphBuilder(name: "concat-slices")
        let x = try g.input("x", [2, 8], .f32)
        let left = try g.add("left", .slice(axis: 1, start: 0, end: 3), [x])
        let right = try g.add("right", .slice(axis: 1, start: 3, end: 8), [x])
        g.output(try g.unary("whole", .sigmoid, try g.add("joined", .concat(axis: 1), [left, right])))
        return try g.build()
    }

    static func sharedIdEmbeddings() throws -> Graph {
        var g = GraphBuilder(name: "embeddings")
        let ids = try g.input("ids", [4, 6], .i32)
        let first = try g.add("e1", .embedding, [ids, try g.parameter("t1", [10, 4], .f32)])
        let second = try g.add("e2", .embedding, [ids, try g.parameter("t2", [10, 6], .f32)])
        g.output(try g.add("joined", .concat(axis: 2), [first, second]))
        return try g.build()
    }

    static func slicedEmbedding() throws -> Graph {
        var g = GraphBuilder(name: "embedding-slices")
        let e = try g.add("e", .embedding, [try g.input("ids", [4], .i32), try g.parameter("t", [10, 7], .f32)])
        let first = try g.add("first", .slice(axis: 1, start: 0, end: 3), [e])
        let second = try g.add("second", .slice(axis: 1, start: 3, end: 7), [e])
        g.output(try g.einsum("prod", "bi,bj->bij", first, second))
        return try g.build()
    }

    /// Word and token-type embeddings of one shape, summed (BERT's, untied).
    static func twoTables() throws -> Graph {
        var g = GraphBuilder(name: "tables")
        let words = try g.add("words", .embedding, [try g.input("tokens", [4, 6], .i32), try g.parameter("word.table", [20, 8], .f32)])
        let kinds = try g.add("kinds", .embedding, [try g.input("types", [4, 6], .i32), try g.parameter("type.table", [2, 8], .f32)])
        g.output(try g.binary("sum", .add, words, kinds))
        return try g.build()
    }

    static func identities() throws -> Graph {
        var g = GraphBuilder(name: "identities")
        let copy = try g.unary("copy", .identity, try g.input("x", [2, 3], .f32))
        let dropped = try g.dropout("drop", try g.unary("act", .tanh, copy), rate: 0)
        g.output(try g.unary("out", .exp, try g.add("one", .scale(factor: 1), [dropped])))
        return try g.build()
    }

    static func scales() throws -> Graph {
        var g = GraphBuilder(name: "scales")
        let half = try g.add("half", .scale(factor: 0.5), [try g.input("x", [2, 3], .f32)])
        g.output(try g.add("out", .scale(factor: 3), [half]))
        return try g.build()
    }

    static func scaledScores() throws -> Graph {
        var g = GraphBuilder(name: "scores")
        let q = try g.input("q", [2, 8, 2, 4], .bf16), k = try g.input("k", [2, 8, 2, 4], .bf16)
        let scores = try g.einsum("scores", "bshk,bthk->bhst", q, k)
        g.output(try g.add("probs", .softmax(axis: 3), [try g.add("scaled", .scale(factor: 0.5), [scores])]))
        return try g.build()
    }

    static func scaledOperand() throws -> Graph {
        var g = GraphBuilder(name: "scaled-operand")
        let x = try g.add("xs", .scale(factor: -1.5), [try g.input("x", [4, 8], .f32)])
        g.output(try g.einsum("y", "bd,df->bf", x, try g.parameter("w", [8, 6], .f32)))
        return try g.build()
    }
}
