import Foundation
import MLBuildTestSupport
import Testing

/// `pii` schema columns through the real binary (issue 17, part 1): a pii column is refused as a
/// feature at its Mlfile line and column, and no raw value reaches any output but the dataset's
/// own data.bin — not stats.json, drift.json, the features or the model, the events, the console,
/// the run history or the report.
@Suite("pii columns: values stay in data.bin")
struct PIIColumnTests {
    static let schema = "id: string id unique pii, email: string pii, amount: float min=0, plan: category(basic, plus, pro), "
        + "score: float nullable, active: bool, label: bool"

    /// MLFixtures' rows with a distinctive customer id and an e-mail address per row.
    static func csv(rows: Int, start: Int = 0) -> String {
        let lines = MLFixtures.csv(rows: rows, start: start).split(separator: "\n")
        var out = "id,email," + lines[0].split(separator: ",").dropFirst().joined(separator: ",") + "\n"
        for (i, line) in lines.dropFirst().enumerated() {
            let r = start + i
            out += "\(id(r)),\(email(r))," + line.split(separator: ",", omittingEmptySubsequences: false).dropFirst().joined(separator: ",") + "\n"
        }
        return out
    }

    static func id(_ r: Int) -> String { "cust-\(String(format: "%06d", r * 7919 % 1_000_003))-zq" }
    static func email(_ r: Int) -> String { "person.\(r * 31 % 997)x\(r)@mail-\(r % 13).example.com" }

    /// Each regular file under `root` (but those `skip` names by their path relative to it and
    /// their bytes) that holds one of `values`, with the first it holds; and how many files were
    /// searched.
    static func filesHolding(_ values: [String], under root: URL, skip: (String, Data) -> Bool = { _, _ in false })
        throws -> (searched: Int, holding: [(file: String, value: String)]) {
        var searched = 0
        var holding: [(file: String, value: String)] = []
        let root = root.standardizedFileURL
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = enumerator?.nextObject() as? URL {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            let relative = String(url.standardizedFileURL.path.dropFirst(root.path.count + 1))
            let bytes = try Data(contentsOf: url)
            if skip(relative, bytes) { continue }
            searched += 1
            let text = String(decoding: bytes, as: UTF8.self)
            if let value = values.first(where: { text.contains($0) }) { holding.append((relative, value)) }
        }
        return (searched, holding)
    }

    static func mlfile(drop: String = "drop = email", extra: String = "") -> String {
        """
        seed = 7

        dataset rows
            source = data/rows.csv
            schema = \(schema)

        dataset recent
            source = data/recent.csv
            schema = \(schema)
            baseline = dataset:rows

        features rows
            dataset = dataset:rows
            label = label
            \(drop)
            one_hot = plan
            standardize = amount
            impute = score:median
            split = 0.75
            \(extra)

        model lr
            features = features:rows
            algorithm = logistic_regression
            gate = auc >= 0.6
        """
    }

