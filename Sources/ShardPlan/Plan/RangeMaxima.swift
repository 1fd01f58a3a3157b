/// The largest of any non-empty run of consecutive values, in constant time: a sparse table of the maxima of
/// every run of 2^k values (Bender and Farach-Colton's range-minimum structure, for maxima).
struct RangeMaxima: Sendable {
    /// Level k holds, at index i, the largest of values i ..< i + 2^k.
    private let levels: [[Double]]

    init(_ values: [Double]) {
        var levels = [values]
        var span = 1
        while 2 * span <= values.count {
            let level = levels.last!
            levels.append((0 ... values.count - 2 * span).map { max(level[$0], level[$0 + span]) })
            span *= 2
        }
        self.levels = levels
    }

    /// The largest value in `range` (not empty).
    func maximum(in range: Range<Int>) -> Double {
        precondition(!range.isEmpty, "the maximum of no values")
        var level = 0
        while 1 << (level + 1) <= range.count { level += 1 }
        return max(levels[level][range.lowerBound], levels[level][range.upperBound - (1 << level)])
    }
}
