import Foundation
import ShardPlan
import Testing
@testable import shardplan

@Suite("Progress line: redrawn in place on a terminal after a second, with the step and the time left")
struct ProgressLineTests {
    let start = Date(timeIntervalSince1970: 1_000_000)

    func line(columns: Int = 200) -> (ProgressLine, () -> [String]) {
        final class Writes: @unchecked Sendable { var all: [String] = [] }
        let writes = Writes()
        return (ProgressLine(subject: "planning gpt3-175b on dgx-a100-80g:128", columns: columns, start: start) { writes.all.append($0) },
                { writes.all })
    }

    @Test("silent for the first second, then what is searched, the step and the elapsed time")
    func firstSecond() {
        let (progress, writes) = line()
        progress.update(SearchProgress(phase: "searching with 64 microbatches", completedSteps: 0, totalSteps: 8), now: start + 0.5)
        #expect(writes().isEmpty)
        #expect(progress.text(now: start + 3) == "shardplan: planning gpt3-175b on dgx-a100-80g:128 · step 1 of at most 8: searching with 64 microbatches · 3 s")
    }

    @Test("after a finished step, the time left at the finished steps' pace")
    func timeLeft() {
        let (progress, writes) = line()
        progress.update(SearchProgress(phase: "searching with 64 microbatches", completedSteps: 0, totalSteps: 5), now: start)
        progress.update(SearchProgress(phase: "searching with 128 microbatches", completedSteps: 1, totalSteps: 5), now: start + 10)
        // 10 s a step, 4 steps to go, 2 s into this one: 38 s.
        let text = progress.text(now: start + 12)
        #expect(text?.hasSuffix("step 2 of at most 5: searching with 128 microbatches · 12 s, at most about 38 s left") == true, "\(text ?? "nil")")
        #expect(writes().last?.hasPrefix("\r\u{1B}[K") == true)
        progress.finish()
        #expect(writes().last == "\r\u{1B}[K")
    }

    @Test("the line never wraps: what is searched goes first, then the phase is shortened, then the line is cut to the terminal's width")
    func width() {
        let (narrow, _) = line(columns: 80)
        narrow.update(SearchProgress(phase: "pricing Megatron-LM configurations", completedSteps: 6, totalSteps: 7), now: start)
        #expect(narrow.text(now: start + 70) == "shardplan: step 7 of 7: pricing Megatron-LM configurations · 1 min 10 s")
        let (tiny, _) = line(columns: 40)
        tiny.update(SearchProgress(phase: "pricing Megatron-LM configurations", completedSteps: 6, totalSteps: 7), now: start)
        #expect(tiny.text(now: start + 70) == "step 7 of 7: pricing Mega… · 1 min 10 s")
        let (tinier, _) = line(columns: 20)
        tinier.update(SearchProgress(phase: "pricing Megatron-LM configurations", completedSteps: 6, totalSteps: 7), now: start)
        let text = tinier.text(now: start + 70)
        #expect(text.map { $0.count < 20 && $0.hasSuffix("…") } == true, "\(text ?? "nil")")
        #expect(ProgressLine.duration(125) == "2 min 05 s" && ProgressLine.duration(7.4) == "7 s")
    }

    @Test("no line when standard error is not a terminal")
    func quietWhenRedirected() {
        #expect((ProgressLine.onTerminal(for: "x") == nil) == (isatty(STDERR_FILENO) == 0))
    }
}
