import Foundation
import Testing
@testable import MLBuildDatasets

@Suite struct DriftTests {
    func build(_ csv: String, _ dir: URL, baseline: URL? = nil, maxPSI: Double = 0.2) throws -> DatasetBuilder.Result {
        try DatasetBuilder.build(
            source: CSVSource(name: "d.csv", text: csv), schema: try Schema(parsing: "id: string id, v: float, c: category(a, b)"),
            options: DatasetOptions(maxPSI: maxPSI), outputDirectory: dir, baselineDirectory: baseline)
    }

    static func csv(_ values: [Int], _ cats: [String]) -> String {
        "id,v,c\n" + zip(values, cats).enumerated().map { "r\($0),\($1.0),\($1.1)" }.joined(separator: "\n") + "\n"
    }

    @Test func identicalDataHasZeroPSI() throws {
        try withTempDirectory { dir in
            let text = Self.csv(Array(0 ..< 10), Array(repeating: "a", count: 6) + Array(repeating: "b", count: 4))
            _ = try build(text, dir.appendingPathComponent("base"))
            let r = try build(text, dir.appendingPathComponent("now"), baseline: dir.appendingPathComponent("base"))
            let drift = try #require(r.drift)
            #expect(drift.entries == [
                .init(column: "c", psi: 0, method: "frequencies"), .init(column: "v", psi: 0, method: "histogram"),
            ])
            #expect(drift.skipped.map(\.column) == ["id"])
            #expect(r.outputs.contains("drift.json"))
        }
    }

    @Test func shiftedColumnHasTheKnownPSIAndFails() throws {
        try withTempDirectory { dir in
            // Baseline 0…9: one value per bin (10% each). Now 0…4 twice: 20% in bins 0–4, none in 5–9.
            _ = try build(Self.csv(Array(0 ..< 10), Array(repeating: "a", count: 10)), dir.appendingPathComponent("base"))
            let now = Self.csv([0, 0, 1, 1, 2, 2, 3, 3, 4, 4], Array(repeating: "a", count: 10))
            let expected = 5 * (0.2 - 0.1) * log(0.2 / 0.1) + 5 * (0.0001 - 0.1) * log(0.0001 / 0.1)
            #expect(abs(expected - 3.7969974) < 1e-6)
            do {
                _ = try build(now, dir.appendingPathComponent("now"), baseline: dir.appendingPathComponent("base"))
                Issue.record("expected a drift failure")
            } catch let e as DriftError {
                #expect(e.report.entries.map(\.column) == ["c", "v"])
                #expect(e.report.entries[0].psi == 0)
                #expect(abs(e.report.entries[1].psi - expected) < 1e-12)
                #expect(e.report.drifted.map(\.column) == ["v"])
                #expect(e.description == """
                    d.csv: drift check failed: 1 column over max_psi=0.2
                      c: psi 0.0000 (frequencies)
                      v: psi 3.7970 (histogram)  DRIFT
                      id: skipped (id column)
                    """)
            }
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("now").path))
        }
    }

    @Test func categoryShiftAndThreshold() throws {
        try withTempDirectory { dir in
            _ = try build(Self.csv(Array(0 ..< 10), Array(repeating: "a", count: 5) + Array(repeating: "b", count: 5)), dir.appendingPathComponent("base"))
            let now = Self.csv(Array(0 ..< 10), Array(repeating: "a", count: 7) + Array(repeating: "b", count: 3))
            let r = try build(now, dir.appendingPathComponent("now"), baseline: dir.appendingPathComponent("base"), maxPSI: 1)
            let expected = (0.7 - 0.5) * log(0.7 / 0.5) + (0.3 - 0.5) * log(0.3 / 0.5)
            #expect(abs((r.drift?.entries[0].psi ?? -1) - expected) < 1e-12)
            #expect(r.drift?.passed == true)
        }
    }
}
