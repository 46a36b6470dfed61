import Foundation
import MLBuildTraining
import Testing
@testable import MLBuildDatasets

/// A transform.json (or the copy inside a model.json) that was edited must be refused with the
/// field at fault before it maps a row: a longer one-hot list used to write past the feature row
/// (index out of range), a shorter or reordered one shifted every later feature silently.
@Suite struct TransformValidationTests {
    static func built(_ options: [String: String] = FeatureTests.options) throws -> FittedTransform {
        let schema = try Schema(parsing: FeatureTests.schemaText)
        let table = try DatasetIngester.ingestValidated(CSVSource(name: "d.csv", text: FeatureTests.csv()), schema: schema)
        return try FeatureBuilder.build(
            dataset: table, schemaFile: SchemaFile(schema: schema, options: DatasetOptions()),
            spec: try FeatureSpec(options: options, seed: 5), outputDirectory: nil
        ).transform
    }

    static func index(_ t: FittedTransform, _ column: String) throws -> Int {
        try #require(t.steps.firstIndex { $0.column == column })
    }

    @Test func everyBuiltTransformIsValid() throws {
        #expect(try Self.built().problems() == [])
        let other = try Self.built([
            "label": "y", "drop": "c", "one_hot": "s", "bucketize": "n:5|20|40", "log1p": "n", "impute": "x:mean, flag:constant=yes",
        ])
        #expect(other.problems() == [])
        #expect(other.steps.map(\.kind) == ["numeric", "buckets", "one_hot", "bool"])
    }

