import Foundation

/// Large quantities as short text for people: `174.6 B` parameters, `349.2 GB`, `3.14 PFLOP`.
/// Prefixes are decimal (a GB is 10^9 bytes, as the bandwidths of `shardplan.cluster/1` are); three
/// significant digits below 10, one decimal above.
public enum UnitFormat {
    /// A count with K, M, B (billion) or T (trillion): `1.81 B`.
    public static func count(_ value: Double) -> String {
        scaled(value, prefixes: ["", " K", " M", " B", " T"], unit: "")
    }

    /// Bytes: `512 B`, `349.2 GB`.
    public static func bytes(_ value: Double) -> String {
        scaled(value, prefixes: [" ", " k", " M", " G", " T", " P", " E"], unit: "B")
    }

    /// Floating-point operations: `2.14 TFLOP`.
    public static func flops(_ value: Double) -> String {
        scaled(value, prefixes: [" ", " k", " M", " G", " T", " P", " E", " Z"], unit: "FLOP")
    }

    private static func scaled(_ value: Double, prefixes: [String], unit: String) -> String {
        var scaled = value
        var level = 0
        while abs(scaled) >= 999.95 && level < prefixes.count - 1 {
            scaled /= 1000
            level += 1
        }
        let digits = level == 0 && scaled == scaled.rounded() ? 0 : abs(scaled) < 9.995 ? 2 : 1
        return String(format: "%.\(digits)f", scaled) + prefixes[level] + unit
    }
}
