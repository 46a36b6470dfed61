import Foundation
import MLBuildTestSupport
import Testing

/// `pseudonymize` on a features target: the dataset keeps the raw values (data.bin), the
/// one-hot column is fitted on HMAC-SHA-256 tokens, so transform.json and model.json hold
/// tokens, never values; `predict` and `serve` tokenize raw rows with the key from the secret
/// the transform names, and refuse without it.
@Suite struct FeaturesPseudonymizeTests {
    static let zips = ["75001", "69002", "13003", "59004"]
    static let key = "zip-key-for-the-test-3c9e"

    static func csv(rows: Int) -> String {
        var out = "id,zip,x,y\n"
        for r in 0 ..< rows {
            let zip = zips[(r * 7 + r / 3) % 4]
            let x = Double((r * 37) % 101) / 25 - 2
            let noise = Double((r * 29) % 13) / 6 - 1
            out += "C\(r),\(zip),\(x),\(x + (zip == "75001" ? 0.8 : zip == "13003" ? -0.5 : 0) + noise > 0.3)\n"
        }
        return out
    }

    static func mlfile(tokens: String = "pseudonymize = zip\n    pseudonymize_key = ${secret:ZIP_KEY}") -> String {
        """
        seed = 3

        dataset d
            source = d.csv
            schema = id: string id pii, zip: string pii, x: float, y: bool

        features tok
            dataset = dataset:d
            label = y
            one_hot = zip
            allow_pii = zip
            standardize = x
            \(tokens)

        features raw
            dataset = dataset:d
            label = y
            one_hot = zip
            allow_pii = zip
            standardize = x

        model tok
            features = features:tok
            algorithm = logistic_regression

        model raw
            features = features:raw
            algorithm = logistic_regression

        """
    }

    /// HMAC-SHA-256 hex of `value` under `key`, by Python's standard library (not mlbuild's code).
    static func hmac(_ value: String, key: String) throws -> String {
        let run = try ProcessRunner.run("/usr/bin/env", ["python3", "-c", "import hmac, hashlib, sys; print(hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), hashlib.sha256).hexdigest())", key, value])
        return run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// (label, probability) per output row of `mlbuild predict`.
    static func predictions(_ text: String) -> [(String, Double)] {
        text.split(separator: "\n").dropFirst().map { line in
            let cells = line.split(separator: ",")
            return (String(cells[1]), Double(cells[2]) ?? .nan)
        }
    }

    @Test(.timeLimit(.minutes(5))) func theModelHoldsTokensAndPredictTokenizesWithTheKey() throws {
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile())
        try ws.write("d.csv", Self.csv(rows: 400))
        let build = try ws.build(["model:tok", "model:raw"], environment: ["ZIP_KEY": Self.key])
        #expect(build.result.status == 0, "\(build.result.stderr)")

        // transform.json: the one-hot categories are the values' tokens, the secret is named, the key is not.
        let transform = try MLFixtures.json(ws, "build/features/tok/transform.json")
        let steps = try #require(transform["steps"] as? [[String: Any]])
        let zipStep = try #require(steps.first { $0["column"] as? String == "zip" })
        let tokens = try Self.zips.map { try Self.hmac($0, key: Self.key) }
        #expect(zipStep["categories"] as? [String] == tokens.sorted(), "\(zipStep)")
        let record = try #require(transform["pseudonymize"] as? [String: Any])
        #expect(record["columns"] as? [String] == ["zip"] && record["key_secret"] as? String == "ZIP_KEY")

        // No raw zip (nor the key) in the tok features' or model's outputs; the raw ones have them.
        for directory in ["build/features/tok", "build/model/tok"] {
            for file in try FileManager.default.subpathsOfDirectory(atPath: "\(ws.path)/\(directory)") {
                let path = "\(ws.path)/\(directory)/\(file)"
                guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else { continue }
                for value in Self.zips + [Self.key] { #expect(!text.contains(value), "\(directory)/\(file) holds '\(value)'") }
            }
        }
        #expect(try ws.read("build/model/raw/model.json").contains("zip=75001"), "the check can find a raw value")

        // With the key, raw rows score as the model trained on raw values scores them.
        let tokenized = try ws.run(["predict", "model:tok", "--input", "d.csv"], environment: ["ZIP_KEY": Self.key])
        let plain = try ws.run(["predict", "model:raw", "--input", "d.csv"])
        #expect(tokenized.status == 0 && plain.status == 0, "\(tokenized.stderr) \(plain.stderr)")
        let a = Self.predictions(tokenized.stdout), b = Self.predictions(plain.stdout)
        #expect(a.count == 400 && b.count == 400)
        for (x, y) in zip(a, b) {
            #expect(x.0 == y.0 && abs(x.1 - y.1) < 1e-9, "\(x) vs \(y)")
        }
        #expect(tokenized.stdout.hasPrefix("id,prediction,probability\nC0,"), "ids come back as given")

        // Another key: every zip is an unknown token (all-zero one-hot), so the scores move.
        let wrong = try ws.run(["predict", "model:tok", "--input", "d.csv"], environment: ["ZIP_KEY": "another key"])
        #expect(wrong.status == 0)
        #expect(zip(Self.predictions(wrong.stdout), a).contains { abs($0.1 - $1.1) > 1e-3 })

        // Without it: refused, naming the secret; serve refuses to start; ONNX cannot hold HMAC.
        let refused = try ws.run(["predict", "model:tok", "--input", "d.csv"], environment: ["ZIP_KEY": nil])
        #expect(refused.status == 1 && refused.stderr.contains("set the secret ZIP_KEY"), "\(refused.output)")
        let serve = try ws.run(["serve", "model:tok", "--port", "0"], environment: ["ZIP_KEY": nil])
        #expect(serve.status == 1 && serve.stderr.contains("'zip' was pseudonymized") && serve.stderr.contains("ZIP_KEY"), "\(serve.output)")
        let onnx = try ws.run(["export", "model:tok", "--format", "onnx"], environment: ["ZIP_KEY": Self.key])
        #expect(onnx.status == 1 && onnx.stderr.contains("cannot compute its HMAC-SHA-256 tokens"), "\(onnx.output)")
    }

    @Test func serveWithTheKeyAnswersRawRows() throws {
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile())
        try ws.write("d.csv", Self.csv(rows: 200))
        #expect(try ws.build(["model:tok"], environment: ["ZIP_KEY": Self.key]).result.status == 0)
        let server = try ServeProcess(in: ws.path, ["model:tok", "--port", "0"], environment: ["ZIP_KEY": Self.key])
        try #require(server.waitUntilListening() != nil, "\(server.stderr)")
        let body = "id,zip,x\nQ1,75001,0.5\nQ2,59004,0.5\nQ3,13003,0.5\n"
        let reply = try server.request("POST", "/v1/models/tok/predict", headers: ServeFixture.csvType, body: Array(body.utf8))
        #expect(server.stop() == 0)
        #expect(reply.status == 200, "\(reply.text)")
        try ws.write("q.csv", body)
        let predicted = try ws.run(["predict", "model:tok", "--input", "q.csv"], environment: ["ZIP_KEY": Self.key])
        #expect(predicted.status == 0 && reply.text == predicted.stdout, "serve tokenizes as predict does: \(reply.text) vs \(predicted.stdout)")
        #expect(Set(Self.predictions(reply.text).map(\.1)).count == 3, "each zip its own score: \(reply.text)")
    }

