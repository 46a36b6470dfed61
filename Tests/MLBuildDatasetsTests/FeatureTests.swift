import Foundation
import MLBuildBasics
import MLBuildTraining
import Testing
@testable import MLBuildDatasets

@Suite struct FeatureTests {
    static let schemaText = "id: string id, x: float nullable, n: int min=0, c: category(a, b, c), s: string, flag: bool nullable, y: bool"

    /// 20 rows; x is null on rows 3 and 7; classes 30% true.
    static func csv() -> String {
        var out = "id,x,n,c,s,flag,y\n"
        for i in 0 ..< 20 {
            let x = (i == 3 || i == 7) ? "" : String(Double(i) * 1.5)
            let c = ["a", "b", "c"][i % 3]
            let s = ["red", "green"][i % 2]
            let flag = i % 5 == 0 ? "" : (i % 2 == 0 ? "yes" : "no")
            out += "r\(i),\(x),\(i * 3),\(c),\(s),\(flag),\(i % 10 < 3 ? "true" : "false")\n"
        }
        return out
    }

    func dataset(_ text: String = FeatureTests.csv()) throws -> (ColumnarTable, SchemaFile) {
        let schema = try Schema(parsing: Self.schemaText)
        return (try DatasetIngester.ingestValidated(CSVSource(name: "d.csv", text: text), schema: schema), SchemaFile(schema: schema, options: DatasetOptions()))
    }

    static let options = [
        "label": "y", "standardize": "x", "minmax": "n", "one_hot": "c, s", "impute": "x:median, flag:mode",
        "split": "0.75", "stratify": "true",
    ]

    @Test func splitIsDeterministicAndStratified() throws {
        let a = DataSplitter.split(count: 1000, fraction: 0.8, seed: 42)
        #expect(a == DataSplitter.split(count: 1000, fraction: 0.8, seed: 42))
        #expect(a.train.count == 800)
        #expect(Set(a.train).isDisjoint(with: a.test))
        #expect(a != DataSplitter.split(count: 1000, fraction: 0.8, seed: 43))
        let strata = (0 ..< 1000).map { Double($0 % 10 < 3 ? 1 : 0) }
        let s = DataSplitter.split(count: 1000, fraction: 0.8, seed: 7, strata: strata)
        #expect(s.train.filter { strata[$0] == 1 }.count == 240)
        #expect(s.test.filter { strata[$0] == 1 }.count == 60)
        // Pinned: the documented algorithm's first indices for seed 42 (SplitMix64 Fisher–Yates).
        var rng = SplitMix64(seed: 42)
        var idx = Array(0 ..< 1000)
        rng.shuffle(&idx)
        #expect(a.train == Array(idx[0 ..< 800]).sorted())
    }

    @Test func transformsFitOnTrainRowsOnly() throws {
        let (table, schemaFile) = try dataset()
        let spec = try FeatureSpec(options: Self.options, seed: 5)
        let r = try FeatureBuilder.build(dataset: table, schemaFile: schemaFile, spec: spec, outputDirectory: nil)
        // Stratified: 6 true, 14 false; round(6 × 0.75) = 5 and round(14 × 0.75) = 11 (halves
        // round away from zero) go to train.
        #expect(r.trainRows.count == 16)
        #expect(r.testRows.count == 4)
        #expect(r.train?.labels?.filter { $0 == 1 }.count == 5)
        let xs = r.trainRows.compactMap { table.columns[1].double(at: $0) }
        let median = ColumnStats.quantile(xs.sorted(), 0.5)
        let x = try #require(r.transform.steps.first { $0.column == "x" })
        #expect(x.imputeValue == median)
        // No leakage: the standardize center is the mean of the TRAIN values (imputed), not all rows.
        let trainX = r.trainRows.map { table.columns[1].double(at: $0) ?? median }
        let trainMean = trainX.reduce(0, +) / Double(trainX.count)
        let allX = (0 ..< 20).map { table.columns[1].double(at: $0) ?? median }
        #expect(x.center == trainMean)
        #expect(x.center != allX.reduce(0, +) / 20)
        let n = try #require(r.transform.steps.first { $0.column == "n" })
        let trainN = r.trainRows.map { Double($0 * 3) }
        #expect(n.center == trainN.min())
        #expect(n.scale == (trainN.max() ?? 0) - (trainN.min() ?? 0))
        #expect(r.transform.featureNames == ["x", "n", "c=a", "c=b", "c=c", "s=green", "s=red", "flag"])
    }

