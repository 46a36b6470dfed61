import Foundation
import MLBuildCLI
import MLBuildTestSupport
import Testing

/// Progress from inside a rule (issue 11, item 8): a gradient-boosting fit reports its trees;
/// `--events` carries them as `{"type":"progress","target":…,"done":…,"total":…,"unit":…}`,
/// at most a few a second, always with the final `done == total`; a plain (CI) log gets no
/// flood of progress lines.
@Suite("rule progress events", .serialized)
struct RuleProgressEventTests {
    static let trees = 300

    static func mlfile(algorithm: String = "gradient_boosting", trees: Int = RuleProgressEventTests.trees) -> String {
        """
        dataset rows
            source = data/rows.csv
            schema = \(MLFixtures.schema)

        features rows
            dataset = dataset:rows
            label = label
            one_hot = plan
            standardize = amount
            impute = score:median
            split = 0.75

        model churn
            features = features:rows
            algorithm = \(algorithm)
        \(algorithm == "gradient_boosting" ? "    trees = \(trees)\n    min_samples_leaf = 2" : "")
        """
    }

    @Test func aBoostingFitReportsItsTreesAtMostFourTimesASecondEndingWithDoneEqualTotal() throws {
        let ws = try MLFixtures.workspace(mlfile: Self.mlfile(), rows: 3000)
        let run = try ws.build(["model:churn"])
        #expect(run.result.status == 0, "\(run.result.output)")
        let events = run.events
        let progress = events.filter { $0["type"] as? String == "progress" && $0["target"] as? String == "model:churn" }
        try #require(!progress.isEmpty, "\(run.eventsText)")
        // Exactly the documented fields, in order.
        let line = try #require(run.eventsText.split(separator: "\n").first { $0.contains("\"type\":\"progress\"") && $0.contains("model:churn") })
        #expect(line.hasPrefix("{\"type\":\"progress\",\"target\":\"model:churn\",\"done\":"), "\(line)")
        #expect(line.hasSuffix(",\"total\":\(Self.trees),\"unit\":\"trees\"}"), "\(line)")
        let done = progress.compactMap { ($0["done"] as? NSNumber)?.intValue }
        #expect(done.count == progress.count)
        #expect(zip(done, done.dropFirst()).allSatisfy { $0 < $1 }, "done increases: \(done)")
        for event in progress {
            #expect((event["total"] as? NSNumber)?.intValue == Self.trees)
            #expect(event["unit"] as? String == "trees")
        }
        #expect(done.last == Self.trees, "the final report is done == total: \(done)")
        #expect(done.filter { $0 == Self.trees }.count == 1)
        // The rate limit: at most 4 a second over the fit, plus the first and the final one.
        let finished = try #require(events.first { $0["type"] as? String == "target" && $0["target"] as? String == "model:churn" })
        let seconds = try #require((finished["seconds"] as? NSNumber)?.doubleValue)
        #expect(Double(progress.count) <= (seconds * 4).rounded(.up) + 2, "\(progress.count) progress events in \(seconds) s")
        #expect(progress.count < Self.trees, "throttled: not one event per tree")
        // Progress events come before the target's own line.
        let lines = run.eventsText.split(separator: "\n")
        let lastProgress = try #require(lines.lastIndex { $0.contains("\"type\":\"progress\"") && $0.contains("model:churn") })
        let targetLine = try #require(lines.firstIndex { $0.contains("\"type\":\"target\"") && $0.contains("\"target\":\"model:churn\"") })
        #expect(lastProgress < targetLine)
        // A plain log (CI=true): no progress line for a fit this short.
        #expect(!run.result.stderr.contains("trees "), "\(run.result.stderr)")
    }

    @Test func aLogisticFitReportsIterationsAndCsvIngestReportsRows() throws {
        let ws = try MLFixtures.workspace(mlfile: Self.mlfile(algorithm: "logistic_regression"), rows: 500)
        let run = try ws.build(["model:churn"])
        #expect(run.result.status == 0, "\(run.result.output)")
        let progress = run.events.filter { $0["type"] as? String == "progress" }
        let iterations = progress.filter { $0["target"] as? String == "model:churn" }
        let last = try #require(iterations.last, "\(run.eventsText)")
        #expect(last["unit"] as? String == "iterations")
        #expect((last["done"] as? NSNumber)?.intValue == (last["total"] as? NSNumber)?.intValue)
        let rows = progress.filter { $0["target"] as? String == "dataset:rows" }
        let lastRows = try #require(rows.last, "\(run.eventsText)")
        #expect(lastRows["unit"] as? String == "rows")
        #expect((lastRows["done"] as? NSNumber)?.intValue == 500, "\(lastRows)")
    }

    @Test func theProgressLineEstimatesTheTimeLeft() {
        var progress = TargetProgress(done: 0, total: 100, unit: "trees", at: 0)
        #expect(progress.text(now: 0) == "trees 0/100")
        progress = progress.updated(done: 40, total: 100, unit: "trees", at: 8)
        // 40 trees in 8 s: 60 more take 12 s.
        #expect(progress.text(now: 8) == "trees 40/100 · 12 s left")
        #expect(progress.text(now: 10) == "trees 40/100 · 10 s left")
        #expect(progress.updated(done: 100, total: 100, unit: "trees", at: 20).text(now: 20) == "trees 100/100")
        // A new unit starts a new estimate.
        let rows = progress.updated(done: 5000, total: nil, unit: "rows", at: 30)
        #expect(rows.text(now: 40) == "rows 5000")
        let bytes = TargetProgress(done: 0, total: 40_000_000, unit: "bytes", at: 0).updated(done: 10_000_000, total: 40_000_000, unit: "bytes", at: 60)
        #expect(bytes.text(now: 60) == "bytes 10.0/40.0 MB · 3 min left")
        #expect(TargetProgress.duration(0.2) == "1 s")
        #expect(TargetProgress.duration(3700) == "1 h 2 min")
    }
}
