import Foundation

/// What every calibration file's rows share: an `id` that names the row in the report, measured times in the unit
/// the file gives them, and counts of rows in the report's sentences.
enum CalibrationRows {
    /// "1 row", "2 rows".
    static func count(_ rows: Int) -> String { rows == 1 ? "1 row" : "\(rows) rows" }
}

extension JSONReader {
    /// The row's `id`, refused at `id` where it is empty, has leading or trailing spaces, or names an earlier row
    /// (`seen`, to which it is added); `why` says what names each row by it (`the table names each row by it`).
    func calibrationRowID(seen: inout Set<String>, why: String) throws(InputError) -> String {
        let id = try string("id")
        guard !id.isEmpty, id.trimmingCharacters(in: .whitespaces) == id else {
            throw invalid("id", "expected a name without leading or trailing spaces, found \"\(id)\"; \(why)")
        }
        guard seen.insert(id).inserted else {
            throw invalid("id", "a second row with id \"\(id)\"; \(why)")
        }
        return id
    }

    /// Member `key`, a measured time in `unit` (`us`, `ms`; `scale` seconds each), as seconds: refused at `key`, in
    /// its own unit, unless positive and within `MeasuredCollective.plausibleSeconds` (1 ns to an hour).
    func measuredSeconds(_ key: String, unit: String, scale: Double, row id: String) throws(InputError) -> Double {
        let time = try number(key)
        guard time > 0 else {
            throw invalid(key, "row \(id): expected a positive time in \(unit), found \(JSONWriter.formatNumber(time))")
        }
        guard MeasuredCollective.plausibleSeconds.contains(time * scale) else {
            throw invalid(key, "row \(id): a time of \(JSONWriter.formatNumber(time)) \(unit) is not a measurement (1 ns to 1 hour)")
        }
        return time * scale
    }
}
