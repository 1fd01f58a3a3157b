/// The trained parameters that several clustered layers read (a tied embedding table: the lookup in the first layer,
/// the output layer in the last), so that the stage DP's oracle can price what a stage holding some of those layers
/// pays once an iteration to all-reduce their gradients with the ranks holding the others, as
/// `PlanEvaluator.sharedParameterSynchronization` prices a whole plan's.
struct SharedParameterReaders: Sendable {
    /// What a rank holding some of a parameter's readers exchanges: its first reader there (whose layout says which
    /// shard of the gradient each device holds) and the ranks that take part.
    struct Share {
        var parameter: ValueID
        var reader: ParameterReaders.Reader
        var ranks: Int
    }

    /// The parameters and their first reader in each clustered layer (a reader's group is its layer's index).
    let parameters: [ParameterReaders]

    /// The trained (not frozen) parameters of `graph` read in more than one of `clustering`'s layers.
    init(graph: Graph, clustering: LayerClustering) {
        parameters = ParameterReaders.shared(in: graph, operations: clustering.layers.enumerated().lazy.flatMap { index, layer in
            layer.operations.lazy.map { (operation: $0, group: index) }
        })
    }

    /// The parameters a rank holding clustered layers `layers` (a stage's range, or an interleaved rank's chunks)
    /// reads and layers outside them read too. The DP does not know how the other layers are cut into ranks, so each
    /// outside layer that reads a parameter counts as a rank of its own: exact for a table two layers read (a tied
    /// embedding, 2 ranks), an upper bound on the ranks, and so on the bytes, where more read it.
    func shared(by layers: [Range<Int>]) -> [Share] {
        parameters.compactMap { parameter in
            let inside = parameter.readers.filter { reader in layers.contains { $0.contains(reader.group) } }
            guard let first = inside.first, inside.count < parameter.readers.count else { return nil }
            return Share(parameter: parameter.value, reader: first, ranks: 1 + parameter.readers.count - inside.count)
        }
    }
}
