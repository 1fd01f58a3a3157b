/// The shape and element type of one tensor. Dimensions are positive.
public struct TensorType: Hashable, Sendable, CustomStringConvertible {
    public var shape: [Int]
    public var dtype: DType

    public init(_ shape: [Int], _ dtype: DType) {
        self.shape = shape
        self.dtype = dtype
    }

    public var rank: Int { shape.count }

    /// Number of elements (1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }

    /// Bytes the whole tensor occupies.
    public var byteCount: Int { elementCount * dtype.byteSize }

    public var description: String { "\(dtype.rawValue)[\(shape.map(String.init).joined(separator: ", "))]" }

    /// The most elements a tensor of a graph may have: 2^53, the largest count a JSON number (a double)
    /// holds exactly. Far above any real tensor, and low enough that `byteCount` and products of a few
    /// extents never overflow `Int`.
    public static let maximumElementCount = 1 << 53

    /// The product of `shape`, or nil when it exceeds `maximumElementCount` (or a size is not positive), so
    /// that hostile sizes are reported instead of overflowing.
    public static func checkedElementCount(_ shape: [Int]) -> Int? {
        var product = 1
        for size in shape {
            guard size > 0 else { return nil }
            let (next, overflow) = product.multipliedReportingOverflow(by: size)
            guard !overflow, next <= maximumElementCount else { return nil }
            product = next
        }
        return product
    }
}
