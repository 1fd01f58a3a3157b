/// A small `shardplan.graph/1` document assembled from JSON fragments, for tests that break one part of
/// an otherwise valid graph. By default: input `x` bf16[8, 16], parameter `w` bf16[16, 32], output `y`.
struct GraphDocumentText {
    var format: String? = #""shardplan.graph/1""#
    var inputs = #"[{"name": "x", "shape": [8, 16], "dtype": "bf16"}]"#
    var parameters = #"[{"name": "w", "shape": [16, 32], "dtype": "bf16"}]"#
    var ops: [String]
    var outputs: String? = #"["y"]"#

    init(ops: [String]) { self.ops = ops }

    init(ops: String...) { self.ops = ops }

    /// The document with one member per line.
    var text: String {
        var members: [String] = []
        if let format { members.append(#""format": \#(format)"#) }
        members.append(#""name": "probe""#)
        members.append(#""inputs": \#(inputs)"#)
        members.append(#""parameters": \#(parameters)"#)
        members.append(#""ops": [\#n    \#(ops.joined(separator: ",\n    "))\#n  ]"#)
        if let outputs { members.append(#""outputs": \#(outputs)"#) }
        return "{\n  " + members.joined(separator: ",\n  ") + "\n}\n"
    }

    func with(_ change: (inout GraphDocumentText) -> Void) -> GraphDocumentText {
        var copy = self
        change(&copy)
        return copy
    }
}