    @Test func editedOneHotListsAreRefusedNamingTheField() throws {
        let t = try Self.built()
        let c = try Self.index(t, "c")
        let s = try Self.index(t, "s")
        func problems(_ edit: (inout FittedTransform) -> Void) -> [String] {
            var copy = t
            edit(&copy)
            return copy.problems()
        }
        // A category column's list must be its declared list, in declared order.
        #expect(problems { $0.steps[c].categories = ["a", "b"] } == [
            "steps[\(c)].categories: ['a', 'b'] differ from the schema's declared categories of 'c' ['a', 'b', 'c']",
        ])
        #expect(problems { $0.steps[c].categories = ["a", "b", "c", "d"] } == [
            "steps[\(c)].categories: ['a', 'b', 'c', 'd'] differ from the schema's declared categories of 'c' ['a', 'b', 'c']",
        ])
        #expect(problems { $0.steps[c].categories = ["b", "a", "c"] } == [
            "steps[\(c)].categories: ['b', 'a', 'c'] differ from the schema's declared categories of 'c' ['a', 'b', 'c']",
        ])
        // A string column's list is free, but must match feature_names name for name.
        #expect(problems { $0.steps[s].categories = ["green"] } == [
            "feature_names: 8 names, but the steps make 7 features (x: 1, n: 1, c: 3, s: 1, flag: 1)",
        ])
        #expect(problems { $0.steps[s].categories = ["red", "green"] } == [
            "feature_names[5]: 's=green', but the steps make 's=red' at position 5",
        ])
        #expect(problems { $0.steps[s].categories = ["red", "red"] } == ["steps[\(s)].categories: 'red' is listed twice"])
        // Editing the schema's list to match is caught by the names.
        #expect(problems {
            $0.schema.columns[3].type = .category(["a", "b"])
            $0.steps[c].categories = ["a", "b"]
        } == ["feature_names: 8 names, but the steps make 7 features (x: 1, n: 1, c: 2, s: 2, flag: 1)"])
    }

    @Test func everyOtherInconsistencyNamesItsField() throws {
        let t = try Self.built()
        let x = try Self.index(t, "x")
        let n = try Self.index(t, "n")
        let flag = try Self.index(t, "flag")
        let cases: [(String, (inout FittedTransform) -> Void)] = [
            ("version: 2 is not supported (this mlbuild reads version 1)", { $0.version = 2 }),
            ("steps[\(x)].kind: unknown kind 'ratio' (expected numeric, bool, one_hot or buckets)", { $0.steps[x].kind = "ratio" }),
            ("steps[\(flag)].kind: 'numeric' applies to int and float columns; 'flag' is bool", { $0.steps[flag].kind = "numeric" }),
            ("steps[\(x)].scale: 0 is not a finite number > 0", { $0.steps[x].scale = 0 }),
            ("steps[\(x)].scale: null is not a finite number > 0", { $0.steps[x].scale = .infinity }),
            ("steps[\(x)].center: not a finite number", { $0.steps[x].center = .nan }),
            ("steps[\(x)].impute_value: not a finite number", { $0.steps[x].imputeValue = -.infinity }),
            ("steps[\(x)].scaling: unknown scaling 'zscore' (expected standardize or minmax)", { $0.steps[x].scaling = "zscore" }),
            ("steps[\(flag)].center, scale: given without scaling", { $0.steps[flag].center = 1; $0.steps[flag].scale = 2 }),
            ("steps[\(n)].column: 'nn' is not in the schema", { $0.steps[n].column = "nn" }),
            ("steps[\(n)].column: 'x' is already transformed by steps[\(x)]", { $0.steps[n].column = "x" }),
            ("steps[\(x)].column: 'id' is an id column, never a feature", { $0.steps[x].column = "id"; $0.steps[x].kind = "one_hot"; $0.steps[x].scaling = nil; $0.steps[x].center = nil; $0.steps[x].scale = nil; $0.steps[x].imputeValue = nil; $0.steps[x].categories = [] }),
            ("label.classes: ['no', 'yes'], but a bool label's classes are ['false', 'true']", { $0.label.classes = ["no", "yes"] }),
            ("label.column: 'z' is not in the schema", { $0.label.column = "z" }),
            ("id_columns[0]: 'x' is not an id column in the schema", { $0.idColumns = ["x"] }),
            ("schema[1].name: 'id' is already schema[0]", { $0.schema.columns[1].name = "id" }),
            ("feature_names[0]: 'xx', but the steps make 'x' at position 0", { $0.featureNames[0] = "xx" }),
        ]
        for (expected, edit) in cases {
            var copy = t
            edit(&copy)
            #expect(copy.problems().first == expected)
        }
        var buckets = try Self.built(["label": "y", "drop": "c, s", "bucketize": "n:5|20", "impute": "x:mean, flag:mode"])
        let b = try Self.index(buckets, "n")
        buckets.steps[b].boundaries = [20, 5]
        #expect(buckets.problems() == ["steps[\(b)].boundaries[1]: 5 is not above boundaries[0] 20 (boundaries must increase)"])
    }

    /// The crash site itself refuses a transform whose steps do not fill the row.
    @Test func mappingWithAnInconsistentTransformThrowsInsteadOfCrashing() throws {
        var t = try Self.built()
        let c = try Self.index(t, "c")
        t.steps[c].categories = ["a", "b", "c", "d"]
        let schema = try Schema(parsing: FeatureTests.schemaText)
        let table = try DatasetIngester.ingestValidated(CSVSource(name: "d.csv", text: FeatureTests.csv()), schema: schema)
        #expect(throws: DatasetError.features(message: "the transform's steps make 9 features but it names 8 (feature_names); the transform is inconsistent")) {
            _ = try t.features(of: table)
        }
        let rows = "id,x,n,c,s,flag\nq,1,2,c,red,yes\n"
        #expect(throws: DatasetError.self) { _ = try RawRowMapper(transform: t).map(source: CSVSource(name: "rows.csv", text: rows)) }
    }

    @Test func readingAnEditedTransformFileNamesTheFileAndField() throws {
        try withTempDirectory { dir in
            let t = try Self.built()
            let url = dir.appendingPathComponent("transform.json")
            var edited = t
            edited.steps[try Self.index(t, "c")].categories = ["a"]
            try edited.write(to: url)
            #expect(throws: DatasetError.format(
                path: url.path,
                message: "invalid transform (edited or corrupted? rebuild it): steps[2].categories: ['a'] differ from the schema's declared categories of 'c' ['a', 'b', 'c']")) {
                _ = try FittedTransform.read(from: url)
            }
            // A field of the wrong type is named by its path.
            var json = try #require(String(data: Data(contentsOf: url), encoding: .utf8))
            json = json.replacingOccurrences(of: "\"kind\": \"bool\"", with: "\"kind\": 7")
            try Data(json.utf8).write(to: url)
            #expect(throws: DatasetError.format(path: url.path, message: "not a valid transform.json: steps[4].kind: expected text")) {
                _ = try FittedTransform.read(from: url)
            }
        }
    }
}

