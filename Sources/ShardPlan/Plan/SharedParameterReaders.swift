/// The trained parameters that several clustered layers read (a tied embedding table: the lookup in the first layer,
/// the output layer in the last), so that the stage DP's oracle can price what a stage holding some of those layers
/// pays once an iteration to all-reduce their gradients with the ranks holding the others, as
/// `PlanEvaluator.sharedParameterSynchronization` prices a whole plan's.
struct SharedParameterReaders: Sendable {
    /// A parameter's first reading op in one clustered layer, and which of its operands the parameter is.
    struct Reader: Sendable {
        var layer: Int
        var operation: Int
        var operand: Int
    }

    /// A parameter that several clustered layers read, and its first reader in each of them, in layer order.
    struct Parameter: Sendable {
        var value: ValueID
        var readers: [Reader]
    }

    /// What a rank holding some of a parameter's readers exchanges: its first reader there (whose layout says which
    /// shard of the gradient each device holds) and the ranks that take part.
    struct Share {
        var parameter: ValueID
        var reader: Reader
        var ranks: Int
    }

    let parameters: [Parameter]

    /// The trained (not frozen) parameters of `graph` read in more than one of `clustering`'s layers.
    init(graph: Graph, clustering: LayerClustering) {
        var readers: [ValueID: [Reader]] = [:]
        var order: [ValueID] = []
        for (index, layer) in clustering.layers.enumerated() {
            for op in layer.operations {
                for (operand, input) in graph.operations[op].inputs.enumerated()
                where graph[input].isParameter && !graph[input].isFrozen && readers[input]?.last?.layer != index {
                    if readers[input] == nil { order.append(input) }
                    readers[input, default: []].append(Reader(layer: index, operation: op, operand: operand))
                }
            }
        }
        parameters = order.compactMap { value in readers[value]!.count > 1 ? Parameter(value: value, readers: readers[value]!) : nil }
    }

    /// The parameters a rank holding clustered layers `layers` (a stage's range, or an interleaved rank's chunks)
    /// reads and layers outside them read too. The DP does not know how the other layers are cut into ranks, so each
    /// outside layer that reads a parameter counts as a rank of its own: exact for a table two layers read (a tied
    /// embedding, 2 ranks), an upper bound on the ranks, and so on the bytes, where more read it.
    func shared(by layers: [Range<Int>]) -> [Share] {
        parameters.compactMap { parameter in
            let inside = parameter.readers.filter { reader in layers.contains { $0.contains(reader.layer) } }
            guard let first = inside.first, inside.count < parameter.readers.count else { return nil }
            return Share(parameter: parameter.value, reader: first, ranks: 1 + parameter.readers.count - inside.count)
        }
    }
}
