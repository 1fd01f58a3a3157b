import Foundation

extension JSONReader {
    /// Member `key` as a finite number greater than zero.
    func positiveNumber(_ key: String) throws(InputError) -> Double {
        let number = try number(key)
        guard number.isFinite, number > 0 else { throw invalid(key, "expected a positive number, found \(JSONWriter.formatNumber(number))") }
        return number
    }

    func optionalPositiveNumber(_ key: String) throws(InputError) -> Double? {
        contains(key) ? try positiveNumber(key) : nil
    }

    /// Member `key` as a finite number at least zero.
    func nonNegativeNumber(_ key: String) throws(InputError) -> Double {
        let number = try number(key)
        guard number.isFinite, number >= 0 else {
            throw invalid(key, "expected a number at least 0, found \(JSONWriter.formatNumber(number))")
        }
        return number
    }

    /// Member `key`, if present, as a fraction in (0, 1].
    func optionalFraction(_ key: String) throws(InputError) -> Double? {
        guard contains(key) else { return nil }
        let number = try number(key)
        guard number > 0, number <= 1 else {
            throw invalid(key, "expected a fraction greater than 0 and at most 1, found \(JSONWriter.formatNumber(number))")
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
