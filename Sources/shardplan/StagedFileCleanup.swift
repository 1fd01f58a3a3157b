import Foundation
import Synchronization

/// The temporary files `OutputDestination` has written beside their destinations and not yet renamed into place,
/// removed when a signal ends the process first (Ctrl-C, `kill`, a hang-up, a reader of standard output or of a
/// FIFO that went away), so that an interrupted run leaves no hidden file behind. The paths are kept in a table
/// allocated once, of fixed-size C strings, which the handler only reads and passes to `unlink`: no allocation or
/// lock, as a signal handler requires. The handler then ends the process by the same signal, so the shell sees
/// how it ended (exit status 130 after Ctrl-C, 143 after `kill`).
enum StagedFileCleanup {
    /// The signals that end the process and so get the cleanup.
    static let signals = [SIGINT, SIGTERM, SIGHUP, SIGPIPE]
    /// How many files can be pending at once (a command writes at most a few outputs).
    static let capacity = 16
    /// The longest path a slot holds, with its terminating zero; longer ones cannot be opened either.
    static let pathCapacity = Int(PATH_MAX)

    /// `capacity` slots of `pathCapacity` bytes; a slot is free while its first byte is zero.
    nonisolated(unsafe) private static let slots: UnsafeMutablePointer<CChar> = {
        let slots = UnsafeMutablePointer<CChar>.allocate(capacity: capacity * pathCapacity)
        slots.initialize(repeating: 0, count: capacity * pathCapacity)
        return slots
    }()

    /// Installs the handlers; called once, before any output is written. A signal the parent process set to be
    /// ignored (`nohup`'s hang-up, a shell's interrupt for a background job) stays ignored.
    static func installHandlers() {
        _ = slots
        // Blocked while a handler replaces an ignored disposition and gives it back, so that a hang-up in between
        // is not taken by the handler; one that arrives then is delivered on unblocking, and ignored.
        var handled = sigset_t(), previousMask = sigset_t()
        sigemptyset(&handled)
        for number in signals { sigaddset(&handled, number) }
        sigprocmask(SIG_BLOCK, &handled, &previousMask)
        for number in signals {
            let previous = signal(number) { number in
                StagedFileCleanup.removePending()
                signal(number, SIG_DFL)
                raise(number)
            }
            if let previous, unsafeBitCast(previous, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) {
                signal(number, SIG_IGN)
            }
        }
        sigprocmask(SIG_SETMASK, &previousMask, nil)
    }

    /// Notes `path` as written but not yet in place, before the file is created; nil where it cannot be noted (no
    /// free slot, or a path too long to open), which only loses the cleanup.
    static func note(_ path: String) -> Int? {
        let bytes = Array(path.utf8CString)
        guard bytes.count <= pathCapacity,
              let slot = (0 ..< capacity).first(where: { slots[$0 * pathCapacity] == 0 }) else { return nil }
        let start = slots + slot * pathCapacity
        // The first byte last, behind a fence: the handler, on this thread or another, sees the slot in use only once
        // the whole path is there.
        for (index, byte) in bytes.enumerated().dropFirst() { start[index] = byte }
        if #available(macOS 15.0, *) { atomicMemoryFence(ordering: .releasing) }
        start[0] = bytes[0]
        return slot
    }

    /// Forgets the file of `slot` once it is in place or removed.
    static func forget(_ slot: Int?) {
        guard let slot else { return }
        slots[slot * pathCapacity] = 0
    }

    /// Removes every pending file (what the signal handler does; `unlink` only).
    static func removePending() {
        for slot in 0 ..< capacity where slots[slot * pathCapacity] != 0 {
            if #available(macOS 15.0, *) { atomicMemoryFence(ordering: .acquiring) }
            unlink(slots + slot * pathCapacity)
        }
    }
}
