import Testing
@testable import ShardPlan

/// Names a user controls (a graph's name, the `--cluster` argument, a plan file's axis names) reach the emitted
/// settings only in `#` comment lines, escaped by `CommentText`, so that no name can end its comment: the shell
/// commands (Megatron-LM, NeMo) run only ShardPlan's own words and the TOML (torchtitan) holds only its own keys.
@Suite("Emitted settings keep user-provided names inside their comments")
struct EmittedTextSafetyTests {
    /// A name a user could give, shown escaped in test reports (the raw one would clear the terminal).
    struct HostileName: CustomTestStringConvertible, Sendable {
        var text: String
        var testDescription: String { VisibleText.escape(text) }
    }

    /// Names that try to end the comment and run a command or set a key: line breaks of every kind, quotes,
    /// backslashes, command substitutions, NUL, terminal escapes, DEL, C1 controls, bidirectional overrides.
    static let hostileNames = [
        "evil\ntouch /tmp/w/PWNED #",
        "evil\r\ntouch /tmp/w/PWNED\r\n[parallelism]\rtensor_parallel_degree = 64",
        "\"$(touch /tmp/w/PWNED)\" `touch /tmp/w/PWNED` 'quoted' \\",
        "nul\u{0}byte\u{1B}[2J\u{7F}\u{85}\u{0B}\u{0C}\ttab\n\\\ntouch /tmp/w/PWNED",
        "line\u{2028}separator\u{2029}paragraph\u{202E}override\u{2066}isolate\u{FEFF}bom\ntouch /tmp/w/PWNED",
    ].map(HostileName.init)

