/// Text made safe for a `#` comment line of the emitted settings, whatever it quotes (a graph's name, the
/// `--cluster` argument, a plan file's mesh axis names). Megatron-LM's and NeMo's settings are shell
/// commands and torchtitan's a TOML file; in both a comment runs to the end of its line, so a line break in
/// the text would end the comment and start a command or a key. Control characters (line breaks, NUL,
/// escape sequences; TOML forbids all but tab in comments), Unicode's line and paragraph separators and its
/// invisible format characters (bidirectional overrides, which can make a terminal show code as comment) are
/// written as escapes: `\n`, `\r`, `\t`, else `\u{XXXX}`. Everything else stays as it is: inside a comment a
/// quote, backslash, `$()` or backtick is text.
enum CommentText {
    /// `text` as one `#` comment line: `# ` and the escaped text.
    static func line(_ text: String) -> String { "# " + escape(text) }

    /// `text` with every character that could end a comment line or hide what it says written as an escape.
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator:
                switch scalar {
                case "\n": escaped += "\\n"
                case "\r": escaped += "\\r"
                case "\t": escaped += "\\t"
                default: escaped += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                }
            default:
                escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}
