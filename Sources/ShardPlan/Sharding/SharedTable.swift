import Foundation

/// A dictionary the planner's threads fill and read at once (remembered layouts, prices and costs): every
/// access takes the table's lock. Two threads that miss the same key may both compute its value; the
/// callers' values are pure, so either write is the same.
final class SharedTable<Key: Hashable, Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Key: Value] = [:]

    subscript(key: Key) -> Value? {
        get { lock.withLock { values[key] } }
        set { lock.withLock { values[key] = newValue } }
    }
}
