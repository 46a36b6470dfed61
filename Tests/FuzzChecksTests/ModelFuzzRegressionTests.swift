import Foundation
import FuzzChecks
@testable import MLBuildDatasets
import MLBuildRules
import MLBuildTraining
import Testing

/// In-process counterparts of the model.json and predict-input fuzzers (fuzz/run model-json,
/// fuzz/run predict-input): the seed corpora and seeded random mutations of them, each decoded
/// and scored with the fuzzers' own invariants (`ModelChecks`) — an error is a
/// `ModelArtifactError` naming the file or a row report, output rows have finite scores, and
/// nothing traps.
@Suite("model.json and predict input fuzz regressions")
struct ModelFuzzRegressionTests {
    static let corpus = FuzzInputs.repositoryRoot.appendingPathComponent("fuzz/corpus")

    static func seeds(_ target: String) throws -> [(name: String, bytes: [UInt8])] {
        let dir = corpus.appendingPathComponent(target)
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted().map {
            ($0, Array(try Data(contentsOf: dir.appendingPathComponent($0))))
        }
    }

    static func checkModel(_ bytes: [UInt8]) -> (problems: [String], decoded: Bool) {
        let (violations, decoded) = ModelChecks.violations(ofModelJSON: bytes)
        return (violations, decoded)
    }

    static func checkPredict(_ artifact: ModelArtifact, _ bytes: [UInt8], records: Int?) -> [String] {
        ModelChecks.violations(scoring: bytes, with: artifact, records: records)
    }