    @Test func bucketizeLog1pImputeValues() throws {
        let (table, schemaFile) = try dataset()
        let spec = try FeatureSpec(
            options: ["label": "y", "drop": "c, s", "bucketize": "n:0|12|24", "log1p": "x", "impute": "x:constant=-0.5, flag:constant=yes"],
            seed: 1)
        let r = try FeatureBuilder.build(dataset: table, schemaFile: schemaFile, spec: spec, outputDirectory: nil)
        #expect(r.transform.featureNames == ["x", "n[-inf,0)", "n[0,12)", "n[12,24)", "n[24,inf)", "flag"])
        let all = try r.transform.features(of: table, rows: [3, 4, 5, 10])
        // Row 3: x null → -0.5 → log1p(-0.5); n = 9 → [0,12); flag "no" → 0.
        #expect(Array(all.values[0 ..< 6]) == [log1p(-0.5), 0, 1, 0, 0, 0])
        // Row 4: x = 6 → log1p(6); n = 12 → [12,24) (lower bound inclusive); flag yes → 1.
        #expect(Array(all.values[6 ..< 12]) == [log1p(6), 0, 0, 1, 0, 1])
        // Row 5: flag null → constant yes → 1; n = 15.
        #expect(Array(all.values[12 ..< 18]) == [log1p(7.5), 0, 0, 1, 0, 1])
        // Row 10: n = 30 → last bucket.
        #expect(Array(all.values[18 ..< 24]) == [log1p(15), 0, 0, 0, 1, 1])
        // Mean and mode imputes.
        let spec2 = try FeatureSpec(options: ["label": "y", "drop": "c, s", "impute": "x:mean, flag:mode", "split": "0.5"], seed: 3)
        let r2 = try FeatureBuilder.build(dataset: table, schemaFile: schemaFile, spec: spec2, outputDirectory: nil)
        let xs = r2.trainRows.compactMap { table.columns[1].double(at: $0) }
        #expect(r2.transform.steps[0].imputeValue == xs.reduce(0, +) / Double(xs.count))
        let flags = r2.trainRows.compactMap { table.columns[5].double(at: $0) }
        let ones = flags.filter { $0 == 1 }.count
        #expect(r2.transform.steps[2].imputeValue == (ones > flags.count - ones ? 1 : 0))
    }

