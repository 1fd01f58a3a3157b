import Foundation

/// Hands out the numbers 0, 1, 2, ... to the threads that ask, each number once: the next question for a worker
/// that is free, or a different starting point for each of several searches that run at once.
final class TicketDispenser: @unchecked Sendable {
    private let lock = NSLock()
    private var following = 0

    /// The next number not yet handed out.
    func next() -> Int {
        lock.withLock {
            following += 1
            return following - 1
        }
    }
}
