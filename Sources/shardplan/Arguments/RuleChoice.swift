import ArgumentParser
import ShardPlan

/// `rewrite --rule NAME[:ALTERNATIVE]`: a rule of the catalog, and which of its alternatives to apply (nil:
/// the rule's first). An unknown name or a malformed alternative is a usage error, as for every other option.
struct RuleChoice: ExpressibleByArgument {
    var rule: RewriteRule
    var choice: Int?
    /// The argument as given, for the JSON output's `rules`.
    var text: String

    init?(argument: String) {
        let parts = argument.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let rule = RewriteCatalog.rule(named: parts[0]) else { return nil }
        if parts.count == 2 {
            guard let choice = Int(parts[1]), choice >= 0 else { return nil }
            self.choice = choice
        }
        self.rule = rule
        self.text = argument
    }

    /// The rule names, which `--rule`'s error and shell completion list.
    static var allValueStrings: [String] { RewriteCatalog.rules.map(\.name) }
}