/// `pseudonymize` on a features target: one-hot string columns fitted on tokens, the secret
/// named in the transform; raw rows mapped with the key as the training rows were.
@Suite struct FeaturesPseudonymizeTransformTests {
    static func built(key: [UInt8] = Array("k".utf8)) throws -> (FittedTransform, FeatureMatrix, ColumnarTable, trainRows: [Int]) {
        let schema = try Schema(parsing: FeatureTests.schemaText)
        let table = try DatasetIngester.ingestValidated(CSVSource(name: "d.csv", text: FeatureTests.csv()), schema: schema)
        var options = FeatureTests.options
        options["pseudonymize"] = "s"
        let result = try FeatureBuilder.build(
            dataset: table, schemaFile: SchemaFile(schema: schema, options: DatasetOptions()),
            spec: try FeatureSpec(options: options, seed: 5), outputDirectory: nil, pseudonymizeKey: ("S_KEY", key))
        return (result.transform, try #require(result.train), table, result.trainRows)
    }

    @Test func theCategoriesAreTokensAndRawRowsMapWithTheKey() throws {
        let (transform, train, table, trainRows) = try Self.built()
        #expect(transform.pseudonymized == FittedTransform.Pseudonymized(columns: ["s"], keySecret: "S_KEY"))
        #expect(transform.problems() == [])
        let step = try #require(transform.steps.first { $0.column == "s" })
        let pseudonymizer = Pseudonymizer(columns: ["s"], key: Array("k".utf8))
        guard case .codes(_, let values)? = table.column(named: "s")?.storage else { Issue.record("s is no string column"); return }
        #expect(Set(step.categories ?? []) == Set(values.map(pseudonymizer.token)), "one token per value, no value")
        // The training rows, raw, mapped with the key: the training matrix's rows.
        let mapped = try RawRowMapper(transform: transform, environment: ["S_KEY": "k"]).map(source: CSVSource(name: "d.csv", text: FeatureTests.csv()))
        #expect(mapped.rowErrors.isEmpty)
        let width = train.features.columns
        for (i, row) in trainRows.enumerated() {
            #expect(Array(mapped.matrix.values[row * width ..< (row + 1) * width]) == Array(train.features.values[i * width ..< (i + 1) * width]))
        }
        // Without the key: refused, naming the secret.
        let mapper = RawRowMapper(transform: transform, environment: [:])
        #expect(mapper.missingKey?.contains("set the secret S_KEY") == true)
        #expect(throws: DatasetError.self) { try mapper.map(source: CSVSource(name: "d.csv", text: FeatureTests.csv())) }
    }

    @Test func anEditedRecordIsRefused() throws {
        var (transform, _, _, _) = try Self.built()
        transform.pseudonymized = FittedTransform.Pseudonymized(columns: ["x"], keySecret: "")
        #expect(transform.problems() == ["pseudonymize.key_secret: empty", "pseudonymize.columns[0]: 'x' is not a one-hot string column"])
    }

    @Test func onlyOneHotStringColumnsAndNoConstantImpute() throws {
        let schema = try Schema(parsing: FeatureTests.schemaText)
        var options = FeatureTests.options
        options["pseudonymize"] = "x"
        let spec = try FeatureSpec(options: options, seed: 5)
        #expect(FeatureBuilder.pseudonymizeProblem("x", spec: spec, schema: schema)?.contains("is float, not in one_hot") == true)
        #expect(FeatureBuilder.pseudonymizeProblem("nope", spec: spec, schema: schema)?.contains("does not reach the features' outputs") == true)
        options["impute"] = "s:constant=red"
        #expect(FeatureBuilder.pseudonymizeProblem("s", spec: try FeatureSpec(options: options, seed: 5), schema: schema)?
            .contains("imputes a constant") == true)
    }
}
