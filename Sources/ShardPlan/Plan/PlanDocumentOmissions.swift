/// What a plan document leaves to the reader that `plan` always writes: the `options` member, without which the
/// plan is priced on the default training stack (a stage's `recompute` is written only where it differs from the
/// options', so the stages lose theirs too), and layouts left out of a stage's `shardings`, which are not read as
/// replicated: each op takes the strategy that gives every layout the stage does state, so the left-out parameters and
/// results get the layouts the rest of the stage implies. `score --plan` says so, so that a hand edit which deletes
/// entries to price something else is not priced as the unedited plan in silence.
public enum PlanDocumentOmissions {
    /// Values named in a note before the rest are counted.
    static let namedValues = 3

    /// One sentence for each omission in `document`, a plan document that `plan` was decoded from.
    public static func notes(in document: JSONValue, for plan: TrainingPlan) -> [String] {
        guard case .object(let top) = document else { return [] }
        var notes: [String] = []
        if top["options"] == nil || top["options"] == .null {
            notes.append("the plan has no \"options\" member: it is priced on the default training stack (Docs/plan-format.md, "
                         + "\"options\"), not the stack it was made with, and a stage that states no \"recompute\" reruns what the default does")
        }
        guard case .array(let stages)? = top["stages"], stages.count == plan.stages.count else { return notes }
        for (index, stage) in plan.stages.enumerated() {
            guard case .object(let member) = stages[index], case .object(let shardings)? = member["shardings"] else { continue }
            let missing = statedValues(of: stage, in: plan.graph).filter { shardings[$0] == nil || shardings[$0] == .null }
            guard !missing.isEmpty else { continue }
            let named = missing.prefix(namedValues).map { "\"\($0)\"" }.joined(separator: ", ")
                + (missing.count > namedValues ? " and \(missing.count - namedValues) more" : "")
            notes.append("stage \(index)'s shardings leave out \(missing.count) \(missing.count == 1 ? "value" : "values") (\(named)): "
                         + "each is priced in the layout the stage's other entries imply, not replicated; "
                         + "to price another layout, state it for the value and the ops that read it")
        }
        return notes
    }

    /// The values whose layouts `plan` writes in `stage`'s `shardings`, in the order it writes them: every value an op
    /// of the stage reads from outside it (parameters, the stage's inputs) and every op's result.
    static func statedValues(of stage: StageLayout, in graph: Graph) -> [String] {
        var seen = Set<ValueID>()
        var names: [String] = []
        for index in stage.operations {
            let operation = graph.operations[index]
            for input in operation.inputs where seen.insert(input).inserted { names.append(graph[input].name) }
            if seen.insert(operation.result).inserted { names.append(graph[operation.result].name) }
        }
        return names
    }
}
