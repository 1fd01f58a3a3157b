import Foundation

/// A dictionary the planner's threads fill and read at once (remembered layouts, prices and costs): every
/// access takes the table's lock. With the subscript, two threads that miss the same key may both compute its
/// value (the callers' values are pure, so either write is the same); `value(for:compute:)` computes each
/// value once and lets other threads that want it wait for it.
final class SharedTable<Key: Hashable, Value>: @unchecked Sendable {
    private let condition = NSCondition()
    private var values: [Key: Value] = [:]
    private var computing: Set<Key> = []

    subscript(key: Key) -> Value? {
        get { condition.withLock { values[key] } }
        set { condition.withLock { values[key] = newValue } }
    }

    /// The value of `key`, computed by `compute` the first time any thread asks.
    func value(for key: Key, compute: () -> Value) -> Value {
        condition.lock()
        while true {
            if let known = values[key] {
                condition.unlock()
                return known
            }
            if !computing.contains(key) { break }
            condition.wait()
        }
        computing.insert(key)
        condition.unlock()
        let value = compute()
        condition.lock()
        values[key] = value
        computing.remove(key)
        condition.broadcast()
        condition.unlock()
        return value
    }
}
