import ArgumentParser

/// `clusters NAME --sizes`: message sizes in bytes, comma-separated, each a count with an optional binary suffix
/// as nccl-tests reads `-b` and `-e` (`K`, `M`, `G`: 2^10, 2^20, 2^30), or a doubling range `MIN..MAX` (nccl-tests'
/// `-b MIN -e MAX -f 2`): `8..8G` is 8 B, 16 B, ..., 8 GiB. Every size is 1 to `largest` bytes, read as an integer.
struct ByteSizes: Equatable {
    let bytes: [Int]

    /// The largest size, 2^50 bytes (1 PiB, `1048576G`): far beyond any device's memory, and below 2^53, so that
    /// every size is exact as the model's Double and prints as an integer in JSON.
    static let largest = 1 << 50

    /// nccl-tests' sweep `-b 8 -e 8G -f 2`.
    static let defaultSweep = ByteSizes(bytes: doubling(from: 8, to: 8 << 30))

    init(bytes: [Int]) { self.bytes = bytes }

    /// The sizes `argument` lists; a malformed item, a size below 1 byte or over `largest`, and a range whose
    /// ends are reversed are a `ValidationError` naming the item (a usage error, exit 2).
    init(parsing argument: String) throws(ValidationError) {
        var bytes: [Int] = []
        for item in argument.split(separator: ",", omittingEmptySubsequences: false) {
            let ends = item.split(separator: ".", omittingEmptySubsequences: false)
            if ends.count == 3, ends[1].isEmpty {
                let low = try Self.count(ends[0]), high = try Self.count(ends[2])
                guard low <= high else { throw ValidationError("the range \(item) runs down; write it MIN..MAX") }
                bytes += Self.doubling(from: low, to: high)
            } else {
                bytes.append(try Self.count(item))
            }
        }
        self.bytes = bytes
    }

    /// A count of bytes, 1 to `largest`, with an optional `K`, `M` or `G` suffix (powers of 1024), computed in
    /// integers.
    private static func count(_ text: Substring) throws(ValidationError) -> Int {
        let scale: Int
        var digits = text
        switch text.last {
        case "K", "k": scale = 1 << 10
        case "M", "m": scale = 1 << 20
        case "G", "g": scale = 1 << 30
        default: scale = 1
        }
        if scale > 1 { digits = digits.dropLast() }
        let sign = digits.first == "-" ? 1 : 0
        guard digits.count > sign, digits.dropFirst(sign).allSatisfy(\.isASCII) && digits.dropFirst(sign).allSatisfy(\.isNumber) else {
            throw ValidationError("\"\(text)\" is not a size: give a count of bytes with an optional K, M or G (powers of 1024), or a range MIN..MAX")
        }
        let tooLarge = ValidationError("\(text) is over the largest size, \(largest) bytes (2^50, 1048576G)")
        let notPositive = ValidationError("a size is 1 byte or more, not \(text)")
        guard let value = Int(digits) else { throw sign == 1 ? notPositive : tooLarge }
        guard value > 0 else { throw notPositive }
        let (product, overflow) = value.multipliedReportingOverflow(by: scale)
        guard !overflow, product <= largest else { throw tooLarge }
        return product
    }

    private static func doubling(from low: Int, to high: Int) -> [Int] {
        Array(sequence(first: low) { $0 <= high / 2 ? $0 * 2 : nil })
    }
}