    @Test func aPIIColumnThatWouldBeAFeatureIsAnMlfileErrorAtItsPlace() throws {
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile(drop: "", extra: "allow_pii = amount"))
        try ws.write("data/rows.csv", Self.csv(rows: 40))
        try ws.write("data/recent.csv", Self.csv(rows: 40, start: 40))
        let run = try ws.run(["model:lr"])
        #expect(run.status == 2)
        let headlines = run.stderr.split(separator: "\n").filter { $0.hasPrefix("Mlfile:") }
        #expect(headlines == [
            "Mlfile:13:15: error: dataset:rows: column 'email' is pii and would be a feature: drop it, or allow it with `allow_pii = email`",
            "Mlfile:20:17: error: 'allow_pii': column 'amount' is not marked pii in the schema of dataset:rows",
        ], "\(run.stderr)")
        #expect(!ws.exists("build"))
    }

    @Test func noRawValueLeavesDataBin() throws {
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile())
        let rows = Self.csv(rows: 300)
        try ws.write("data/rows.csv", rows)
        try ws.write("data/recent.csv", Self.csv(rows: 120, start: 300))
        let build = try ws.build(["model:lr", "dataset:recent"])
        #expect(build.result.status == 0, "\(build.result.stderr)")
        let report = try ws.run(["report", "-o", "report.html"])
        #expect(report.status == 0, "\(report.stderr)")
        let history = try ws.run(["runs", "--json"])
        #expect(history.status == 0, "\(history.stderr)")
        // The data.bin files, the only outputs that may hold the values (read now: a failed
        // dataset publishes nothing).
        let dataBins = try ["build/dataset/rows/data.bin", "build/dataset/recent/data.bin"].map {
            try Data(contentsOf: URL(fileURLWithPath: "\(ws.path)/\($0)"))
        }
        // A failing validation: a duplicated id. Its message names the rule, not the value.
        let duplicated = Self.csv(rows: 120, start: 300) + "\(Self.id(301)),\(Self.email(301)),1.0,basic,2.0,yes,no\n"
        try ws.write("data/recent.csv", duplicated)
        let failing = try ws.build(["dataset:recent"])
        #expect(failing.result.status != 0)
        #expect(failing.result.stderr.contains("column 'id': unique violated by 1 row"), "\(failing.result.stderr)")
        #expect(failing.result.stderr.contains("first value '<pii>'"), "\(failing.result.stderr)")

        let raw = (0 ..< 421).flatMap { [Self.id($0), Self.email($0)] }
        // Every file of the workspace (outputs, the cache, .mlbuild's history, the report), but
        // the sources and the data.bin files (and the cache's copies of them).
        let (searched, holding) = try Self.filesHolding(raw, under: URL(fileURLWithPath: ws.path)) { path, bytes in
            path.hasPrefix("data/") || dataBins.contains(bytes)
        }
        for (file, value) in holding { Issue.record("\(file) holds the raw value '\(value)'") }
        #expect(searched > 20)
        for output in [build.result.stdout, build.result.stderr, build.eventsText, report.stdout, report.stderr, history.stdout,
                       failing.result.stdout, failing.result.stderr, failing.eventsText] {
            for value in raw { #expect(!output.contains(value), "'\(value)' printed") }
        }
        // The statistics of the pii columns are counts only.
        let stats = try MLFixtures.json(ws, "build/dataset/rows/stats.json")
        let columns = try #require(stats["columns"] as? [String: Any])
        #expect((columns["email"] as? [String: Any]).map { Set($0.keys) } == ["count", "nulls", "type"])
        #expect((columns["id"] as? [String: Any]).map { Set($0.keys) } == ["count", "nulls", "type"])
        #expect(try String(contentsOfFile: "\(ws.path)/build/dataset/rows/data.bin", encoding: .isoLatin1).contains(Self.email(5)))
    }
}

/// `pseudonymize` on a dataset target, through the real binary.
@Suite("pseudonymize: HMAC tokens instead of values, the key from a secret")
struct PseudonymizeTests {
    static func mlfile(key: String = "${secret:PII_KEY}", columns: String = "id, email") -> String {
        """
        seed = 7

        dataset rows
            source = data/rows.csv
            schema = \(PIIColumnTests.schema)
            pseudonymize = \(columns)
            pseudonymize_key = \(key)

        features rows
            dataset = dataset:rows
            label = label
            drop = email
            one_hot = plan
            standardize = amount
            impute = score:median

        model lr
            features = features:rows
            algorithm = logistic_regression
        """
    }

    @Test func noRawValueAndNoKeyAnywhereNotEvenInDataBin() throws {
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile())
        try ws.write("data/rows.csv", PIIColumnTests.csv(rows: 200))
        let key = "k3y-for-the-pii-test-7f1d"
        let build = try ws.build(["model:lr"], environment: ["PII_KEY": key])
        #expect(build.result.status == 0, "\(build.result.stderr)")
        let history = try ws.run(["runs", "--json"])
        let raw = (0 ..< 200).flatMap { [PIIColumnTests.id($0), PIIColumnTests.email($0)] }
        let (searched, holding) = try PIIColumnTests.filesHolding(raw + [key], under: URL(fileURLWithPath: ws.path)) { path, _ in
            path.hasPrefix("data/")
        }
        for (file, value) in holding { Issue.record("\(file) holds '\(value)'") }
        #expect(searched > 15)
        for output in [build.result.stdout, build.result.stderr, build.eventsText, history.stdout] {
            #expect(!output.contains(key))
            for value in raw { #expect(!output.contains(value), "'\(value)' printed") }
        }
        // data.bin holds 64-hex tokens, one per distinct value (ids stay unique).
        let bin = try String(contentsOfFile: "\(ws.path)/build/dataset/rows/data.bin", encoding: .isoLatin1)
        let tokens = Set(bin.matches(of: /[0-9a-f]{64}/).map { String($0.output) })
        #expect(tokens.count == 400, "200 ids and 200 e-mail addresses, each its own token")
        // The same key gives the same tokens: a second workspace's data.bin is byte-identical.
        let again = try MLBuildWorkspace(mlfile: Self.mlfile())
        try again.write("data/rows.csv", PIIColumnTests.csv(rows: 200))
        #expect(try again.run(["dataset:rows"], environment: ["PII_KEY": key]).status == 0)
        let other = try MLBuildWorkspace(mlfile: Self.mlfile())
        try other.write("data/rows.csv", PIIColumnTests.csv(rows: 200))
        #expect(try other.run(["dataset:rows"], environment: ["PII_KEY": key + "2"]).status == 0)
        let bytes = { (w: MLBuildWorkspace) in try Data(contentsOf: URL(fileURLWithPath: "\(w.path)/build/dataset/rows/data.bin")) }
        #expect(try bytes(again) == bytes(ws))
        #expect(try bytes(other) != bytes(ws))
    }

