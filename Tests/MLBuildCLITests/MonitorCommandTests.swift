import Foundation
import MLBuildTestSupport
import Testing

@Suite struct MonitorCommandTests {
    @Test func psiIsTheDriftGatesAndGaugesAreWritten() throws {
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfileWithRecentData)
        try ws.write("data/recent.csv", MLFixtures.csv(rows: 300, shift: 0.3, start: 1000))
        #expect(try ws.build(["model:lr", "dataset:recent"]).result.status == 0)
        let run = try ws.run(["monitor", "model:lr", "--input", "data/recent.csv", "--prometheus", "mlbuild.prom", "--json"])
        #expect(run.status == 0, "\(run.output)")
        let report = try ReleaseFixtures.json(run.stdout)
        #expect(report["baseline"] as? String == "dataset:rows" && report["rows"] as? Int == 300)
        // Every column's PSI is the one the dataset drift gate computed for the same rows.
        let drift = try MLFixtures.json(ws, "build/dataset/recent/drift.json")
        var gate: [String: Double] = [:]
        for (name, entry) in drift["columns"] as? [String: [String: Any]] ?? [:] {
            if let psi = entry["psi"] as? Double { gate[name] = psi }
        }
        let columns = try #require(report["columns"] as? [[String: Any]])
        #expect(!columns.isEmpty && !gate.isEmpty)
        for column in columns {
            let name = try #require(column["column"] as? String)
            #expect(column["psi"] as? Double == gate[name], "\(name)")
        }
        let prom = try ws.read("mlbuild.prom")
        #expect(prom.contains("# TYPE mlbuild_monitor_psi gauge"))
        #expect(prom.contains("mlbuild_monitor_passed{model=\"model:lr\"} 1"))
        #expect(prom.contains("mlbuild_monitor_rows{model=\"model:lr\"} 300"))
        #expect(prom.contains("mlbuild_monitor_psi{column=\"amount\",model=\"model:lr\"} "))
    }

    @Test func driftPastTheThresholdAndBrokenRowsExitOne() throws {
        let ws = try MLFixtures.workspace()
        #expect(try ws.build(["model:lr"]).result.status == 0)
        try ws.write("new.csv", MLFixtures.csv(rows: 300, shift: 3.0, start: 5000))
        let drifted = try ws.run(["monitor", "model:lr", "--input", "new.csv", "--max-psi", "0.01", "--prometheus", "m.prom"])
        #expect(drifted.status == 1)
        #expect(drifted.stderr.contains("drift past max-psi 0.01"), "\(drifted.stderr)")
        #expect(drifted.stdout.contains("DRIFT"))
        #expect(try ws.read("m.prom").contains("mlbuild_monitor_passed{model=\"model:lr\"} 0"))

        // Rows for scoring carry no label: accepted without it.
        let unlabeled = MLFixtures.csv(rows: 100, start: 9000).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).dropLast().joined(separator: ",") }
        try ws.write("unlabeled.csv", unlabeled.joined(separator: "\n") + "\n")
        let plain = try ws.run(["monitor", "model:lr", "--input", "unlabeled.csv", "--max-psi", "10"])
        #expect(plain.status == 0, "\(plain.output)")

        try ws.write("bad.csv", MLFixtures.header + "\nx1,-5,basic,0.5,true,false\n")
        let bad = try ws.run(["monitor", "model:lr", "--input", "bad.csv"])
        #expect(bad.status == 1 && bad.stderr.contains("amount"), "\(bad.output)")
        #expect(try ws.run(["monitor", "model:nope", "--input", "bad.csv"]).status == 2)
    }
}
