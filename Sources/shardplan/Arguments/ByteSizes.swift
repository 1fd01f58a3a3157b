import ArgumentParser

/// `clusters NAME --sizes`: message sizes in bytes, comma-separated, each a count with an optional binary suffix
/// as nccl-tests reads `-b` and `-e` (`K`, `M`, `G`: 2^10, 2^20, 2^30), or a doubling range `MIN..MAX` (nccl-tests'
/// `-b MIN -e MAX -f 2`): `8..8G` is 8 B, 16 B, ..., 8 GiB.
struct ByteSizes: ExpressibleByArgument, Equatable {
    let bytes: [Int]

    /// nccl-tests' sweep `-b 8 -e 8G -f 2`.
    static let defaultSweep = ByteSizes(bytes: doubling(from: 8, to: 8 << 30))

    init(bytes: [Int]) { self.bytes = bytes }

    init?(argument: String) {
        var bytes: [Int] = []
        for item in argument.split(separator: ",", omittingEmptySubsequences: false) {
            let ends = item.split(separator: ".", omittingEmptySubsequences: false)
            if ends.count == 3, ends[1].isEmpty, let low = Self.count(ends[0]), let high = Self.count(ends[2]), low <= high {
                bytes += Self.doubling(from: low, to: high)
            } else if let count = Self.count(item) {
                bytes.append(count)
            } else {
                return nil
            }
        }
        self.bytes = bytes
    }

    /// A positive count of bytes with an optional `K`, `M` or `G` suffix (powers of 1024); nil for anything else,
    /// an overflow included.
    private static func count(_ text: Substring) -> Int? {
        let scale: Int
        var digits = text
        switch text.last {
        case "K", "k": scale = 1 << 10
        case "M", "m": scale = 1 << 20
        case "G", "g": scale = 1 << 30
        default: scale = 1
        }
        if scale > 1 { digits = digits.dropLast() }
        guard let value = Int(digits), value > 0 else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: scale)
        return overflow ? nil : product
    }

    private static func doubling(from low: Int, to high: Int) -> [Int] {
        Array(sequence(first: low) { $0 <= high / 2 ? $0 * 2 : nil })
    }
}
