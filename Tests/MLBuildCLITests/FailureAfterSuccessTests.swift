import Foundation
import MLBuildCore
import MLBuildEngine
import MLBuildTestSupport
import Testing

/// A gate that fails after the same target passed before: the failure removes the earlier
/// outputs (nothing stale is left where a consumer would take it for the new result) and the
/// target's state record, so no later build calls it fresh; going back to the passing inputs
/// restores the earlier result from the cache.
@Suite("a failure after an earlier success")
struct FailureAfterSuccessTests {
    /// The target's record in `.mlbuild/state`, if any.
    static func record(_ ws: MLBuildWorkspace, _ target: String) throws -> BuildState.Record? {
        let reference = try #require(TargetReference(parsing: target))
        return BuildState.load(from: "\(ws.path)/.mlbuild/state").records[reference]
    }

    /// Every file below `directory`, with its bytes.
    static func files(_ ws: MLBuildWorkspace, _ directory: String) throws -> [String: Data] {
        let root = "\(ws.path)/\(directory)"
        var out: [String: Data] = [:]
        guard let names = FileManager.default.enumerator(atPath: root) else { return out }
        for case let name as String in names {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: "\(root)/\(name)", isDirectory: &isDirectory), !isDirectory.boolValue {
                out[name] = try Data(contentsOf: URL(fileURLWithPath: "\(root)/\(name)"))
            }
        }
        return out
    }

    /// Builds `target` passing, breaks it with `breakIt`, and checks the failure removed the
    /// outputs and the record, that status and the next build do not call it fresh, and that
    /// `repair` brings back the earlier bytes from the cache.
    func check(_ ws: MLBuildWorkspace, target: String, directory: String, expectedError: String,
               breakIt: () throws -> Void, repair: () throws -> Void) throws {
        let passed = try ws.build([target])
        #expect(passed.result.status == 0, "\(passed.result.output)")
        #expect(passed.statuses[target] == "built")
        let before = try Self.files(ws, directory)
        #expect(!before.isEmpty)
        #expect(try Self.record(ws, target) != nil)

        try breakIt()
        let failed = try ws.build([target])
        #expect(failed.result.status == 1)
        #expect(failed.statuses[target] == "failed")
        #expect(failed.result.stderr.contains(expectedError), "\(failed.result.stderr)")
        #expect(!ws.exists(directory), "the earlier outputs of \(target) are removed")
        #expect(try Self.record(ws, target) == nil, "the state record of \(target) is removed")

        let status = try ws.run(["status", target])
        #expect(status.stdout.contains("stale    \(target)"), "\(status.stdout)")
        let again = try ws.build([target])
        #expect(again.statuses[target] == "failed", "a failed target is never fresh")
        #expect(!ws.exists(directory))

        try repair()
        let repaired = try ws.build([target])
        #expect(repaired.result.status == 0, "\(repaired.result.output)")
        #expect(repaired.statuses[target] == "restored", "the passing result is in the cache")
        #expect(try Self.files(ws, directory) == before)
        #expect(try Self.record(ws, target) != nil)
    }

    @Test func aModelGateFailingAfterAPassingBuild() throws {
        let ws = try MLFixtures.workspace()
        try check(ws, target: "model:lr", directory: "build/model/lr",
                  expectedError: "model:lr: quality gate failed (1 of 1 on 99 test rows); nothing published:",
                  breakIt: { try ws.write("Mlfile", MLFixtures.mlfile(gate: "auc >= 0.999")) },
                  repair: { try ws.write("Mlfile", MLFixtures.mlfile()) })
    }

    @Test func aDatasetFailingValidationAfterADataChange() throws {
        let ws = try MLFixtures.workspace()
        let good = MLFixtures.csv(rows: 400)
        try check(ws, target: "dataset:rows", directory: "build/dataset/rows",
                  expectedError: "column 'amount': min=0 violated by 1 row (line 402; first value '-2.5')",
                  breakIt: { try ws.write("data/rows.csv", good + "D1,-2.5,plus,1,yes,no\n") },
                  repair: { try ws.write("data/rows.csv", good) })
    }

    @Test func aDatasetFailingTheDriftGateAfterADataChange() throws {
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfileWithRecentData)
        let close = MLFixtures.csv(rows: 200, start: 1000)
        try ws.write("data/recent.csv", close)
        try check(ws, target: "dataset:recent", directory: "build/dataset/recent",
                  expectedError: "data/recent.csv: drift check failed: ",
                  breakIt: { try ws.write("data/recent.csv", MLFixtures.csv(rows: 200, shift: 4, start: 1000)) },
                  repair: { try ws.write("data/recent.csv", close) })
        #expect((try MLFixtures.json(ws, "build/dataset/recent/drift.json"))["passed"] as? Bool == true)
    }
}
