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
}