    @Test func aKeyInTheMlfileAMissingKeyAndANonStringColumnAreMlfileErrors() throws {
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile(key: "hunter2", columns: "id, plan, nope"))
        try ws.write("data/rows.csv", PIIColumnTests.csv(rows: 20))
        let run = try ws.run(["dataset:rows"])
        #expect(run.status == 2)
        let headlines = run.stderr.split(separator: "\n").filter { $0.hasPrefix("Mlfile:") }
        #expect(headlines == [
            "Mlfile:6:24: error: 'pseudonymize': column 'plan' is category; pseudonymize applies to string columns",
            "Mlfile:6:30: error: 'pseudonymize': column 'nope' is not in the schema",
            "Mlfile:7:24: error: 'pseudonymize_key' must be one ${secret:NAME}: a key written in the Mlfile would be in the repository and its history",
        ], "\(run.stderr)")
        try ws.write("Mlfile", Self.mlfile().replacingOccurrences(of: "    pseudonymize_key = ${secret:PII_KEY}\n", with: ""))
        let missing = try ws.run(["dataset:rows"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("Mlfile:6:20: error: 'pseudonymize' needs 'pseudonymize_key = ${secret:NAME}'"), "\(missing.stderr)")
        // A secret that is not set fails the build, before anything is written.
        try ws.write("Mlfile", Self.mlfile())
        let unset = try ws.run(["dataset:rows"], environment: ["PII_KEY": nil])
        #expect(unset.status != 0)
        #expect(unset.stderr.contains("PII_KEY"), "\(unset.stderr)")
        #expect(!ws.exists("build/dataset/rows/data.bin"))
    }
}

extension MLflowExportTests {
    /// A run history with pii columns exported to a real MLflow server: neither its database
    /// nor its artifact store holds a raw value afterwards.
    @Test func anExportedRunHoldsNoPIIValue() throws {
        let server = try Self.server()
        let ws = try MLBuildWorkspace(mlfile: PIIColumnTests.mlfile())
        try ws.write("data/rows.csv", PIIColumnTests.csv(rows: 300))
        try ws.write("data/recent.csv", PIIColumnTests.csv(rows: 120, start: 300))
        let build = try ws.run(["model:lr", "dataset:recent"])
        #expect(build.status == 0, "\(build.stderr)")
        let export = try ws.run(["runs", "export", "--mlflow", server.url, "--mlflow-experiment", "pii"])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(try Self.experimentID(server, "pii") != nil)
        let raw = (0 ..< 420).flatMap { [PIIColumnTests.id($0), PIIColumnTests.email($0)] }
        let (searched, holding) = try PIIColumnTests.filesHolding(raw, under: server.directory)
        for (file, value) in holding { Issue.record("\(file) of the MLflow server holds the raw value '\(value)'") }
        #expect(searched > 0)
        for value in raw { #expect(!export.stdout.contains(value) && !export.stderr.contains(value)) }
    }
}

extension PIIColumnTests {
    /// `mlbuild serve` of a model whose dataset has pii columns: the reply echoes the id the
    /// caller sent, and neither /v1/models nor the server's log holds a value.
    @Test(.timeLimit(.minutes(5))) func serveLogsAndListsNoPIIValue() throws {
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile())
        try ws.write("data/rows.csv", Self.csv(rows: 300))
        try ws.write("data/recent.csv", Self.csv(rows: 40, start: 300))
        let build = try ws.run(["model:lr"])
        #expect(build.status == 0, "\(build.stderr)")
        let server = try ServeFixture.start(ws, ["model:lr"])
        let sent = Self.csv(rows: 5, start: 1000)
        let reply = try server.request("POST", "/v1/models/lr/predict", headers: ServeFixture.csvType, body: Array(sent.utf8))
        #expect(reply.status == 200, "\(reply.text)")
        #expect(reply.text.contains(Self.id(1000)), "the caller's id comes back as given: \(reply.text)")
        #expect(!reply.text.contains(Self.email(1000)), "the e-mail address is no output")
        let models = try server.request("GET", "/v1/models")
        #expect(models.status == 200)
        #expect(server.stop() == 0)
        let trained = (0 ..< 340).flatMap { [Self.id($0), Self.email($0)] }
        let asked = (1000 ..< 1005).flatMap { [Self.id($0), Self.email($0)] }
        for value in trained + asked {
            #expect(!server.stderr.contains(value), "the log holds '\(value)'")
            #expect(!models.text.contains(value), "/v1/models holds '\(value)'")
        }
    }
}
