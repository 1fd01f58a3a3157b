/// Text shown to a person (a report line, an error message, a comment in emitted settings) with the characters
/// that could change what the terminal or the file shows written as escapes. Graph, op and cluster names come
/// from files anyone can edit: a line break in a name would start a new report line or end a comment and begin a
/// command, an escape sequence could clear or recolour the terminal, and a bidirectional override can make text
/// read in another order. Control characters, Unicode's line and paragraph separators and its invisible format
/// characters become `\n`, `\r`, `\t`, else `\u{XXXX}`; everything else stays as it is.
public enum VisibleText {
    /// `text` with every character that could break its line or hide what it says written as an escape.
    public static func escape(_ text: String) -> String {
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

    /// `text` as a cell of a Markdown table: escaped, and its `|` written `\\|`, so that a row id or a source name
    /// from a hand-edited file can neither start a row nor shift the table's columns.
    public static func tableCell(_ text: String) -> String {
        escape(text).replacingOccurrences(of: "|", with: "\\|")
    }

    /// A report's lines, each escaped, one per line, ending with a newline: a name holding a line break stays
    /// on its own line.
    public static func lines(_ lines: [String]) -> String {
        lines.map(escape).joined(separator: "\n") + "\n"
    }
}
