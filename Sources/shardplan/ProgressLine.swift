import Foundation
import ShardPlan

/// One line on standard error that a long search redraws in place (`\r`): what is searched, the step it is
/// on, the time spent and, once a step has finished, about how long the rest may take. It appears only when
/// standard error is a terminal and the search has run for a second, and it is erased when the search ends,
/// so that output piped or redirected never sees it.
final class ProgressLine: @unchecked Sendable {
    /// What is searched: "gpt3-175b on dgx-a100-80g:128".
    private let subject: String
    private let start: Date
    private let lock = NSLock()
    private var progress: SearchProgress?
    /// When the current step started, and the seconds the finished steps took.
    private var stepStart: Date
    private var finishedSeconds = 0.0
    private var drawn = false
    /// Set by `finish`: a timer tick already on its way draws nothing after it.
    private var finished = false
    private var timer: DispatchSourceTimer?
    private let write: (String) -> Void
    private let columns: Int

    /// A line for `subject`, or nil when standard error is not a terminal.
    static func onTerminal(for subject: String) -> ProgressLine? {
        guard isatty(STDERR_FILENO) != 0 else { return nil }
        var size = winsize()
        let columns = ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 80
        return ProgressLine(subject: subject, columns: columns) { try? FileHandle.standardError.write(contentsOf: Data($0.utf8)) }
    }

    init(subject: String, columns: Int, start: Date = Date(), write: @escaping (String) -> Void) {
        self.subject = subject
        self.start = start
        stepStart = start
        self.columns = columns
        self.write = write
    }

    /// Starts redrawing four times a second (the clock moves while a step runs).
    func startTicking() {
        let timer = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
        timer.schedule(deadline: .now() + 1, repeating: 0.25)
        timer.setEventHandler { [weak self] in self?.redraw(now: Date()) }
        timer.resume()
        self.timer = timer
    }

    /// The search moved on to a new step at `now`.
    func update(_ progress: SearchProgress, now: Date = Date()) {
        lock.withLock {
            if self.progress != nil && progress.completedSteps > (self.progress?.completedSteps ?? 0) {
                finishedSeconds = now.timeIntervalSince(start)
            }
            if progress.completedSteps != self.progress?.completedSteps { stepStart = now }
            self.progress = progress
        }
        redraw(now: now)
    }

    /// Erases the line; the search is over.
    func finish() {
        timer?.cancel()
        timer = nil
        lock.withLock {
            if drawn { write("\r\u{1B}[K") }
            drawn = false
            finished = true
        }
    }

    /// The text for the state at `now`, fitted to the terminal's width: the step and the clock come first, and
    /// what is searched, then the phase's name, is shortened or left out when the line would not fit.
    func text(now: Date) -> String? {
        let elapsed = now.timeIntervalSince(start)
        guard elapsed >= 1 else { return nil }
        var clock = Self.duration(elapsed)
        var step = ""
        var phase = ""
        if let progress {
            let total = progress.completedSteps + 1 == progress.totalSteps ? "\(progress.totalSteps)" : "at most \(progress.totalSteps)"
            step = "step \(progress.completedSteps + 1) of \(total): "
            phase = progress.phase
            if progress.completedSteps > 0 && finishedSeconds > 0 {
                // The finished steps' pace, for the rest; an upper bound when the search may stop early.
                let perStep = finishedSeconds / Double(progress.completedSteps)
                let left = max(perStep * Double(progress.totalSteps - progress.completedSteps) - now.timeIntervalSince(stepStart), 0)
                clock += ", at most about \(Self.duration(left)) left"
            }
        }
        let separator = " · "
        let essential = progress == nil ? clock : step + phase + separator + clock
        for candidate in ["shardplan: \(subject)\(separator)\(essential)", "shardplan: \(essential)", essential] where candidate.count < columns {
            return candidate
        }
        // Still too wide: the phase's name is cut, so that the step and the clock stay whole.
        let room = columns - 1 - step.count - separator.count - clock.count - 1
        if progress != nil && room >= 4 {
            return step + phase.prefix(room) + "…" + separator + clock
        }
        return String(essential.prefix(max(columns - 2, 10))) + "…"
    }

    private func redraw(now: Date) {
        lock.withLock {
            guard !finished, let line = text(now: now) else { return }
            write("\r\u{1B}[K" + line)
            drawn = true
        }
    }

    /// "7 s", "2 min 05 s".
    static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        return whole < 60 ? "\(whole) s" : String(format: "%d min %02d s", whole / 60, whole % 60)
    }
}
