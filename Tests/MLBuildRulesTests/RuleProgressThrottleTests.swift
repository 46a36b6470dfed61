import MLBuildEngine
import Synchronization
import Testing

/// `RuleProgress` (issue 11, item 8): a rule may report as often as it likes; observers hear at
/// most one report per interval, plus every change of unit and the final `done == total`, and
/// `finish()` hands over the last report held back.
@Suite("rule progress throttle")
struct RuleProgressThrottleTests {
    /// A progress reporter on a fake clock (seconds set by the test) that records what passes.
    final class Harness: Sendable {
        /// A value behind a lock, shared by reference with the reporter's closures.
        final class Cell<Value: Sendable>: Sendable {
            let mutex: Mutex<Value>
            init(_ value: Value) { mutex = Mutex(value) }
        }

        let time = Cell<Duration>(.zero)
        let seen = Cell<[String]>([])
        let progress: RuleProgress

        init(interval: Duration = .milliseconds(250)) {
            let time = self.time, seen = self.seen
            progress = RuleProgress(minimumInterval: interval, clock: { time.mutex.withLock { $0 } }) { done, total, unit in
                seen.mutex.withLock { $0.append("\(unit) \(done)/\(total.map(String.init) ?? "?")") }
            }
        }

        func advance(_ duration: Duration) { time.mutex.withLock { $0 += duration } }
        var reports: [String] { seen.mutex.withLock { $0 } }
    }

    @Test func reportsWithinOneIntervalAreHeldBackExceptTheFinalOne() {
        let h = Harness()
        for done in 1 ... 100 { h.progress.report(done: Int64(done), total: 100, unit: "trees") }
        #expect(h.reports == ["trees 1/100", "trees 100/100"])
    }

    @Test func oneReportPerIntervalGoesThrough() {
        let h = Harness()
        // 1,000 reports over 10 s (one every 10 ms): at most 4 a second, plus the final one.
        for done in 1 ... 1000 {
            h.progress.report(done: Int64(done), total: 1000, unit: "rows")
            h.advance(.milliseconds(10))
        }
        let reports = h.reports
        #expect(reports.count <= 10 * 4 + 2, "\(reports.count)")
        #expect(reports.count >= 10 * 4 - 1, "\(reports.count)")
        #expect(reports.first == "rows 1/1000")
        #expect(reports.last == "rows 1000/1000")
        #expect(reports.filter { $0 == "rows 1000/1000" }.count == 1)
    }

    @Test func aNewUnitGoesThroughAtOnce() {
        let h = Harness()
        h.progress.report(done: 10, total: nil, unit: "rows")
        h.progress.report(done: 1, total: 50, unit: "trees")
        h.progress.report(done: 2, total: 50, unit: "trees")
        #expect(h.reports == ["rows 10/?", "trees 1/50"])
    }

    @Test func finishHandsOverTheLastReportHeldBack() {
        let h = Harness()
        h.progress.report(done: 1, total: nil, unit: "rows")
        h.progress.report(done: 5, total: nil, unit: "rows")
        h.progress.report(done: 9, total: nil, unit: "rows")
        h.progress.finish()
        h.progress.finish()
        #expect(h.reports == ["rows 1/?", "rows 9/?"])
    }

    @Test func aRepeatedReportIsForwardedOnce() {
        let h = Harness()
        h.progress.report(done: 3, total: 3, unit: "bytes")
        h.advance(.seconds(1))
        h.progress.report(done: 3, total: 3, unit: "bytes")
        h.progress.finish()
        #expect(h.reports == ["bytes 3/3"])
    }

    @Test func theNoOpReporterCostsNothingAndTellsNoOne() {
        // Callable from anywhere without a build around it.
        for done in 0 ..< 1000 { RuleProgress.none.report(done: Int64(done), total: nil, unit: "rows") }
        RuleProgress.none.finish()
    }

    @Test func reportsFromManyThreadsStayInOrderOfForwarding() async {
        let h = Harness(interval: .zero)
        await withTaskGroup(of: Void.self) { group in
            for worker in 0 ..< 4 {
                group.addTask { for i in 0 ..< 250 { h.progress.report(done: Int64(worker * 250 + i), total: nil, unit: "rows") } }
            }
        }
        #expect(h.reports.count <= 1000)
        #expect(!h.reports.isEmpty)
    }
}
