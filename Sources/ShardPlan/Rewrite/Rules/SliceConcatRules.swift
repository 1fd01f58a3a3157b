/// Slices of concatenations and concatenations of slices that give back what went in (TASO's
/// split/concat elimination).
extension RewriteRule {
    static let cancelSliceOfConcat = RewriteRule(
        "cancel-slice-of-concat", family: .layout,
        summary: "A slice of a concat that takes exactly one of its operands is that operand",
        source: "TASO: split of concat elimination",
        pattern: .tree(OpPattern("slice", .slice, [.operation(OpPattern("concat", .concat, exclusive: false))])),
        conditions: [
            SideCondition("the slice cuts the concat's axis at the bounds of one operand") { match, context in
                slicedOperand(match, context) != nil
            },
            SideCondition("the slice is not a graph output") { match, context in
                !context.graph.outputs.contains(context.operation(match[operation: "slice"]).result)
            },
        ],
        replacement: { match, _, builder throws(RewriteRefusal) in
            let slice = match[operation: "slice"], concat = match[operation: "concat"]
            guard let operand = slicedOperand(match, builder.context) else { return }
            builder.remove(slice)
            if builder.consumers[builder.graph.operations[concat].result.rawValue] == [slice]
                && !builder.graph.outputs.contains(builder.graph.operations[concat].result) {
                builder.remove(concat)
            }
            builder.rename(builder.graph.operations[slice].result, to: builder.value(operand))
        })

    /// The operand of the matched concat that the matched slice takes whole.
    private static func slicedOperand(_ match: RewriteMatch, _ context: RewriteContext) -> ValueID? {
        let concat = context.operation(match[operation: "concat"])
        guard case .slice(let axis, let start, let end, nil) = context.operation(match[operation: "slice"]).op,
              case .concat(let concatAxis) = concat.op, axis == concatAxis else { return nil }
        var offset = 0
        for input in concat.inputs {
            let width = context.type(input).shape[axis]
            if offset == start && offset + width == end { return input }
            offset += width
        }
        return nil
    }

    static let cancelConcatOfSlices = RewriteRule(
        "cancel-concat-of-slices", family: .layout,
        summary: "A concat of consecutive slices of one tensor along the concat's axis, covering it, is that tensor",
        source: "TASO: concat of split elimination",
        pattern: .custom { context in
            var matches: [RewriteMatch] = []
            for (index, operation) in context.graph.operations.enumerated() {
                guard case .concat(let axis) = operation.op, operation.inputs.count >= 2 else { continue }
                var source: ValueID?
                var offset = 0
                var slices: [Int] = []
                for input in operation.inputs {
                    guard let producer = context.graph[input].operationIndex,
                          case .slice(let sliceAxis, let start, let end, nil) = context.operation(producer).op,
                          sliceAxis == axis, start == offset, source == nil || source == context.operation(producer).inputs[0]
                    else { offset = -1; break }
                    source = context.operation(producer).inputs[0]
                    offset = end
                    slices.append(producer)
                }
                guard let source, offset == context.type(source).shape[axis],
                      !context.graph.outputs.contains(operation.result) else { continue }
                matches.append(RewriteMatch(operations: ["concat": index], values: ["input": source], anchors: [index] + slices))
            }
            return matches
        },
        replacement: { match, _, builder throws(RewriteRefusal) in
            let concat = match[operation: "concat"]
            builder.remove(concat)
            for slice in Set(match.anchors.dropFirst()) where builder.consumers[builder.graph.operations[slice].result.rawValue] == [concat]
                && !builder.graph.outputs.contains(builder.graph.operations[slice].result) {
                builder.remove(slice)
            }
            builder.rename(builder.graph.operations[concat].result, to: builder.value(match[value: "input"]))
        })
}