    /// An image of such a model serves only with the key: its deploy manifest hands each pod the
    /// secret's variable from the Secret NAME-secrets, and neither the image nor the manifest
    /// holds the key.
    @Test(.timeLimit(.minutes(10))) func aDeployPassesTheKeyFromASecret() throws {
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile() + """

        container app: model:tok
            runtime = serve

        deploy app: container:app
            registry = registry.example.com/churn/app

        """)
        try ws.write("d.csv", Self.csv(rows: 200))
        let build = try ws.build(["deploy:app"], environment: ["ZIP_KEY": Self.key])
        #expect(build.result.status == 0, "\(build.result.output)")
        let yaml = try ws.read("build/deploy/app/kubernetes.yaml")
        let env = "        - env:\n            - name: ZIP_KEY\n              valueFrom:\n                secretKeyRef:\n"
            + "                  key: ZIP_KEY\n                  name: app-secrets\n          image: registry.example.com/churn/app@sha256:"
        #expect(yaml.contains(env), "\(yaml)")
        #expect(yaml.contains("mlbuild.dev/secret.pseudonymize_key: ZIP_KEY"))
        try DeployTests.validate(ws, "build/deploy/app/kubernetes.yaml")
        let image = try #require(FileManager.default.contents(atPath: "\(ws.path)/build/container/app/image.tar"))
        #expect(image.range(of: Data(Self.key.utf8)) == nil && !yaml.contains(Self.key), "the key is in neither")
    }

    @Test func mlfileErrorsAtTheItem() throws {
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile(tokens: "pseudonymize = id, x, zip\n    pseudonymize_key = s3cret"))
        try ws.write("d.csv", Self.csv(rows: 10))
        let run = try ws.run(["model:tok"])
        #expect(run.status == 2, "\(run.output)")
        for expected in [
            "Mlfile:13:20: error: 'pseudonymize': column 'id' does not reach the features' outputs",
            "Mlfile:13:24: error: 'pseudonymize': column 'x' is float, not in one_hot",
            "Mlfile:14:24: error: 'pseudonymize_key' must be one ${secret:NAME}",
        ] {
            #expect(run.stderr.contains(expected), "\(expected)\n---\n\(run.stderr)")
        }
        let unset = try MLBuildWorkspace(mlfile: Self.mlfile())
        try unset.write("d.csv", Self.csv(rows: 50))
        let failed = try unset.run(["model:tok"], environment: ["ZIP_KEY": nil])
        #expect(failed.status == 1 && failed.stderr.contains("secret 'ZIP_KEY' is not set"), "\(failed.output)")
        #expect(!unset.exists("build/features/tok/transform.json"))
    }
}
