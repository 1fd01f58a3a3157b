/// Text made safe for HTML and SVG: the five characters that markup gives meaning escaped, numbers written for
/// coordinates (a few decimals, no exponent, no locale), and how wide a label will be drawn.
enum HTMLText {
    /// `text` as HTML shows it: control and invisible format characters first written as `VisibleText` escapes (a
    /// page shows what the text report shows, never a raw escape sequence or NUL), then markup's five characters.
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.count)
        for character in VisibleText.escape(text) {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// A coordinate or length with at most two decimals: `12.5`, `3`, `0.25`.
    static func coordinate(_ value: Double) -> String {
        let hundredths = (value * 100).rounded()
        guard hundredths.isFinite else { return "0" }
        let whole = Int(hundredths) / 100, fraction = abs(Int(hundredths) % 100)
        let sign = hundredths < 0 && whole == 0 ? "-" : ""
        if fraction == 0 { return "\(sign)\(whole)" }
        return fraction % 10 == 0 ? "\(sign)\(whole).\(fraction / 10)" : "\(sign)\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// A count with thousands separators: 1,024.
    static func count(_ value: Int) -> String {
        let digits = String(abs(value))
        var grouped = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { grouped += "," }
            grouped.append(digit)
        }
        return (value < 0 ? "-" : "") + grouped
    }

    /// The width in pixels of one line of `text` at `fontSize` px, estimated from its length at 0.62 em a
    /// character: a little more than the page's sans-serif takes for lowercase letters and digits, so that a label
    /// the estimate fits is never cut off.
    static func width(_ text: String, fontSize: Double) -> Double {
        Double(text.count) * fontSize * 0.62
    }
}
