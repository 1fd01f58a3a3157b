import Foundation

/// A dictionary the planner's threads fill and read at once (remembered layouts, prices and costs): every
/// access takes the table's lock. With the subscript, two threads that miss the same key may both compute its
/// value (the callers' values are pure, so either write is the same); `value(for:compute:)` computes each
/// value once and lets other threads that want it wait for it, unless the computation is abandoned (it throws, as
/// a search past its time limit does): then nothing is kept and the next thread that asks computes it anew.
final class SharedTable<Key: Hashable, Value>: @unchecked Sendable {
    private let condition = NSCondition()
    private var values: [Key: Value] = [:]
    private var computing: Set<Key> = []

    subscript(key: Key) -> Value? {
        get { condition.withLock { values[key] } }
        set { condition.withLock { values[key] = newValue } }
    }

    /// The value of `key`, computed by `compute` the first time any thread asks; what `compute` throws is
    /// thrown, and nothing is kept.
    func value<Failure: Error>(for key: Key, compute: () throws(Failure) -> Value) throws(Failure) -> Value {
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
        let value: Value
        do {
            value = try compute()
        } catch {
            condition.withLock {
                computing.remove(key)
                condition.broadcast()
            }
            throw error
        }
        condition.withLock {
            values[key] = value
            computing.remove(key)
            condition.broadcast()
        }
        return value
    }
}
