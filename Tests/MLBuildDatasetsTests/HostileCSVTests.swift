import Foundation
import MLBuildTraining
import Testing
@testable import MLBuildDatasets

/// CSV input a careless or hostile user can hand mlbuild: bytes that are not UTF-8, classic Mac
/// line endings, numbers near the largest double, huge cells. Each is an error naming the file,
/// line and column, or is handled exactly; never a silent substitution, a crash or an infinity.
@Suite struct HostileCSVTests {
    func ingest(_ bytes: [UInt8], _ schema: String) throws -> (ColumnarTable, ValidationReport) {
        try DatasetIngester.ingest(CSVSource(name: "data/x.csv", bytes: bytes), schema: try Schema(parsing: schema))
    }

    // MARK: - Invalid UTF-8 (never replaced by U+FFFD)

    /// Latin-1 `café` and `cafè` are different bytes; decoded leniently both become `caf\u{FFFD}`,
    /// one value that passed the byte-level unique check twice.
    @Test(arguments: ["name: string unique", "name: string id unique"])
    func invalidUTF8InAStringColumnIsAViolationNamingLinesAndColumn(column: String) throws {
        let csv: [UInt8] = Array("id,name\n1,ok\n2,caf".utf8) + [0xE9] + Array("\n3,caf".utf8) + [0xE8] + Array("\n".utf8)
        let (table, report) = try ingest(csv, "id: int, " + column)
        #expect(report.violations.map(\.description) == [
            "column 'name': UTF-8 text violated: 2 rows are not valid UTF-8 (mlbuild reads CSV as UTF-8: re-encode the file, e.g. with iconv -f LATIN1 -t UTF-8) (lines 3, 4; first value 'caf\\xE9')",
        ])
        #expect(report.violations.map(\.rule) == ["utf8"])
        // Nothing decoded with a replacement character reaches the table.
        let name = try #require(table.column(named: "name"))
        #expect(name.nulls == [false, true, true])
        #expect((0 ..< 3).compactMap { name.text(at: $0) } == ["ok"])
    }

    /// A declared category spelled with U+FFFD must not match a Latin-1 cell that decodes to it.
    @Test func invalidUTF8NeverMatchesADeclaredCategory() throws {
        let csv: [UInt8] = Array("c\nb\ncaf".utf8) + [0xE9] + Array("\n".utf8)
        let (table, report) = try ingest(csv, "c: category(\"caf\u{FFFD}\", b)")
        #expect(report.violations.map(\.rule) == ["utf8"])
        #expect(report.violations.first?.lines == [3])
        #expect(report.violations.first?.example == "caf\\xE9")
        #expect(table.columns[0].nulls == [false, true])
    }

    @Test func validMultiByteTextIsKeptByteForByte() throws {
        let text = "id,name,c\n1,café,é\n2,cafe\u{301},日本\n3,🙂,é\n"
        let (table, report) = try ingest(Array(text.utf8), "id: int, name: string unique, c: category(é, 日本)")
        #expect(report.passed, "\(report)")
        let name = try #require(table.column(named: "name"))
        #expect((0 ..< 3).map { Array(name.text(at: $0)?.utf8 ?? "".utf8) } == [Array("café".utf8), Array("cafe\u{301}".utf8), Array("🙂".utf8)])
    }

    @Test func invalidUTF8InTheHeaderIsAnErrorOnLine1() throws {
        let csv: [UInt8] = Array("id,caf".utf8) + [0xE9] + Array("\n1,2\n".utf8)
        #expect(throws: DatasetError.csv(path: "data/x.csv", line: 1, message: "header field 2 'caf\\xE9' is not UTF-8 (byte 0xE9 at offset 3); re-encode the file as UTF-8")) {
            _ = try ingest(csv, "id: int, cafe: int")
        }
    }

    @Test func invalidUTF8AtPredictionIsARowErrorWithLineAndColumn() throws {
        let schema = try Schema(parsing: "id: string id, s: string, y: bool")
        let transform = FittedTransform(
            version: 1, schema: schema, options: DatasetOptions(),
            label: .init(column: "y", type: "bool", classes: ["false", "true"]), idColumns: ["id"],
            steps: [.init(column: "s", kind: "one_hot", imputeValue: nil, imputeText: nil, log1p: false, scaling: nil,
                          center: nil, scale: nil, categories: ["caf\u{FFFD}", "tea"], boundaries: nil)],
            featureNames: ["s=caf\u{FFFD}", "s=tea"])
        let csv: [UInt8] = Array("id,s\nA,tea\nB,caf".utf8) + [0xE9] + Array("\n".utf8)
        let mapped = try RawRowMapper(transform: transform).map(source: CSVSource(name: "rows.csv", bytes: csv))
        #expect(mapped.rowErrors == [
            RowError(line: 3, column: "s", message: "'caf\\xE9' is not UTF-8 (byte 0xE9 at offset 3); re-encode the file as UTF-8"),
        ])
        #expect(mapped.matrix == Matrix(rows: 1, columns: 2, values: [0, 1]))
    }

    @Test func schemaInferRefusesInvalidUTF8() throws {
        let csv: [UInt8] = Array("id,city\n1,Paris\n2,Orl".utf8) + [0xE9] + Array("ans\n".utf8)
        #expect(throws: DatasetError.csv(path: "c.csv", line: 3, message: "column 'city': 'Orl\\xE9ans' is not UTF-8 (byte 0xE9 at offset 3); re-encode the file as UTF-8")) {
            _ = try SchemaInferrer.infer(CSVSource(name: "c.csv", bytes: csv))
        }
    }

    /// The checker agrees with the standard library's strict decoder on edge cases and on random
    /// byte strings (seeded, so a failure reproduces).
    @Test func utf8CheckAgreesWithTheStandardLibrary() {
        let cases: [[UInt8]] = [
            [], [0x41], [0xC3, 0xA9], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xE0, 0xA0, 0x80],
            [0xED, 0x9F, 0xBF], [0xED, 0xA0, 0x80], [0xF0, 0x8F, 0xBF, 0xBF], [0xF0, 0x90, 0x80, 0x80],
            [0xF4, 0x8F, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xFF], [0xC3],
            [0xE2, 0x82], Array("abcdefgh".utf8) + [0x80], Array("abcdefghijklmnop".utf8) + [0xE2, 0x82, 0xAC],
        ]
        var rng = SplitMix64(seed: 8)
        var random: [[UInt8]] = []
        for _ in 0 ..< 20000 {
            let n = Int(rng.next() % 12)
            // Mostly high bytes, so multi-byte sequences (valid and not) are common.
            random.append((0 ..< n).map { _ in
                let r = rng.next()
                return r % 4 == 0 ? UInt8(truncatingIfNeeded: r >> 8) & 0x7F : 0x80 | UInt8(truncatingIfNeeded: r >> 8)
            })
        }
        for bytes in cases + random {
            let strict = String(validating: bytes, as: UTF8.self) != nil
            let ours = bytes.withUnsafeBufferPointer { UTF8Check.isValid($0) }
            #expect(ours == strict, "\(bytes.map { String($0, radix: 16) })")
        }
    }

    @Test func hugeCellsAreShownCutInMessages() throws {
        let big = String(repeating: "x", count: 5_000_000)
        let (_, report) = try ingest(Array("id,n\n1,\(big)\n".utf8), "id: int, n: int")
        let example = try #require(report.violations.first?.example)
        #expect(example == String(repeating: "x", count: 80) + "… (5000000 bytes)")
    }

    // MARK: - Line endings

    @Test func crOnlyLineEndingsAreNamed() throws {
        let expected = DatasetError.csv(
            path: "data/x.csv", line: 1,
            message: "lines end with CR only (classic Mac line endings); convert the file to LF or CRLF line endings")
        #expect(throws: expected) { _ = try ingest(Array("id,x\r1,2\r3,4\r".utf8), "id: int, x: int") }
        #expect(throws: expected) { _ = try ingest(Array("\"id\",\"x\"\r1,2\r".utf8), "id: int, x: int") }
        #expect(throws: expected) { _ = try SchemaInferrer.infer(CSVSource(name: "data/x.csv", text: "a,b\r1,2\r")) }
        // CRLF, LF and a CRLF inside a quoted header field still read.
        let (table, report) = try ingest(Array("id,x\r\n1,2\r\n3,4".utf8), "id: int, x: int")
        #expect(report.passed && table.rowCount == 2)
        let quoted = try readAll("\"a\r\nb\",c\n1,2\n")
        #expect(quoted.header == ["a\r\nb", "c"])
    }

    // MARK: - Numbers near the largest double

    static func bigColumn(_ values: [Double]) -> ColumnarTable {
        ColumnarTable(
            rowCount: values.count,
            columns: [Column(spec: ColumnSpec(name: "x", type: .float), nulls: values.map { _ in false }, storage: .float(values))],
            lines: Array(2 ..< values.count + 2))
    }

    /// 1e308 ± gave `EncodingError … Double.inf` on stats.json: the sum, the squared deviations,
    /// the histogram width and a quantile gap all overflowed.
    @Test func statisticsOfValuesNearTheLargestDoubleAreFinite() throws {
        let values = (0 ..< 40).map { $0 % 2 == 0 ? -1e308 : 1e308 }
        let stats = DatasetStats.compute(Self.bigColumn(values))
        let x = try #require(stats.columns["x"])
        #expect(x.mean == 0)
        #expect(x.min == -1e308 && x.max == 1e308)
        let std = try #require(x.std)
        #expect(std.isFinite && abs(std - 1e308) <= 1e308 * 1e-15)
        let histogram = try #require(x.histogram)
        #expect(histogram.counts == [20, 0, 0, 0, 0, 0, 0, 0, 0, 20])
        #expect(histogram.edges.allSatisfy { $0.isFinite })
        #expect(zip(histogram.edges, histogram.edges.dropFirst()).allSatisfy { $0 < $1 })
        #expect(x.quantiles?["p50"] == 0)
        #expect(x.quantiles?["p01"] == -1e308 && x.quantiles?["p99"] == 1e308)
        #expect(x.quantiles?.values.allSatisfy { $0.isFinite } == true)
        try withTempDirectory { dir in
            let url = dir.appendingPathComponent("stats.json")
            try stats.write(to: url)
            #expect(try DatasetStats.read(from: url) == stats)
        }
        // All at the top: the mean is the value, the spread only the sum's rounding (as for 1.7).
        let top = try #require(DatasetStats.compute(Self.bigColumn(Array(repeating: 1.7e308, count: 1000))).columns["x"])
        let topMean = try #require(top.mean)
        let topStd = try #require(top.std)
        #expect(abs(topMean - 1.7e308) <= 1.7e308 * 1e-13 && topMean <= 1.7e308)
        #expect(topStd >= 0 && topStd <= 1.7e308 * 1e-13)
        // Drift against such a baseline is finite too.
        let drift = DriftReport.compute(table: Self.bigColumn(values + [0]), baseline: stats, maxPSI: 0.2)
        #expect(drift.entries.map(\.psi).allSatisfy { $0.isFinite })
    }

    /// The last line of defence: a non-finite number on its way into a JSON file names the file
    /// and the field instead of surfacing as `EncodingError.invalidValue … Double.inf`.
    @Test func aNonFiniteNumberInAJSONFileNamesTheFileAndField() throws {
        var stats = DatasetStats.compute(Self.bigColumn([1, 2]))
        stats.columns["x"]?.std = .infinity
        try withTempDirectory { dir in
            let url = dir.appendingPathComponent("stats.json")
            #expect(throws: DatasetError.format(path: url.path, message: "cannot write columns.x.std = inf: JSON numbers must be finite")) {
                try stats.write(to: url)
            }
            #expect(!FileManager.default.fileExists(atPath: url.path))
        }
    }

    /// Wherever the plain two-pass formula does not overflow, the result is the same bits: below
    /// 2^480 nothing is scaled, and above it (1e150) scaling by a power of two is exact.
    @Test func momentsOfOrdinaryDataAreThePlainFormulaExactly() throws {
        var rng = SplitMix64(seed: 3)
        for trial in 0 ..< 200 {
            let n = 1 + Int(rng.next() % 300)
            let magnitude = [1e-300, 1e-5, 1, 1e6, 1e150, 1e-150][trial % 6]
            let values = (0 ..< n).map { _ in (Double(rng.next() % 2_000_001) / 1_000_000 - 1) * magnitude }
            let mean = values.reduce(0, +) / Double(n)
            var ss = 0.0
            for v in values { ss += (v - mean) * (v - mean) }
            let m = try #require(Moments(values))
            #expect(m.mean.bitPattern == mean.bitPattern)
            #expect(m.std.bitPattern == (ss / Double(n)).squareRoot().bitPattern)
        }
    }

    @Test func standardizingValuesNearTheLargestDoubleGivesFiniteFeatures() throws {
        var csv = "x,m,y\n"
        for i in 0 ..< 40 { csv += "\(i % 2 == 0 ? "-1e308" : "1.5e308"),\(i % 2 == 0 ? "-1e308" : "1e308"),\(i % 3 == 0)\n" }
        let schema = try Schema(parsing: "x: float, m: float, y: bool")
        let table = try DatasetIngester.ingestValidated(CSVSource(name: "d.csv", text: csv), schema: schema)
        let file = SchemaFile(schema: schema, options: DatasetOptions())
        let r = try FeatureBuilder.build(
            dataset: table, schemaFile: file,
            spec: try FeatureSpec(options: ["label": "y", "standardize": "x", "impute": "x:mean", "drop": "m"], seed: 1), outputDirectory: nil)
        let step = try #require(r.transform.steps.first)
        #expect(step.center?.isFinite == true && step.scale?.isFinite == true)
        let train = try #require(r.train)
        #expect(train.features.values.allSatisfy { $0.isFinite })
        #expect(train.features.values.allSatisfy { abs($0) < 2 })
        try withTempDirectory { dir in try r.transform.write(to: dir.appendingPathComponent("transform.json")) }
        // minmax over a range wider than the largest double cannot be stored: the column is named.
        #expect(throws: DatasetError.features(message: "minmax: column 'm' spans -1e+308 to 1e+308 in the training rows, a range larger than the largest double; use standardize for this column")) {
            _ = try FeatureBuilder.build(
                dataset: table, schemaFile: file, spec: try FeatureSpec(options: ["label": "y", "minmax": "m", "drop": "x"], seed: 1),
                outputDirectory: nil)
        }
    }
}
