/// One choice the joint search makes: a rule (and alternative) at the same ops of every layer with the same
/// structure, applied to all of them at once, so the rewritten graph keeps its repeated blocks identical and
/// the planner keeps solving one block for all (`Layer.structureKey`).
struct RewriteSiteClass: Sendable {
    /// Rule, alternative, layer structure and the anchors' offsets in the layer.
    var key: String
    /// One rewrite per layer of that structure, compatible with each other, in op order.
    var rewrites: [GraphRewrite]

    /// The site classes of `rules` in `graph`. A rewrite whose ops (matched or removed) lie in one layer of
    /// `layers` joins the class of its rule at the same place of the layers of that structure; one that
    /// spans layers (branches the analysis took for repeated blocks) is a class of its own. When `stage` is
    /// given, a rewrite takes part only when its ops lie in one stage; `allowed` may leave rewrites out.
    static func classes(in graph: Graph, rules: [RewriteRule], layers: [Layer], stage: ((Int) -> Int)? = nil,
                        allowed: (GraphRewrite) -> Bool = { _ in true }) -> [RewriteSiteClass] {
        let context = RewriteContext(graph)
        var layerOf = Array(repeating: 0, count: graph.operations.count)
        for (index, layer) in layers.enumerated() { for op in layer.operations { layerOf[op] = index } }
        var groups: [String: [GraphRewrite]] = [:]
        var order: [String] = []
        for rule in rules {
            for rewrite in rule.rewrites(in: context) where allowed(rewrite) {
                let ops = (rewrite.anchors + rewrite.removedOperations).compactMap { graph.value(named: $0).flatMap { graph[$0].operationIndex } }
                guard let first = ops.first, stage.map({ stage in ops.allSatisfy { stage($0) == stage(first) } }) ?? true else { continue }
                let anchors = rewrite.anchors.compactMap { graph.value(named: $0).flatMap { graph[$0].operationIndex } }
                let key: String
                if ops.allSatisfy({ layerOf[$0] == layerOf[first] }) {
                    let layer = layers[layerOf[first]]
                    key = "\(rule.name)|\(rewrite.choice)|\(layer.structureKey)|" + anchors.map { String($0 - layer.operations.lowerBound) }.joined(separator: ",")
                } else {
                    key = "\(rule.name)|\(rewrite.choice)|at|" + anchors.map(String.init).joined(separator: ",")
                }
                if groups[key] == nil { order.append(key) }
                groups[key, default: []].append(rewrite)
            }
        }
        return order.map { RewriteSiteClass(key: $0, rewrites: GraphRewrite.compatible(groups[$0]!)) }
    }
}
