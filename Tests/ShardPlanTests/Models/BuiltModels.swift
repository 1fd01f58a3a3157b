@testable import ShardPlan

/// Every catalog model's graph, built once for all the tests that read them.
enum BuiltModels {
    private static let graphs: [String: Result<Graph, InputError>] = Dictionary(
        uniqueKeysWithValues: ModelCatalog.all.map { entry in
            (entry.id, Result { () throws(InputError) -> Graph in try entry.build() })
        })

    /// The graph of catalog model `id`; throws its build error, or an error if the catalog has no `id`.
    static func graph(_ id: String) throws -> Graph {
        guard let result = graphs[id] else { throw InputError(.invalidReference, at: .root, "no catalog model \(id)") }
        return try result.get()
    }
}
