/// The element type of a tensor, as named in `shardplan.graph/1`.
public enum DType: String, CaseIterable, Sendable, Hashable {
    case f32, tf32, bf16, f16, fp8, i64, i32, i8, bool

    /// Bytes one element occupies in memory (TF32 is stored in 32-bit words; booleans in bytes).
    public var byteSize: Int {
        switch self {
        case .f32, .tf32, .i32: 4
        case .bf16, .f16: 2
        case .fp8, .i8, .bool: 1
        case .i64: 8
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .f32, .tf32, .bf16, .f16, .fp8: true
        case .i64, .i32, .i8, .bool: false
        }
    }

    public var isInteger: Bool {
        switch self {
        case .i64, .i32, .i8: true
        default: false
        }
    }
}
