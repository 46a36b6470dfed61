import Foundation
import MLBuildDatasets
import MLBuildTestSupport
import Testing

/// End to end, with the real binary: an edited model.json, hostile rows for `predict`, and
/// hostile CSV sources for `dataset` all fail with a message naming the file and what is at fault
/// (exit 1, nothing written), and numbers near the largest double build.
@Suite("Hostile model.json, predict input and CSV sources")
struct MLHostileInputTests {
    static let modelPath = "build/model/lr/model.json"

    /// A built workspace with model:lr, and the rows to score.
    static func builtModel() throws -> MLBuildWorkspace {
        let ws = try MLFixtures.workspace()
        let build = try ws.build(["model:lr"])
        #expect(build.result.status == 0, "\(build.result.output)")
        try ws.write("rows.csv", "id,amount,plan,score,active\nN1,3.5,plus,1.25,yes\nN2,9,pro,,no\n")
        return ws
    }

    /// Rewrites model.json through `edit` (a JSON tree, so every other byte stays as built).
    static func edit(_ ws: MLBuildWorkspace, _ path: String = modelPath, _ edit: (inout [String: JSONValue]) throws -> Void) throws {
        let url = URL(fileURLWithPath: "\(ws.path)/\(path)")
        guard case .object(var root) = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: url)) else {
            Issue.record("model.json is not an object")
            return
        }
        try edit(&root)
        try CanonicalJSON.serialize(.object(root)).write(to: url)
    }

    /// `value[path...]` replaced by `new`; the path's keys are object keys or array indices.
    static func replace(_ value: JSONValue, _ path: ArraySlice<String>, with new: JSONValue) -> JSONValue {
        guard let key = path.first else { return new }
        switch value {
        case .object(var members):
            members[key] = replace(members[key] ?? .null, path.dropFirst(), with: new)
            return .object(members)
        case .array(var items):
            guard let i = Int(key), items.indices.contains(i) else { return value }
            items[i] = replace(items[i], path.dropFirst(), with: new)
            return .array(items)
        default:
            return value
        }
    }

    static func strings(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }

    /// The issue's example: the one-hot list of a category column edited in model.json. Removing
    /// or reordering a category scored every row silently wrong (features shifted); adding one
    /// crashed predict with "Index out of range".
    @Test(arguments: [["basic", "plus"], ["basic", "plus", "pro", "enterprise"], ["plus", "basic", "pro"]])
    func anEditedOneHotListIsRefusedNamingTheField(categories: [String]) throws {
        let ws = try Self.builtModel()
        let good = try ws.run(["predict", "model:lr", "--input", "rows.csv"])
        #expect(good.status == 0, "\(good.stderr)")
        try Self.edit(ws) { root in
            // steps: amount, plan, score, active (schema order, id and label left out).
            root["transform"] = Self.replace(root["transform"] ?? .null, ["steps", "1", "categories"], with: Self.strings(categories))
        }
        let run = try ws.run(["predict", "model:lr", "--input", "rows.csv", "--output", "preds.csv"])
        #expect(run.status == 1)
        #expect(run.stdout.isEmpty)
        let list = categories.map { "'\($0)'" }.joined(separator: ", ")
        #expect(run.stderr == """
            error: \(Self.modelPath): invalid model.json (edited or corrupted? rebuild the model, or use a known-good copy):
              transform.steps[1].categories: [\(list)] differ from the schema's declared categories of 'plan' ['basic', 'plus', 'pro']

            """, "\(run.stderr)")
        #expect(!ws.exists("preds.csv"))
        // Rebuilding restores the model (the build notices the edited output) and predict works again.
        #expect(try ws.build(["model:lr"]).result.status == 0)
        #expect(try ws.run(["predict", "model:lr", "--input", "rows.csv"]).stdout == good.stdout)
    }

    /// Edits the transform does not catch on its own: its width against the model's, and the
    /// descriptive sections predict never read (so an edit there used to pass silently).
    @Test func everyPartOfModelJSONMustAgree() throws {
        let ws = try Self.builtModel()
        try FileManager.default.copyItem(atPath: "\(ws.path)/\(Self.modelPath)", toPath: "\(ws.path)/good.json")
        let cases: [(String, (inout [String: JSONValue]) -> Void)] = [
            ("output.classes[0]: \"no\", but the model's transform and task make \"false\"", { root in
                root["output"] = Self.replace(root["output"] ?? .null, ["classes"], with: Self.strings(["no", "yes"]))
            }),
            ("input.columns[2].categories[2]: \"premium\", but the model's transform and task make \"pro\"", { root in
                root["input"] = Self.replace(root["input"] ?? .null, ["columns", "2", "categories", "2"], with: .string("premium"))
            }),
            ("task: 'regression', but the logistic_regression model is a classification model", { root in
                root["task"] = .string("regression")
            }),
            ("transform.feature_names[3]: 'plan=enterprise', but the steps make 'plan=pro' at position 3", { root in
                root["transform"] = Self.replace(root["transform"] ?? .null, ["feature_names", "3"], with: .string("plan=enterprise"))
            }),
            ("transform.steps[0].scale: 0 is not a finite number > 0", { root in
                root["transform"] = Self.replace(root["transform"] ?? .null, ["steps", "0", "scale"], with: .number(0))
            }),
            ("model: the model reads 5 features but transform.feature_names lists 6", { root in
                guard case .object(let model)? = root["model"], case .object(let inner)? = model["model"],
                      case .array(let coefficients)? = inner["coefficients"] else { return }
                root["model"] = Self.replace(root["model"] ?? .null, ["model", "coefficients"], with: .array(Array(coefficients.dropLast())))
            }),
            ("model.model.coefficients[1]: expected a number", { root in
                root["model"] = Self.replace(root["model"] ?? .null, ["model", "coefficients", "1"], with: .string("NaN"))
            }),
            ("transform.steps[1]: missing field 'kind'", { root in
                guard case .object(let transform)? = root["transform"], case .array(let steps)? = transform["steps"],
                      case .object(var step) = steps[1] else { return }
                step["kind"] = nil
                root["transform"] = Self.replace(root["transform"] ?? .null, ["steps", "1"], with: .object(step))
            }),
        ]
        for (expected, change) in cases {
            try? FileManager.default.removeItem(atPath: "\(ws.path)/edited.json")
            try FileManager.default.copyItem(atPath: "\(ws.path)/good.json", toPath: "\(ws.path)/edited.json")
            try Self.edit(ws, "edited.json", change)
            let run = try ws.run(["predict", "edited.json", "--input", "rows.csv"])
            #expect(run.status == 1)
            #expect(run.stdout.isEmpty)
            #expect(run.stderr.hasPrefix("error: edited.json: invalid model.json (edited or corrupted? rebuild the model, or use a known-good copy):\n  \(expected)\n"), "\(expected)\n\(run.stderr)")
        }
        // Another format version, and a file that is not a model at all.
        try Self.edit(ws, "edited.json") { $0["format_version"] = .number(2) }
        #expect(try ws.run(["predict", "edited.json", "--input", "rows.csv"]).stderr
            == "error: edited.json: model.json format version 2 is not supported (this mlbuild reads version 1)\n")
        try ws.write("edited.json", "{\"format\": \"mlbuild-model\", \"format_version\": 1,\n \"task\": [}")
        let notJSON = try ws.run(["predict", "edited.json", "--input", "rows.csv"])
        #expect(notJSON.status == 1)
        #expect(notJSON.stderr.hasPrefix("error: edited.json: not an mlbuild model.json: not valid JSON"), "\(notJSON.stderr)")
    }

    /// Rows that are not what the model reads: each is a clear error with its line and column,
    /// exit 1, nothing written; no crash, no replacement characters, no megabyte messages.
    @Test func hostilePredictInputFailsClearly() throws {
        let ws = try Self.builtModel()
        func predict(_ csv: [UInt8]) throws -> ProcessResult {
            try Data(csv).write(to: URL(fileURLWithPath: "\(ws.path)/in.csv"))
            let run = try ws.run(["predict", "model:lr", "--input", "in.csv", "--output", "preds.csv"])
            #expect(run.status == 1, "\(run.output)")
            #expect(run.stdout.isEmpty)
            #expect(!ws.exists("preds.csv"))
            return run
        }
        let header = "id,amount,plan,score,active\n"
        // Wrong columns.
        #expect(try predict(Array("id,amount,plan,scor,active\nN1,1,plus,2,yes\n".utf8)).stderr
            == "error: in.csv: columns not declared in the schema: 'scor'; declared columns missing from the file: 'score'\n")
        // NaN and infinity spellings are not numbers.
        let nan = try predict(Array((header + "N1,NaN,plus,1,yes\nN2,1,plus,inf,yes\nN3,-Infinity,plus,1,yes\nN4,1e999,plus,1,yes\n").utf8))
        #expect(nan.stderr == """
            error: in.csv: 4 rows break the model's input schema; nothing was scored:
              in.csv:2: column 'amount': type float: 'NaN' is not a finite decimal number
              in.csv:3: column 'score': type float: 'inf' is not a finite decimal number
              in.csv:4: column 'amount': type float: '-Infinity' is not a finite decimal number
              in.csv:5: column 'amount': type float: '1e999' is not a finite decimal number

            """, "\(nan.stderr)")
        // Invalid UTF-8 in the id column (a string id): refused, not printed as U+FFFD.
        let latin1 = try predict(Array(header.utf8) + Array("N".utf8) + [0xE9] + Array(",1,plus,1,yes\n".utf8))
        #expect(latin1.stderr == """
            error: in.csv: 1 row breaks the model's input schema; nothing was scored:
              in.csv:2: column 'id': 'N\\xE9' is not UTF-8 (byte 0xE9 at offset 1); re-encode the file as UTF-8

            """, "\(latin1.stderr)")
        // A 5 MB cell is named, not echoed.
        let huge = try predict(Array((header + "N1,1,\(String(repeating: "p", count: 5_000_000)),1,yes\n").utf8))
        #expect(huge.stderr == """
            error: in.csv: 1 row breaks the model's input schema; nothing was scored:
              in.csv:2: column 'plan': category(basic, plus, pro): '\(String(repeating: "p", count: 80))… (5000000 bytes)' is not a declared category

            """, "\(huge.stderr.prefix(500))")
        // Classic Mac line endings.
        #expect(try predict(Array("id,amount,plan,score,active\rN1,1,plus,2,yes\r".utf8)).stderr
            == "error: in.csv:1: lines end with CR only (classic Mac line endings); convert the file to LF or CRLF line endings\n")
    }

    @Test func datasetSourcesWithBadEncodingOrLineEndingsAreNamed() throws {
        let ws = try MLBuildWorkspace(mlfile: """
            dataset latin
                source = data/latin.csv
                schema = id: int id, city: string unique

            dataset mac
                source = data/mac.csv
                schema = id: int id, city: string
            """)
        try FileManager.default.createDirectory(atPath: "\(ws.path)/data", withIntermediateDirectories: true)
        try Data(Array("id,city\n1,Orl".utf8) + [0xE9] + Array("ans\n2,Orl".utf8) + [0xE8] + Array("ans\n".utf8))
            .write(to: URL(fileURLWithPath: "\(ws.path)/data/latin.csv"))
        try ws.write("data/mac.csv", "id,city\r1,Paris\r2,Lyon\r")
        let run = try ws.run(["-k", "dataset:latin", "dataset:mac"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("""
            error: dataset:latin: data/latin.csv: validation failed, 1 rule violated:
              column 'city': UTF-8 text violated: 2 rows are not valid UTF-8 (mlbuild reads CSV as UTF-8: re-encode the file, e.g. with iconv -f LATIN1 -t UTF-8) (lines 2, 3; first value 'Orl\\xE9ans')
            """), "\(run.stderr)")
        #expect(run.stderr.contains(
            "error: dataset:mac: data/mac.csv:1: lines end with CR only (classic Mac line endings); convert the file to LF or CRLF line endings"),
            "\(run.stderr)")
        #expect(!ws.exists("build/dataset/latin/data.bin"))
    }

    /// A float column of ±1e308 failed with a raw `EncodingError … Double.inf` on stats.json; now
    /// the dataset, standardized features and a model build, and every statistic is finite.
    @Test func valuesNearTheLargestDoubleBuild() throws {
        var csv = "id,x,label\n"
        for i in 0 ..< 60 { csv += "\(i),\(i % 2 == 0 ? "-1e308" : "1.2e308"),\(i % 3 == 0 ? "yes" : "no")\n" }
        let ws = try MLBuildWorkspace(mlfile: """
            dataset big
                source = data/big.csv
                schema = id: int id, x: float, label: bool

            features big
                dataset = dataset:big
                label = label
                standardize = x

            model big
                features = features:big
                algorithm = logistic_regression
            """)
        try ws.write("data/big.csv", csv)
        let run = try ws.build(["model:big"])
        #expect(run.result.status == 0, "\(run.result.output)")
        let stats = try DatasetStats.read(from: URL(fileURLWithPath: "\(ws.path)/build/dataset/big/stats.json"))
        let x = try #require(stats.columns["x"])
        #expect(x.min == -1e308 && x.max == 1.2e308)
        #expect([x.mean, x.std].allSatisfy { $0?.isFinite == true })
        #expect(x.histogram?.edges.allSatisfy { $0.isFinite } == true)
        #expect(x.histogram?.counts == [30, 0, 0, 0, 0, 0, 0, 0, 0, 30])
        try ws.write("rows.csv", "id,x\n7,1.2e308\n8,-1e308\n")
        let predict = try ws.run(["predict", "model:big", "--input", "rows.csv"])
        #expect(predict.status == 0, "\(predict.stderr)")
        #expect(predict.stdout.hasPrefix("id,prediction,probability\n7,"))
    }
}
