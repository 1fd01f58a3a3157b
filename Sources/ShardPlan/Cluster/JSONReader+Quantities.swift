import Foundation

extension JSONReader {
    /// The figures a cluster document may state, in the unit its member names (GiB, TFLOP/s, GB/s, µs, MHz):
    /// far beyond any hardware either way, and narrow enough that every time, rate and size computed from
    /// them (a whole model's bytes over the slowest link, the fastest device's FLOPs summed over an
    /// iteration) stays a finite number.
    static let plausibleFigures = 1e-6 ... 1e9

    /// Why a rate or latency outside `plausibleFigures` is refused.
    static let overflowReason = "a figure so far from any hardware's would make the predicted times overflow"

    /// Member `key` as a number greater than zero, within `plausibleFigures`; `reason` says why one outside is
    /// refused.
    func positiveNumber(_ key: String, outOfRange reason: String = overflowReason) throws(InputError) -> Double {
        let number = try number(key)
        guard number > 0 else { throw invalid(key, "expected a positive number, found \(JSONWriter.formatNumber(number))") }
        return try plausible(key, number, reason)
    }

    func optionalPositiveNumber(_ key: String) throws(InputError) -> Double? {
        contains(key) ? try positiveNumber(key) : nil
    }

    /// Member `key` as zero or a number within `plausibleFigures`.
    func nonNegativeNumber(_ key: String) throws(InputError) -> Double {
        let number = try number(key)
        guard number >= 0 else {
            throw invalid(key, "expected a number at least 0, found \(JSONWriter.formatNumber(number))")
        }
        return number == 0 ? 0 : try plausible(key, number, Self.overflowReason)
    }

    private func plausible(_ key: String, _ number: Double, _ reason: String) throws(InputError) -> Double {
        let range = Self.plausibleFigures
        guard range.contains(number) else {
            throw invalid(key, "\(JSONWriter.formatNumber(number)) is outside the \(JSONWriter.formatNumber(range.lowerBound)) to \(JSONWriter.formatNumber(range.upperBound)) that ShardPlan reads a figure in; \(reason)")
        }
        return number
    }

    /// Member `key`, if present, as a fraction in (0, 1], no smaller than the least of `plausibleFigures`: a
    /// rate scaled by a fraction nearer 0 would make the predicted times overflow as a figure out of range does.
    func optionalFraction(_ key: String) throws(InputError) -> Double? {
        guard contains(key) else { return nil }
        let number = try number(key)
        guard number > 0, number <= 1 else {
            throw invalid(key, "expected a fraction greater than 0 and at most 1, found \(JSONWriter.formatNumber(number))")
        }
        guard number >= Self.plausibleFigures.lowerBound else {
            throw invalid(key, "\(JSONWriter.formatNumber(number)) is below the \(JSONWriter.formatNumber(Self.plausibleFigures.lowerBound)) that ShardPlan reads a fraction down to; a fraction so near 0 would make the predicted times overflow")
        }
        return number
    }

    /// Member `key` as an integer at least 1.
    func positiveInt(_ key: String) throws(InputError) -> Int {
        let integer = try int(key)
        guard integer >= 1 else { throw invalid(key, "expected a positive integer, found \(integer)") }
        return integer
    }

    func optionalPositiveInt(_ key: String) throws(InputError) -> Int? {
        contains(key) ? try positiveInt(key) : nil
    }

    /// Member `key` as an object mapping element type names (`bf16`) to positive numbers.
    func numbersByDType(_ key: String) throws(InputError) -> [DType: Double] {
        let table = try reader(key)
        guard !table.object.members.isEmpty else {
            throw invalid(key, "expected at least one element type, such as {\"bf16\": 312}")
        }
        var result: [DType: Double] = [:]
        for name in table.object.keys {
            guard let dtype = DType(rawValue: name) else {
                throw table.invalid(name, "unknown element type \"\(name)\"; known: "
                                    + DType.allCases.map(\.rawValue).joined(separator: ", "))
            }
            result[dtype] = try table.positiveNumber(name)
        }
        return result
    }
}

extension Double {
    /// This number rounded to 12 significant decimal digits, so that a figure converted to SI units and back
    /// prints as it was written (`0.1 * 1e9 / 1e9`), while keeping any precision a measurement can have.
    var roundedForJSON: Double {
        guard isFinite else { return self }
        return Double(String(format: "%.12g", self)) ?? self
    }
}