    /// A seeded byte-level mutation: flip, insert, delete or overwrite with a dictionary token.
    static func mutate(_ input: [UInt8], _ rng: inout SplitMix64, tokens: [String]) -> [UInt8] {
        var bytes = input
        for _ in 0 ... Int(rng.next() % 3) {
            let at = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count))
            switch rng.next() % 5 {
            case 0 where !bytes.isEmpty: bytes[at] ^= UInt8(truncatingIfNeeded: 1 << (rng.next() % 8))
            case 1: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
            case 2 where !bytes.isEmpty: bytes.removeSubrange(at ..< min(bytes.count, at + 1 + Int(rng.next() % 8)))
            default:
                let token = Array(tokens[Int(rng.next() % UInt64(tokens.count))].utf8)
                let end = min(bytes.count, at + Int(rng.next() % UInt64(token.count + 1)))
                bytes.replaceSubrange(at ..< end, with: token)
            }
        }
        return bytes
    }

    // MARK: - model.json

    @Test func everyModelSeedDecodesOrFailsWithItsMessage() throws {
        let seeds = try Self.seeds("model-json")
        #expect(seeds.count >= 5)
        for (name, bytes) in seeds {
            let (problems, decoded) = Self.checkModel(bytes)
            #expect(problems == [], "\(name)")
            // Seeds named invalid-* are the issue's examples and must be refused.
            #expect(decoded == !name.hasPrefix("invalid-"), "\(name)")
        }
    }

    /// The issue's example as a fuzzer input: a category added to a one-hot list crashed predict
    /// with "Index out of range"; now decoding refuses it, naming the field.
    @Test func anAddedOneHotCategoryIsRefusedAtDecode() throws {
        let bytes = try #require(try Self.seeds("model-json").first { $0.name == "invalid-added-category.json" }?.bytes)
        #expect(throws: ModelArtifactError.self) { _ = try ModelArtifact.decode(Data(bytes), path: "model.json") }
        do {
            _ = try ModelArtifact.decode(Data(bytes), path: "model.json")
        } catch let error as ModelArtifactError {
            #expect(error.description == """
                model.json: invalid model.json (edited or corrupted? rebuild the model, or use a known-good copy):
                  transform.steps[2].categories: ['basic', 'plus', 'pro', 'enterprise'] differ from the schema's declared categories of 'plan' ['basic', 'plus', 'pro']
                """)
        }
    }

    static let jsonTokens = [
        "null", "true", "false", "-1", "0", "1e308", "-1e308", "5e-324", "9223372036854775807", "[]", "{}", "\"\"", ",", ":",
        "\"one_hot\"", "\"buckets\"", "\"numeric\"", "\"bool\"", "\"categories\"", "\"feature_names\"", "\"steps\"", "\"kind\"",
        "\"scale\"", "\"center\"", "\"boundaries\"", "\"classes\"", "\"featureCount\"", "\"feature\"", "\"left\"", "\"right\"",
        "\"regression\"", "\"classification\"", "\"string\"", "\"category\"", "\"basic\"", "\"pro\"", "\\u0000", "\\ud800",
    ]

    /// A seeded stand-in for the fuzzer that runs with every `swift test`.
    @Test(.timeLimit(.minutes(5))) func randomMutationsOfModelJSONKeepTheInvariants() throws {
        let seeds = try Self.seeds("model-json").filter { !$0.name.hasPrefix("invalid-") && !$0.name.contains("canonical") }
        var rng = SplitMix64(seed: 2026)
        var decoded = 0
        for i in 0 ..< 3000 {
            let seed = seeds[i % seeds.count]
            let input = Self.mutate(seed.bytes, &rng, tokens: Self.jsonTokens)
            let (problems, ok) = Self.checkModel(input)
            #expect(problems == [], "mutation \(i) of \(seed.name): \(String(decoding: input, as: UTF8.self).prefix(400))")
            if ok { decoded += 1 }
        }
        // Some mutations keep a model valid (a changed coefficient or name) and must still score.
        #expect(decoded > 20)
    }

    /// Every value of a JSON tree with its path (keys and array indices).
    static func paths(_ value: JSONValue, _ prefix: [String] = []) -> [[String]] {
        switch value {
        case .object(let members): [prefix] + members.keys.sorted().flatMap { paths(members[$0] ?? .null, prefix + [$0]) }
        case .array(let items): [prefix] + items.indices.flatMap { paths(items[$0], prefix + [String($0)]) }
        default: [prefix]
        }
    }

    static func value(_ root: JSONValue, at path: ArraySlice<String>) -> JSONValue? {
        guard let key = path.first else { return root }
        switch root {
        case .object(let members): return members[key].flatMap { value($0, at: path.dropFirst()) }
        case .array(let items): return Int(key).flatMap { items.indices.contains($0) ? value(items[$0], at: path.dropFirst()) : nil }
        default: return nil
        }
    }

    /// `root` with the value at `path` replaced by `new` (nil removes a key or an array item).
    static func replacing(_ root: JSONValue, at path: ArraySlice<String>, with new: JSONValue?) -> JSONValue? {
        guard let key = path.first else { return new }
        switch root {
        case .object(var members):
            members[key] = replacing(members[key] ?? .null, at: path.dropFirst(), with: new)
            return .object(members)
        case .array(var items):
            guard let i = Int(key), items.indices.contains(i) else { return root }
            if let item = replacing(items[i], at: path.dropFirst(), with: new) { items[i] = item } else { items.remove(at: i) }
            return .array(items)
        default:
            return root
        }
    }

    /// Semantic edits a byte fuzzer rarely makes: any value of a valid model.json replaced by an
    /// extreme or differently typed one, removed, or swapped with another value of the file.
    @Test(.timeLimit(.minutes(5))) func randomStructuralEditsOfModelJSONKeepTheInvariants() throws {
        let seeds = try Self.seeds("model-json").filter { !$0.name.hasPrefix("invalid-") && !$0.name.contains("canonical") }
        let trees = try seeds.map { try JSONDecoder().decode(JSONValue.self, from: Data($0.bytes)) }
        let replacements: [JSONValue] = [
            .null, .bool(true), .number(0), .number(-1), .number(1), .number(2), .number(1e308), .number(-1e308),
            .number(5e-324), .number(9_007_199_254_740_993), .number(0.5), .string(""), .string("basic"), .string("one_hot"),
            .string("buckets"), .string("numeric"), .string("bool"), .string("category"), .string("string"), .string("regression"),
            .array([]), .array([.string("basic"), .string("plus")]), .array([.number(3), .number(1)]), .object([:]),
        ]
        var rng = SplitMix64(seed: 11)
        var decoded = 0
        for i in 0 ..< 1000 {
            var tree = trees[i % trees.count]
            for _ in 0 ... Int(rng.next() % 2) {
                let all = Self.paths(tree).filter { !$0.isEmpty }
                let path = all[Int(rng.next() % UInt64(all.count))]
                let new: JSONValue?
                switch rng.next() % 4 {
                case 0: new = nil
                case 1: new = Self.value(tree, at: all[Int(rng.next() % UInt64(all.count))][...])
                default: new = replacements[Int(rng.next() % UInt64(replacements.count))]
                }
                tree = Self.replacing(tree, at: path[...], with: new) ?? tree
            }
            let bytes = Array(CanonicalJSON.serialize(tree))
            let (problems, ok) = Self.checkModel(bytes)
            #expect(problems == [], "edit \(i): \(String(decoding: bytes, as: UTF8.self).prefix(600))")
            if ok { decoded += 1 }
        }
        #expect(decoded > 20)
    }

    // MARK: - predict input

    static func artifacts() throws -> [ModelArtifact] {
        try ["lr.json", "gbt.json", "linear.json"].map { name in
            let bytes = try #require(try seeds("model-json").first { $0.name == name }?.bytes)
            return try ModelArtifact.decode(Data(bytes), path: name)
        }
    }

    @Test func everyPredictSeedScoresOrFailsClearly() throws {
        let artifacts = try Self.artifacts()
        for (name, bytes) in try Self.seeds("predict-input") {
            for artifact in artifacts { #expect(Self.checkPredict(artifact, bytes, records: nil) == [], "\(name)") }
        }
    }

    static let csvTokens = [
        ",", "\"", "\"\"", "\r\n", "\r", "\n", "\u{FEFF}", "NaN", "inf", "-Infinity", "1e308", "-1e308", "1e-320", "0x10",
        "9223372036854775807", "-9223372036854775808", "18446744073709551616", "-0", ".5", "NA", "basic", "pro", "yes", "é", "label",
    ]

    @Test(.timeLimit(.minutes(5))) func randomMutationsOfPredictInputKeepTheInvariants() throws {
        let artifacts = try Self.artifacts()
        let seeds = try Self.seeds("predict-input")
        var rng = SplitMix64(seed: 99)
        var scored = 0
        for i in 0 ..< 1000 {
            let seed = seeds[i % seeds.count]
            var input = Self.mutate(seed.bytes, &rng, tokens: Self.csvTokens)
            if rng.next() % 32 == 0 { input += Array(repeating: UInt8(ascii: "9"), count: Int(rng.next() % 100_000)) }
            for artifact in artifacts {
                let problems = Self.checkPredict(artifact, input, records: nil)
                #expect(problems == [], "mutation \(i) of \(seed.name): \(String(decoding: input.prefix(400), as: UTF8.self))")
            }
            if (try? ModelPredictor.predict(artifacts[0], source: CSVSource(name: "rows.csv", bytes: input))) != nil { scored += 1 }
        }
        #expect(scored > 20)
    }

    /// Rows whose cells are finite but whose features or score are not: reported, never printed
    /// as `null` or as a confident class.
    @Test func overflowingFeaturesAreRowErrors() throws {
        let schema = try Schema(parsing: "x: float, y: float, label: bool")
        let transform = FittedTransform(
            version: 1, schema: schema, options: DatasetOptions(),
            label: .init(column: "label", type: "bool", classes: ["false", "true"]), idColumns: [],
            steps: [
                .init(column: "x", kind: "numeric", imputeValue: nil, imputeText: nil, log1p: false, scaling: "standardize",
                      center: 0, scale: 1e-10, categories: nil, boundaries: nil),
                .init(column: "y", kind: "numeric", imputeValue: nil, imputeText: nil, log1p: false, scaling: nil,
                      center: nil, scale: nil, categories: nil, boundaries: nil),
            ],
            featureNames: ["x", "y"])
        let model = TrainedModel.linearRegression(.init(coefficients: [1, 1], intercept: 0))
        let artifact = ModelArtifact(task: .regression, model: model, transform: transform)
        let csv = "x,y\n1,2\n1e308,0\n0,1.5e308\n0,-1.5e308\n"
        do {
            _ = try ModelPredictor.predict(artifact, source: CSVSource(name: "rows.csv", text: csv))
            Issue.record("scored rows whose features overflow")
        } catch let failure as ModelPredictor.Failure {
            #expect(failure.description == """
                rows.csv: 1 row breaks the model's input schema; nothing was scored:
                  rows.csv:3: column 'x': the value 1e+308 maps to feature 'x' = inf, not a finite number
                """)
        }
        do {
            _ = try ModelPredictor.predict(artifact, source: CSVSource(name: "rows.csv", text: "x,y\n1e298,1.5e308\n1,2\n"))
            Issue.record("scored rows whose score overflows")
        } catch let failure as ModelPredictor.Failure {
            #expect(failure.description == """
                rows.csv: 1 row breaks the model's input schema; nothing was scored:
                  rows.csv:2: column '*': the model's score is inf, not a number (feature values too large for this model)
                """)
        }
    }
}