    @Test func nullsWithoutImputeAndCategoriesWithoutOneHotAreClearErrors() throws {
        let (table, schemaFile) = try dataset()
        #expect(throws: DatasetError.features(message: "features: column 'c' is a category column: list it in one_hot or drop; column 's' is a string column: list it in one_hot or drop")) {
            _ = try FeatureBuilder.build(dataset: table, schemaFile: schemaFile, spec: try FeatureSpec(options: ["label": "y"], seed: 1), outputDirectory: nil)
        }
        #expect(throws: DatasetError.features(message: "features: column 'x' has 2 null values (lines 5, 9) and no impute; add `impute = x:median` (or mean/mode/constant=VALUE); column 'flag' has 4 null values (lines 2, 7, 12, 17) and no impute; add `impute = flag:mode` (or mean/mode/constant=VALUE)")) {
            _ = try FeatureBuilder.build(dataset: table, schemaFile: schemaFile, spec: try FeatureSpec(options: ["label": "y", "drop": "c, s"], seed: 1), outputDirectory: nil)
        }
        #expect(throws: DatasetError.option(key: "bucketize", offset: 7, message: "'n:5|1': boundaries must increase strictly")) {
            _ = try FeatureSpec(options: ["label": "y", "bucketize": "x:1|2, n:5|1"], seed: 1)
        }
    }

    @Test func unknownCategoryMapsToZeros() throws {
        let (table, schemaFile) = try dataset()
        let r = try FeatureBuilder.build(
            dataset: table, schemaFile: schemaFile, spec: try FeatureSpec(options: Self.options, seed: 5), outputDirectory: nil)
        let mapper = RawRowMapper(transform: r.transform)
        let m = try mapper.map(source: CSVSource(name: "p.csv", text: "id,x,n,c,s,flag\nq1,3,6,b,blue,yes\nq2,x,6,b,red,yes\nq3,3,-1,d,red,\n"))
        // s=blue was never seen in training: both s columns are 0. y is absent: fine.
        let names = r.transform.featureNames
        let row = Array(m.matrix.values[0 ..< names.count])
        #expect(row[names.firstIndex(of: "s=green") ?? -1] == 0)
        #expect(row[names.firstIndex(of: "s=red") ?? -1] == 0)
        #expect(row[names.firstIndex(of: "c=b") ?? -1] == 1)
        #expect(m.ids == ["q1"])
        #expect(m.lines == [2])
        #expect(m.rowErrors.map(\.description) == [
            "line 3: column 'x': type float: 'x' is not a finite decimal number",
            "line 4: column 'c': category(a, b, c): 'd' is not a declared category",
            "line 4: column 'n': min=0: -1 is below the minimum",
        ])
    }

    @Test func rawRowMappingReproducesTheTestMatrix() throws {
        try withTempDirectory { dir in
            let text = Self.csv()
            let (table, schemaFile) = try dataset(text)
            let out = dir.appendingPathComponent("features")
            let r = try FeatureBuilder.build(
                dataset: table, schemaFile: schemaFile, spec: try FeatureSpec(options: Self.options, seed: 11), outputDirectory: out)
            #expect(r.outputs == ["feature_names.json", "split.json", "test.bin", "train.bin", "transform.json"])
            // Write the raw test rows (by their CSV lines) to a new file without the label.
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let testLines = r.testRows.map { table.lines[$0] }
            var raw = lines[0] + "\n"
            for l in testLines { raw += lines[l - 1] + "\n" }
            let url = dir.appendingPathComponent("raw.csv")
            try Data(raw.utf8).write(to: url)
            let mapper = try RawRowMapper(transformFile: out.appendingPathComponent("transform.json"))
            let mapped = try mapper.map(csv: url)
            let saved = try FeatureMatrix.read(from: out.appendingPathComponent("test.bin"))
            #expect(mapped.rowErrors.isEmpty)
            #expect(mapped.matrix == saved.features)
            // The streamed files hold exactly the matrices built in memory.
            let inMemory = try FeatureBuilder.build(
                dataset: table, schemaFile: schemaFile, spec: try FeatureSpec(options: Self.options, seed: 11), outputDirectory: nil)
            #expect(saved == inMemory.test)
            #expect(try FeatureMatrix.read(from: out.appendingPathComponent("train.bin")) == inMemory.train)
            #expect(r.train == nil && r.test == nil, "written matrices are not kept in memory")
            #expect(mapped.ids == r.testRows.map { "r\($0)" })
            let names = try JSONDecoder().decode([String].self, from: Data(contentsOf: out.appendingPathComponent("feature_names.json")))
            #expect(names == r.transform.featureNames)
            let split = try JSONDecoder().decode([String: JSONValue].self, from: Data(contentsOf: out.appendingPathComponent("split.json")))
            #expect(split["test_rows"] == .array(r.testRows.map { .number(Double($0)) }))
            #expect(split["test_lines"] == .array(testLines.map { .number(Double($0)) }))
        }
    }

    @Test func holdoutDatasetIsTheTestSet() throws {
        let (table, schemaFile) = try dataset()
        let holdoutText = "id,x,n,c,s,flag,y\nh1,1,3,a,red,yes,true\nh2,,6,c,green,no,false\n"
        let (holdout, _) = try dataset(holdoutText)
        var options = Self.options
        options["split"] = nil
        options["stratify"] = nil
        let spec = try FeatureSpec(options: options, seed: 1, hasHoldout: true)
        let r = try FeatureBuilder.build(dataset: table, schemaFile: schemaFile, holdout: holdout, spec: spec, outputDirectory: nil)
        #expect(r.trainRows == Array(0 ..< 20))
        #expect(r.testRows == [0, 1])
        #expect(r.test?.labels == [1, 0])
        #expect(throws: DatasetError.option(key: "split", offset: nil, message: "give either `split` or `test = dataset:OTHER`, not both")) {
            _ = try FeatureSpec(options: Self.options, seed: 1, hasHoldout: true)
        }
    }

    @Test func transformJSONRoundTrips() throws {
        try withTempDirectory { dir in
            let (table, schemaFile) = try dataset()
            let r = try FeatureBuilder.build(
                dataset: table, schemaFile: schemaFile, spec: try FeatureSpec(options: Self.options, seed: 2), outputDirectory: dir)
            let back = try FittedTransform.read(from: dir.appendingPathComponent("transform.json"))
            #expect(back == r.transform)
            let bytes = try Data(contentsOf: dir.appendingPathComponent("transform.json"))
            #expect(try CanonicalJSON.encode(back) == bytes)
        }
    }
    /// 9,000 rows (five 2,048-row blocks, the last ragged) built on 1, 2 and 8 threads: the
    /// columns are fitted and the matrices filled on the budget's threads, and every output
    /// file must be byte-identical; a null without impute in two blocks is reported the same
    /// way (the serial error) on every thread count.
    @Test func featuresAreTheSameBytesOnOneTwoAndEightThreads() async throws {
        var text = "id,x,n,c,s,flag,y\n"
        for i in 0 ..< 9_000 {
            let x = i % 97 == 0 ? "" : String(Double(i % 1_000) * 0.37 - 50)
            let flag = i % 11 == 0 ? "" : (i % 3 == 0 ? "yes" : "no")
            text += "r\(i),\(x),\(i % 500),\(["a", "b", "c"][i % 3]),\(["red", "green", "blue"][i % 7 % 3]),\(flag),\(i % 10 < 4 ? "true" : "false")\n"
        }
        let (table, schemaFile) = try dataset(text)
        func build(threads: Int, options: [String: String]) async throws -> [String: Data] {
            try await WorkBudget(threads: threads).run {
                try withTempDirectory { dir in
                    let out = dir.appendingPathComponent("features")
                    let r = try FeatureBuilder.build(
                        dataset: table, schemaFile: schemaFile, spec: try FeatureSpec(options: options, seed: 3), outputDirectory: out)
                    var files: [String: Data] = [:]
                    for name in r.outputs { files[name] = try Data(contentsOf: out.appendingPathComponent(name)) }
                    return files
                }
            }
        }
        let options = Self.options.merging(["log1p": "n", "minmax": ""]) { _, new in new }.filter { !$0.value.isEmpty }
        let one = try await build(threads: 1, options: options)
        #expect(one.count == 5)
        #expect((one["train.bin"]?.count ?? 0) > 9_000 * 8)
        for threads in [2, 8] {
            #expect(try await build(threads: threads, options: options) == one, "\(threads) threads")
        }
        /// The error of a build that must fail, on 1, 2 and 8 threads.
        func failures(_ options: [String: String]) async -> [String] {
            var messages: [String] = []
            for threads in [1, 2, 8] {
                do {
                    _ = try await build(threads: threads, options: options)
                    messages.append("built")
                } catch {
                    messages.append("\(error)")
                }
            }
            return messages
        }
        // Without an impute for x: its nulls (every 97th row, in every block) are one message.
        var noImpute = options
        noImpute["impute"] = "flag:mode"
        let nulls = await failures(noImpute)
        #expect(Set(nulls).count == 1)
        #expect(nulls.first?.contains("column 'x' has 93 null values") == true, "\(nulls)")
        // log1p of x, which goes down to -50: the first bad row in row order, on every count.
        var badLog = options
        badLog["log1p"] = "x"
        let logs = await failures(badLog)
        #expect(Set(logs).count == 1)
        #expect(logs.first?.contains("log1p") == true, "\(logs)")
    }

    /// split.json is laid out by hand (`SplitFile`); it must be the generic canonical JSON of
    /// the same document, byte for byte, in every shape it takes.
    @Test func splitFileBytesAreTheCanonicalJSON() {
        let cases = [
            SplitFile(seed: 42, split: 0.8, stratify: true, trainRows: [0, 2, 3, 9, 10, 99, 1_000_000, 123_456_789_012],
                      testRows: [1, 4], testLines: [3, 6]),
            SplitFile(seed: .max, split: nil, stratify: false, trainRows: Array(0 ..< 50), testRows: [], testLines: []),
            SplitFile(seed: 0, split: 0.75, stratify: false, trainRows: [], testRows: [7], testLines: [9_007_199_254_740_993]),
        ]
        for file in cases {
            #expect(file.bytes() == Array(CanonicalJSON.serialize(file.json)), "\(file)")
        }
    }
    /// The matrices are streamed to their files; a test matrix that fails after train.bin was
    /// streamed (log1p of a holdout value below -1, which the fit on the training rows never
    /// sees) must leave every output of the previous build as it was, with no temp file.
    @Test func aMatrixThatFailsLeavesEveryOutputAsItWas() throws {
        try withTempDirectory { dir in
            let (table, schemaFile) = try dataset()
            var options = Self.options
            options["split"] = nil
            options["stratify"] = nil
            options["minmax"] = nil
            options["log1p"] = "n"
            let spec = try FeatureSpec(options: options, seed: 1, hasHoldout: true)
            let good = "id,x,n,c,s,flag,y\nh1,1,3,a,red,yes,true\nh2,2,6,c,green,no,false\n"
            let bad = "id,x,n,c,s,flag,y\nh1,1,3,a,red,yes,true\nh2,2,-6,c,green,no,false\n"
            let out = dir.appendingPathComponent("features")
            let r = try FeatureBuilder.build(dataset: table, schemaFile: schemaFile, holdout: try dataset(good).0, spec: spec, outputDirectory: out)
            func files() throws -> [String: Data] {
                var all: [String: Data] = [:]
                for name in try FileManager.default.contentsOfDirectory(atPath: out.path) {
                    all[name] = try Data(contentsOf: out.appendingPathComponent(name))
                }
                return all
            }
            let before = try files()
            #expect(before.keys.sorted() == r.outputs)
            // The holdout's n is not range-checked here: the schema of `dataset()` says min=0,
            // so the bad table is built with a schema that allows it.
            let loose = try Schema(parsing: Self.schemaText.replacingOccurrences(of: "n: int min=0", with: "n: int"))
            let badTable = try DatasetIngester.ingestValidated(CSVSource(name: "h.csv", text: bad), schema: loose)
            do {
                _ = try FeatureBuilder.build(dataset: table, schemaFile: schemaFile, holdout: badTable, spec: spec, outputDirectory: out)
                Issue.record("built a test matrix with log1p of -6")
            } catch {
                #expect("\(error)".contains("log1p"), "\(error)")
            }
            #expect(try files() == before)
        }
    }
}
