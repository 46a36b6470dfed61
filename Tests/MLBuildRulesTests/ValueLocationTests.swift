import MLBuildCore
import MLBuildTraining
import Testing

/// Diagnostics about a part of a value (a gate's threshold, a schema column, a features option
/// item) point where that part was written: on its own line when the value is continued, at the
/// `$` when a `${…}` put it there, inside the quotes of a quoted item, and never past the end of
/// a line. Fuzzing found `column 19 outside 1...18 on line 67: gate threshold 'monthly_charges:
/// float min=0' is not a number`: the threshold's column was counted along the item's first
/// line although the threshold sat on the next one.
@Suite("Mlfile: locations inside values (fuzz regressions)")
struct ValueLocationTests {
    /// A dataset and features the model targets below can use, so that only the line under test
    /// has a problem (lines 1–6).
    static let upstream = """
    dataset d
        source = d.csv
        schema = y: bool, x: float
    features f
        dataset = dataset:d
        label = y

    """

    static func model(_ gate: String, variables: String = "") -> String {
        variables + upstream + """
        model m
            features = features:f
            algorithm = logistic_regression
            gate = \(gate)
        """
    }

    @Test func aThresholdOnAContinuationLinePointsThere() throws {
        // The fuzzer's input, reduced: the item starts on line 10, its threshold is on line 11.
        let outcome = ProjectLoading.load(Self.model("auc >=\n        monthly_charges: float min=0"))
        #expect(outcome.problems.isEmpty, "\(outcome.problems)")
        #expect(outcome.messages == ["11:9: gate threshold 'monthly_charges: float min=0' is not a number"])
        let rendered = try #require(outcome.diagnostics.first?.rendered)
        #expect(rendered == """
        Mlfile:11:9: error: gate threshold 'monthly_charges: float min=0' is not a number
                    monthly_charges: float min=0
                    ^
        """)
    }

    @Test(arguments: [
        // A missing threshold: the caret just after the end of the line (1...18 on a 17-byte line).
        ("auc >=", ["10:18: gate threshold '' is not a number"]),
        // Inside quotes: the column of the threshold, not one to its left.
        ("\"auc >= x\"", ["10:20: gate threshold 'x' is not a number"]),
        // A threshold a variable put there: the `$` of its reference.
        ("auc >= ${t}", ["11:19: gate threshold 'high' is not a number"]),
        // After a tab; in a later item; after a character of two bytes (columns count bytes).
        ("auc >=\tü", ["10:19: gate threshold 'ü' is not a number"]),
        ("recall >= 0.5, auc >= ü1", ["10:34: gate threshold 'ü1' is not a number"]),
        ("ü >= 1, auc >= x", ["10:12: unknown metric 'ü' in gate", "10:28: gate threshold 'x' is not a number"]),
    ])
    func gateThresholdLocations(gate: String, expected: [String]) {
        let variables = gate.contains("${t}") ? "t = high\n" : ""
        let outcome = ProjectLoading.load(Self.model(gate, variables: variables))
        #expect(outcome.problems.isEmpty, "\(outcome.problems)")
        #expect(outcome.messages == expected)
    }

    @Test func schemaAndOptionItemsOnContinuationLinesPointThere() {
        let outcome = ProjectLoading.load("""
        s = amount: integer
        dataset d
            source = d.csv
            schema = id: string id,
                plan: category(a,
                    a)
        dataset e
            source = e.csv
            schema = ${s}
        features f
            dataset = dataset:d
            label = id
            impute = plan:mode,
                amount:avg
        """)
        #expect(outcome.problems.isEmpty, "\(outcome.problems)")
        #expect(outcome.messages == [
            "6:13: schema column 2 'plan: category(a, a)': category value 'a' listed twice",
            "9:14: schema column 1 'amount: integer': unknown type 'integer' (expected int, float, bool, string or category(...))",
            "14:9: 'impute': 'amount:avg': unknown strategy 'avg' (expected mean, median, mode or constant=VALUE)",
        ])
    }

    /// Gate, schema and option values split over lines at random places, quoted, substituted and
    /// mixed with multi-byte characters: every diagnostic stays on its line (the fuzzer's
    /// invariant, `Diagnostic.placementProblem`).
    @Test func randomlyWrappedValuesKeepEveryCaretOnItsLine() {
        // Items shaped like each key's, with a bad word now and then; words joined by a space,
        // nothing, or a line break (continuation lines are indented deeper than the body).
        let shapes: [String: [[String]]] = [
            "gate": [["auc", "recall", "rmse", "acu"], [">=", "<=", "=>"], ["0.5", "x", "ü", "${v}", "1e999", "monthly_charges: float min=0"]],
            "schema": [["a:", "b :", "ü:", "\"c d\":"], ["int", "float", "integer", "category(x, y)", "category(x, x)", "${v}"],
                       ["", "nullable", "min=0", "min=x", "nulable", "max=-1"]],
            "impute": [["a:", "b:", "ü:", ""], ["mean", "avg", "constant=1", "${v}", "é"]],
            "bucketize": [["a:", "ü:"], ["1|2", "2|1", "x|1", "1|${v}", "1 | 2"]],
        ]
        var rng = SplitMix64(seed: 0x6A7E_C0DE)
        func pick<T>(_ array: [T]) -> T { array[Int(rng.next() % UInt64(array.count))] }
        func separator() -> String { pick(["\n            ", " ", " ", "", "\t", "\n        \t"]) }
        var diagnostics = 0
        for iteration in 0..<600 {
            let key = pick(["gate", "schema", "impute", "bucketize"])
            let shape = shapes[key] ?? []
            var items: [String] = []
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                var item = shape.map { pick($0) }.filter { !$0.isEmpty }.joined(separator: "\u{0}")
                while let nul = item.firstIndex(of: "\u{0}") { item.replaceSubrange(nul...nul, with: separator()) }
                items.append(rng.next() % 5 == 0 && key == "gate" ? "\"\(item)\"" : item)
            }
            let value = items.joined(separator: "," + separator())
            let target = switch key {
            case "gate": "model m\n    features = features:f\n    algorithm = logistic_regression\n    gate = \(value)\n"
            case "schema": "dataset e\n    source = e.csv\n    schema = \(value)\n"
            default: "features g\n    dataset = dataset:d\n    label = y\n    \(key) = \(value)\n"
            }
            let text = "v = 0.7 ü\n" + Self.upstream + target
            let outcome = ProjectLoading.load(text)
            diagnostics += outcome.diagnostics.count
            #expect(outcome.problems.isEmpty, "iteration \(iteration): \(outcome.problems) for \(String(reflecting: text))")
            if !outcome.problems.isEmpty { break }
        }
        #expect(diagnostics > 300, "most values must be wrong, or nothing is checked")
    }
}