    /// The lines as the shell and TOML see them: split at line feeds only (a Swift `Character` joins "\r\n").
    static func lines(_ text: String) -> [String] {
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String(String.UnicodeScalarView($0)) }
    }

    /// Whether a comment line holds nothing that ends a line or hides text (what `CommentText` escapes).
    static func isCleanComment(_ line: String) -> Bool {
        line.hasPrefix("# ") && !line.unicodeScalars.contains { scalar in
            [.control, .format, .lineSeparator, .paragraphSeparator].contains(scalar.properties.generalCategory)
        }
    }

    /// A shell line of ShardPlan's own making: words of letters, digits and `-_.=/,`, single-quoted Python
    /// strings and a trailing line continuation. Nothing the shell would expand, substitute, redirect or chain.
    static func isPlainShellLine(_ line: String) -> Bool {
        var body = Substring(line)
        if body.hasSuffix(" \\") { body = body.dropLast(2) }
        let literal = body.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || " -_.=/,'".contains($0) }
        return literal && body.count { $0 == "'" } % 2 == 0
    }

    static func export(graphName: String, clusterName: String, _ framework: TrainingFramework) throws -> FrameworkExport {
        var graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        graph.name = graphName
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: clusterName,
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2, sequenceParallel: true))
        return try FrameworkExport(plan: plan, prediction: PlanEvaluator(cluster: cluster).evaluate(plan), framework: framework)
    }

    @Test("comment text: control and format characters and line separators become escapes; quotes, $() and backticks stay text")
    func escapes() {
        #expect(VisibleText.escape("evil\ntouch /tmp/w/PWNED #") == "evil\\ntouch /tmp/w/PWNED #")
        #expect(VisibleText.escape("a\r\nb\tc\u{0}d\u{1B}e\u{7F}f\u{85}g\u{2028}h\u{202E}i") == "a\\r\\nb\\tc\\u{0}d\\u{1B}e\\u{7F}f\\u{85}g\\u{2028}h\\u{202E}i")
        #expect(VisibleText.escape("\"$(x)\" `y` 'z' \\ é 日本 🙂") == "\"$(x)\" `y` 'z' \\ é 日本 🙂")
        #expect(CommentText.line("dgx-a100-80g:4") == "# dgx-a100-80g:4")
        for name in Self.hostileNames.map(\.text) { #expect(Self.isCleanComment(CommentText.line(name)), "\(CommentText.line(name))") }
    }

    @Test("Megatron-LM and NeMo: the hostile name stays on comment lines, and every other line is ShardPlan's plain command",
          arguments: [TrainingFramework.megatron, .nemo], hostileNames)
    func shell(framework: TrainingFramework, hostile: HostileName) throws {
        let name = hostile.text
        let export = try Self.export(graphName: name, clusterName: name, framework)
        let lines = Self.lines(export.text)
        let comments = lines.prefix { $0.hasPrefix("#") }
        #expect(comments.first?.hasPrefix("# ShardPlan: \(framework.displayName) settings for ") == true)
        #expect(comments.allSatisfy(Self.isCleanComment), "\(comments)")
        let command = lines.dropFirst(comments.count)
        // Megatron-LM's tensor parallelism runs with one CUDA work queue, set for torchrun alone.
        #expect(command.first?.hasPrefix(framework == .megatron ? "CUDA_DEVICE_MAX_CONNECTIONS=1 torchrun " : "nemo llm pretrain ") == true)
        #expect(command.dropLast().allSatisfy { Self.isPlainShellLine($0) && !$0.contains("PWNED") }, "\(command)")
        #expect(command.last == "", "the command ends the file with its line")
        // The comment's escaped name is the whole name, on the header's first line.
        #expect(comments[0].contains(VisibleText.escape(name)))
        #expect(try FrameworkRoundTripTests.readBack(export.text, framework) == ReadBackLayout(export.layout))
    }

    @Test("torchtitan: the hostile name stays on comment lines, and every other line is a table header or key = value",
          arguments: hostileNames)
    func toml(hostile: HostileName) throws {
        let name = hostile.text
        let export = try Self.export(graphName: name, clusterName: name, .torchtitan)
        let table = try Regex(#"\[[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*\]"#)
        let keyValue = try Regex(#"[A-Za-z0-9_]+ = ("[A-Za-z0-9_.]*"|-?[0-9]+|true|false|\[.*)"#)
        // The pipeline's modules: an array over several lines, one chunk's quoted module names a line.
        let arrayLine = try Regex(#"    \[("[A-Za-z0-9_.]+", )*"[A-Za-z0-9_.]+"\],|\]"#)
        for line in Self.lines(export.text) {
            let known = line.isEmpty || (line.hasPrefix("#") && Self.isCleanComment(line)) || line.wholeMatch(of: table) != nil
                || line.wholeMatch(of: keyValue) != nil || line.wholeMatch(of: arrayLine) != nil
            #expect(known, "\(line)")
            #expect(line.hasPrefix("#") || !line.contains("PWNED"), "\(line)")
        }
        #expect(Self.lines(export.text)[0].contains(VisibleText.escape(name)))
        let read = try FrameworkRoundTripTests.readBack(export.text, .torchtitan)
        #expect(read == FrameworkRoundTripTests.asTorchTitanReads(ReadBackLayout(export.layout)))
        #expect(try TOMLSubsetReader(export.text).tables["parallelism"]?["tensor_parallel_degree"] == .integer(2))
    }

    @Test("every header line, whatever it says, is escaped in all three formats", arguments: TrainingFramework.allCases)
    func header(framework: TrainingFramework) throws {
        let layout = try Self.export(graphName: "gpt-tiny", clusterName: "dgx-a100-80g:1", framework).layout
        let names = Self.hostileNames.map(\.text)
        let text = framework.render(layout, header: names)
        let comments = Self.lines(text).prefix { $0.hasPrefix("#") }
        #expect(Array(comments.prefix(names.count)) == names.map(CommentText.line))
        #expect(comments.allSatisfy(Self.isCleanComment))
        #expect(!Self.lines(text).contains { !$0.hasPrefix("#") && $0.contains("PWNED") })
    }
}
