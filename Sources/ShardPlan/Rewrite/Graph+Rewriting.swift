extension Graph {
    /// The graph with `rewrites` applied in order, each to the graph the ones before it left.
    ///
    /// Consecutive rewrites that touch nothing an earlier one of the run defines (the same rule in every block
    /// of a model) are applied in one rebuild; the result is the same as one at a time. Every rebuild checks
    /// the graph as `GraphBuilder` does, so a rewrite that would break a shape rule is an `InputError`.
    public func applying(_ rewrites: [GraphRewrite]) throws(InputError) -> Graph {
        var graph = self
        var batch: [GraphRewrite] = []
        var defined = Set<String>()
        for rewrite in rewrites {
            if !defined.isDisjoint(with: rewrite.referencedNames) {
                graph = try graph.applyingIndependent(batch)
                batch = []
                defined = []
            }
            batch.append(rewrite)
            defined.formUnion(rewrite.definedNames)
            defined.formUnion(rewrite.removedOperations)
        }
        return batch.isEmpty ? graph : try graph.applyingIndependent(batch)
    }

    /// Applies rewrites made against this graph that do not touch each other's ops, in one rebuild.
    private func applyingIndependent(_ rewrites: [GraphRewrite]) throws(InputError) -> Graph {
        var removed = Set<String>()
        var blocks: [String: [RewriteOperation]] = [:]
        var renamed: [String: String] = [:]
        var removedParameters = Set<String>()
        var addedParameters: [DerivedParameter] = []
        for rewrite in rewrites {
            removed.formUnion(rewrite.removedOperations)
            if let point = rewrite.insertionPoint { blocks[point, default: []] += rewrite.addedOperations }
            renamed.merge(rewrite.renamedValues) { first, _ in first }
            removedParameters.formUnion(rewrite.removedParameters)
            addedParameters += rewrite.addedParameters
        }
        var builder = GraphBuilder(name: name)
        for id in inputs {
            guard case .input(let dimension) = self[id].origin else { continue }
            try builder.input(self[id].name, self[id].type.shape, self[id].type.dtype, batchDimension: dimension)
        }
        for id in parameters where !removedParameters.contains(self[id].name) {
            try builder.parameter(self[id].name, self[id].type.shape, self[id].type.dtype, trainable: !self[id].isFrozen)
        }
        for parameter in addedParameters {
            try builder.parameter(parameter.name, parameter.type.shape, parameter.type.dtype,
                                  trainable: !parameter.isFrozen(derivedFrom: self))
        }
        func resolve(_ name: String, at path: JSONPath) throws(InputError) -> ValueID {
            var current = name
            var steps = 0
            while let next = renamed[current], steps <= renamed.count {
                current = next
                steps += 1
            }
            guard let id = builder.value(named: current) else {
                throw InputError(.undefinedName, at: path, "a rewrite leaves \"\(current)\" undefined where it is read")
            }
            return id
        }
        for operation in operations {
            for added in blocks[operation.name] ?? [] {
                let path = builder.operationPath(added.name)
                var inputs: [ValueID] = []
                for input in added.inputs { inputs.append(try resolve(input, at: path)) }
                try builder.add(added.name, added.op, inputs, layer: added.layer)
            }
            if removed.contains(operation.name) { continue }
            let path = builder.operationPath(operation.name)
            var inputs: [ValueID] = []
            for input in operation.inputs { inputs.append(try resolve(self[input].name, at: path)) }
            try builder.add(operation.name, operation.op, inputs, layer: operation.layer)
        }
        for output in outputs { builder.output(try resolve(self[output].name, at: .root.appending("outputs"))) }
        return try builder.build()
    }
}

extension Graph {
    /// Each rule of `rules` in turn applied wherever it matches the graph the rules before it left (one pass
    /// per rule; where two of its matches overlap, the earlier wins), and the rewrites applied, in order. A
    /// rule given with a choice applies only that alternative; a choice that none of the rule's matches offers
    /// is refused (a rule that matches nothing rewrites nothing).
    public func rewritingEverywhere(with rules: [(rule: RewriteRule, choice: Int?)]) throws(InputError) -> (graph: Graph, rewrites: [GraphRewrite]) {
        var graph = self
        var applied: [GraphRewrite] = []
        for (rule, choice) in rules {
            let candidates = rule.rewrites(in: graph)
            // An alternative no match offers is a mistake, not "nothing to rewrite".
            if let choice, !candidates.isEmpty, !candidates.contains(where: { $0.choice == choice }) {
                let offered = Set(candidates.map(\.choice)).sorted().map(String.init).joined(separator: ", ")
                throw InputError(.invalidValue, at: JSONPath([.key("--rule")]),
                                 "\(rule.name) has no alternative \(choice) in this graph; its matches offer \(offered)")
            }
            let chosen = GraphRewrite.compatible(candidates.filter { choice == nil || $0.choice == choice })
            guard !chosen.isEmpty else { continue }
            graph = try graph.applying(chosen)
            applied += chosen
        }
        return (graph, applied)
    }
}

extension GraphRewrite {
    /// Names this rewrite takes over: what it matched, removes, renames away or defines.
    var claimedNames: Set<String> {
        Set(anchors + removedOperations + removedParameters + renamedValues.keys).union(definedNames)
    }

    /// The rewrites of `candidates` (all of one graph) that can be applied together, the earlier first.
    static func compatible(_ candidates: [GraphRewrite]) -> [GraphRewrite] {
        var chosen: [GraphRewrite] = []
        var claimed = Set<String>(), referenced = Set<String>()
        for candidate in candidates where candidate.claimedNames.isDisjoint(with: claimed.union(referenced))
            && claimed.isDisjoint(with: candidate.referencedNames) {
            chosen.append(candidate)
            claimed.formUnion(candidate.claimedNames)
            referenced.formUnion(candidate.referencedNames)
        }
        return chosen
    }
}
