import Foundation
import MLBuildBasics
import MLBuildTraining
import Testing
@testable import MLBuildDatasets

@Suite struct ColumnarAndStatsTests {
    static let schemaText = "id: string id, n: int nullable, x: float nullable, b: bool nullable, c: category(lo, hi) nullable, s: string nullable"
    static let csv = """
        id,n,x,b,c,s
        r1,1,0.1,yes,lo,"a,b"
        r2,,-2.5e-3,,hi,
        r3,-7,,no,,ü
        r4,9223372036854775807,1e300,true,lo,"a,b"

        """

    @Test func binaryRoundTripIsExact() throws {
        try withTempDirectory { dir in
            let schema = try Schema(parsing: Self.schemaText)
            let table = try DatasetIngester.ingestValidated(CSVSource(name: "t.csv", text: Self.csv), schema: schema)
            let url = dir.appendingPathComponent("data.bin")
            try table.write(to: url)
            let back = try ColumnarTable.read(from: url, schema: schema)
            #expect(back == table)
            #expect(back.columns[2].storage == .float([0.1, -2.5e-3, 0, 1e300]))
            #expect(back.columns[5].storage == .codes([0, 0, 1, 0], dictionary: ["a,b", "ü"]))
            // Header bytes: magic, version 1, 4 rows, 6 columns, then line numbers 2, 3, 4, 5.
            let bytes = table.binaryData()
            // The file is streamed from the columns; it holds exactly the in-memory encoding.
            #expect(Array(try Data(contentsOf: url)) == bytes)
            #expect(Array(bytes[0 ..< 8]) == Array("MLBDATA\0".utf8))
            #expect(Array(bytes[8 ..< 24]) == [1, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0])
            #expect(Array(bytes[24 ..< 32]) == [2, 0, 0, 0, 3, 0, 0, 0])
            // Without a schema the names and types still come back.
            #expect(try ColumnarTable.read(from: url).schema.columns.map(\.type) == [.string, .int, .float, .bool, .category(["lo", "hi"]), .string])
        }
    }

    @Test func truncatedBinaryIsAFormatError() throws {
        let table = try DatasetIngester.ingestValidated(CSVSource(name: "t.csv", text: Self.csv), schema: try Schema(parsing: Self.schemaText))
        let bytes = Array(table.binaryData().dropLast(3))
        #expect(throws: DatasetError.self) { _ = try ColumnarTable.decode(bytes, path: "d.bin") }
    }

    /// Columns are located by a walk and decoded on several threads; the error must still be
    /// the one a front-to-back read meets first, on any thread count: a truncation names the
    /// section it cuts, a bad column before a truncation wins, trailing bytes come last.
    @Test func decodeErrorsComeInFileOrderOnAnyThreadCount() async throws {
        let schema = try Schema(parsing: Self.schemaText)
        let table = try DatasetIngester.ingestValidated(CSVSource(name: "t.csv", text: Self.csv), schema: schema)
        let bytes = table.binaryData()
        func message(_ data: [UInt8], threads: Int) async -> String {
            let outcome = try? await WorkBudget(threads: threads).run { () -> String in
                do {
                    _ = try ColumnarTable.decode(data, path: "d.bin", schema: schema)
                    return "decoded"
                } catch {
                    return "\(error)"
                }
            }
            return outcome ?? "the budget did not run"

        }
        // Column 'c' (the fifth) starts after id, n, x and b; its type byte follows its name.
        // Its name is stored as the length 1 (u32) and "c", then the type byte 4.
        let marker: [UInt8] = [1, 0, 0, 0, UInt8(ascii: "c"), 4]
        let start = try #require((0 ..< bytes.count - marker.count).first { Array(bytes[$0 ..< $0 + marker.count]) == marker })
        let cType = start + marker.count - 1
        var badType = bytes
        badType[cType] = 9
        for threads in [1, 2, 8] {
            #expect(await message(bytes, threads: threads) == "decoded")
            let cut = await message(Array(bytes.dropLast(3)), threads: threads)
            #expect(cut.contains("truncated file: cannot read column 's' codes"), "\(cut)")
            // An unknown type in 'c' and a truncation in 's' further on: 'c' is reported.
            let both = await message(Array(badType.dropLast(3)), threads: threads)
            #expect(both.contains("column 'c' has unknown type code 9"), "\(both)")
            let extra = await message(bytes + [0, 0], threads: threads)
            #expect(extra.contains("2 unexpected bytes after the last section"), "\(extra)")
        }
    }

