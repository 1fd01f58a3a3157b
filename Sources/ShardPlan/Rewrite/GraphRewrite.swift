/// One substitution applied at one place of a graph: the rule, the ops it matched, and the change itself as
/// a graph diff written by names (ops removed, new ops in their place, parameters replaced by new ones
/// computed from them, values renamed).
///
/// Written by names, a diff reads the same in a plan document and can be replayed on the graph it was made
/// for by a tool that does not know the rule: the JAX runner rebuilds the rewritten graph and the new
/// parameters from the old ones with it. ShardPlan itself re-derives every diff from its rule
/// (`RewriteRule.rewrite(anchoredAt:choice:in:)`), so a document cannot smuggle in an unverified change.
public struct GraphRewrite: Sendable, Equatable {
    /// The rule's name (`RewriteCatalog`).
    public var rule: String
    /// The ops the rule matched, by name, in the order of its pattern (the first is where matching starts).
    public var anchors: [String]
    /// Which of the rule's alternatives at this match (0 for rules with one).
    public var choice: Int
    /// Ops no longer computed, by name.
    public var removedOperations: [String]
    /// The removed op whose place the new ops take (nil when no op is added).
    public var insertionPoint: String?
    /// New ops in order. An op named like a removed op defines that value anew, with the same type, so its
    /// readers are unchanged.
    public var addedOperations: [RewriteOperation]
    /// Parameters no longer read, by name.
    public var removedParameters: [String]
    /// New parameters, appended after the graph's own, each computed from the parameters before it.
    public var addedParameters: [DerivedParameter]
    /// Values no longer computed whose readers now read another value: old name to new name.
    public var renamedValues: [String: String]

    public init(rule: String, anchors: [String], choice: Int = 0, removedOperations: [String], insertionPoint: String?,
                addedOperations: [RewriteOperation], removedParameters: [String] = [], addedParameters: [DerivedParameter] = [],
                renamedValues: [String: String] = [:]) {
        self.rule = rule
        self.anchors = anchors
        self.choice = choice
        self.removedOperations = removedOperations
        self.insertionPoint = insertionPoint
        self.addedOperations = addedOperations
        self.removedParameters = removedParameters
        self.addedParameters = addedParameters
        self.renamedValues = renamedValues
    }

    /// Every name this rewrite reads or defines anew: a later rewrite touching one of them depends on it.
    var definedNames: Set<String> {
        Set(addedOperations.map(\.name) + addedParameters.map(\.name))
    }

    /// Every name of the graph this rewrite reads, removes or renames.
    var referencedNames: Set<String> {
        var names = Set(anchors + removedOperations + removedParameters + renamedValues.keys + renamedValues.values)
        for operation in addedOperations { names.formUnion(operation.inputs) }
        for parameter in addedParameters { for operation in parameter.derivation { names.formUnion(operation.inputs) } }
        return names
    }
}

/// An op a rewrite adds, by name: what it computes and the names of the values it reads.
public struct RewriteOperation: Sendable, Equatable {
    public var name: String
    public var op: Operator
    public var inputs: [String]
    /// The `layer` hint (that of the op whose place it takes).
    public var layer: String?
    /// An op of the rewritten graph whose attributes ShardPlan does not read (an exported `epsilon`, a
    /// constant's `values`) this op keeps: it computes the same function on other shapes.
    public var attributesFrom: String?

    public init(name: String, op: Operator, inputs: [String], layer: String? = nil, attributesFrom: String? = nil) {
        self.name = name
        self.op = op
        self.inputs = inputs
        self.layer = layer
        self.attributesFrom = attributesFrom
    }
}

/// A parameter a rewrite introduces in place of others (a merged QKV weight in place of three), and how to
/// compute it from them, so a plan of the rewritten graph can run with the original model's weights.
public struct DerivedParameter: Sendable, Equatable {
    public var name: String
    public var type: TensorType
    /// Ops over parameters (by name) that compute it, in order; the last is named `name`.
    public var derivation: [RewriteOperation]

    public init(name: String, type: TensorType, derivation: [RewriteOperation]) {
        self.name = name
        self.type = type
        self.derivation = derivation
    }

    /// The parameters of `graph` the derivation reads.
    func sources(in graph: Graph) -> [ValueID] {
        derivation.flatMap(\.inputs).compactMap { graph.value(named: $0) }.filter { graph[$0].isParameter }
    }

    /// Whether the derived parameter is frozen: every parameter of `graph` it is computed from is (the rules
    /// refuse to merge frozen and trainable ones, `ParameterDerivation.finish`; a replayed rewrite that does is
    /// trainable, as one trainable source makes it).
    func isFrozen(derivedFrom graph: Graph) -> Bool {
        let sources = sources(in: graph)
        return !sources.isEmpty && sources.allSatisfy { graph[$0].isFrozen }
    }
}
