extension Cluster {
    /// The preset cluster an argument names: `NAME` (one node) or `NAME:K` (K nodes, K a positive integer).
    /// An unknown name or a bad K is an `InputError` that lists the presets.
    public static func preset(named argument: String) throws(InputError) -> Cluster {
        let parts = argument.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let preset = ClusterPreset.named(String(parts[0])) else {
            throw InputError(.invalidReference, at: .root,
                             "unknown cluster preset \"\(parts[0])\"; the presets are \(ClusterPreset.nameList) (NAME:K for K nodes)")
        }
        guard parts.count == 2 else { return try preset.cluster(nodes: 1, name: preset.name) }
        let countText = parts[1]
        // Digits past Int's range: a count, too large.
        if !countText.isEmpty, countText.allSatisfy({ $0.isASCII && $0.isNumber }), Int(countText) == nil {
            throw preset.countOutOfRange(String(countText))
        }
        guard !countText.isEmpty, countText.allSatisfy({ $0.isASCII && $0.isNumber }), let count = Int(countText), count >= 1 else {
            throw InputError(.invalidValue, at: .root,
                             "\"\(argument)\": the node count after ':' must be a positive integer, found \"\(countText)\" (presets: \(ClusterPreset.nameList))")
        }
        return try preset.cluster(nodes: count)
    }
}