    @Test func statsOfAHandComputedColumn() throws {
        // Values 1, 2, 3, 4, 10 and one null.
        let table = try DatasetIngester.ingestValidated(
            CSVSource(name: "t.csv", text: "v,c\n1,a\n2,b\n3,a\n,a\n4,b\n10,a\n"), schema: try Schema(parsing: "v: float nullable, c: category(a, b, z)"))
        let stats = DatasetStats.compute(table)
        let v = try #require(stats.columns["v"])
        #expect(v.count == 5)
        #expect(v.nulls == 1)
        #expect(v.min == 1)
        #expect(v.max == 10)
        #expect(v.mean == 4)
        // Population variance: (9 + 4 + 1 + 0 + 36) / 5 = 10.
        #expect(v.std == 10.0.squareRoot())
        // Type-7 quantiles over [1, 2, 3, 4, 10]: h = 4p.
        #expect(v.quantiles?["p50"] == 3)
        #expect(v.quantiles?["p25"] == 2)
        #expect(v.quantiles?["p75"] == 4)
        #expect(v.quantiles?["p05"] == 1.2)
        #expect(v.quantiles?["p99"] == 4 + 0.96 * 6)
        #expect(v.histogram?.edges == [1, 1.9, 2.8, 3.7, 4.6, 5.5, 6.4, 7.3, 8.2, 9.1, 10])
        // Bin = floor((x - 1) / 9 * 10): 1 → 0, 2 → 1, 3 → 2, 4 → 3, 10 → 9 (max is in the last bin).
        #expect(v.histogram?.counts == [1, 1, 1, 1, 0, 0, 0, 0, 0, 1])
        let c = try #require(stats.columns["c"])
        #expect(c.frequencies == [.init(value: "a", count: 4), .init(value: "b", count: 2), .init(value: "z", count: 0)])
        #expect(c.distinct == 2)
    }

    @Test(arguments: [0, 1, 2])
    func orderStatisticsMatchAFullSort(_ shape: Int) {
        var rng = SplitMix64(seed: UInt64(shape))
        let values: [Double] = (0 ..< 5000).map { i in
            switch shape {
            case 0: Double(rng.nextInt(below: 50))  // many duplicates
            case 1: Double(i)  // already sorted
            default: rng.nextUnit() * 1e6 - 5e5
            }
        }
        let sorted = values.sorted()
        let positions = [0, 49, 50, 249, 250, 1249, 1250, 2499, 2500, 3749, 3750, 4749, 4750, 4949, 4950, 4999]
        var work = values
        OrderStatistics.select(&work, positions: positions)
        #expect(positions.map { work[$0] } == positions.map { sorted[$0] })
        for p in [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99] {
            #expect(ColumnStats.interpolate(work, p) == ColumnStats.quantile(sorted, p))
        }
    }

    @Test func statsJSONIsDeterministicWithSortedKeys() throws {
        try withTempDirectory { dir in
            let schema = try Schema(parsing: "z: int, a: bool")
            let r = try DatasetBuilder.build(
                source: CSVSource(name: "t.csv", text: "z,a\n1,yes\n3,no\n"), schema: schema, options: DatasetOptions(), outputDirectory: dir)
            #expect(r.outputs == ["data.bin", "schema.json", "stats.json"])
            let text = try String(contentsOf: dir.appendingPathComponent("stats.json"), encoding: .utf8)
            #expect(text == """
                {
                  "columns": {
                    "a": {
                      "count": 2,
                      "distinct": 2,
                      "frequencies": [
                        {
                          "count": 1,
                          "value": "false"
                        },
                        {
                          "count": 1,
                          "value": "true"
                        }
                      ],
                      "nulls": 0,
                      "type": "bool"
                    },
                    "z": {
                      "count": 2,
                      "histogram": {
                        "counts": [1, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                        "edges": [1, 1.2, 1.4, 1.6, 1.8, 2, 2.2, 2.4, 2.6, 2.8, 3]
                      },
                      "max": 3,
                      "mean": 2,
                      "min": 1,
                      "nulls": 0,
                      "quantiles": {
                        "p01": 1.02,
                        "p05": 1.1,
                        "p25": 1.5,
                        "p50": 2,
                        "p75": 2.5,
                        "p95": 2.9,
                        "p99": 2.98
                      },
                      "std": 1,
                      "type": "int"
                    }
                  },
                  "rows": 2,
                  "version": 1
                }

                """)
            let loaded = try DatasetBuilder.load(directory: dir)
            #expect(loaded.schemaFile.schema == schema)
            #expect(loaded.table.rowCount == 2)
        }
    }
}
