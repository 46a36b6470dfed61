import Foundation
@testable import MLBuildDatasets
@testable import MLBuildRules
@testable import MLBuildServe
import MLBuildTraining
import Testing

/// The two shortcuts of a JSON predict request: `DirectJSONRows` (body → CSV without a JSON
/// tree) and `PredictionEndpoint.answerBody` (predictions → answer without one). Each must give
/// exactly the bytes of the general path it stands in for.
@Suite("direct JSON rows and answers")
struct DirectJSONTests {
    static let columns = JSONRowColumns(["customer_id", "tenure", "plan", "charges", "senior", "notes"])

    /// Bodies the direct reader takes; the general path must make the same CSV and lines of them.
    static let taken: [String] = [
        #"{"rows":[{"customer_id":"C1","tenure":14,"plan":"month-to-month","charges":84.2,"senior":true,"notes":null}]}"#,
        // Keys out of schema order, some absent in one row and all absent in another, empty objects.
        #"{"rows":[{"tenure":3,"customer_id":"C2"},{"plan":"a,b","charges":-0.5},{}]}"#,
        // Whitespace everywhere, non-ASCII text, commas that need quoting.
        "\n{ \"rows\" :\t[ { \"customer_id\" : \"Zoë, Łódź 😀\" , \"senior\" : false } ,\r\n {\"notes\":\"x\"} ] }\n",
        // Numbers: integers copied (up to 15 digits), others reformatted; -0 is 0.
        #"{"rows":[{"tenure":0,"charges":-0},{"tenure":-12,"charges":123456789012345},{"tenure":1234567890123456,"charges":0.1000}]}"#,
        #"{"rows":[{"tenure":123456789012345678901234567890,"charges":2.50,"notes":""}]}"#,
        #"{"rows":[{"charges":0.30000000000000004},{"charges":-7.0}]}"#,
    ]

    @Test("what it takes reads as the general path reads it", arguments: taken)
    func sameAsGeneral(_ text: String) throws {
        let body = Array(text.utf8)
        let direct = try #require(DirectJSONRows.read(body, columns: Self.columns))
        let general = try JSONRows(body: body, schemaColumns: Self.columns.names)
        #expect(String(decoding: direct.csv, as: UTF8.self) == String(decoding: general.csv, as: UTF8.self))
        #expect(direct.lines == general.lines)
        #expect(general.cellErrors.isEmpty)
    }

    /// What it leaves to the general path (which answers, or words the error).
    static let declined: [String] = [
        #"{"rows":[]}"#,                                        // no rows
        #"{"rows":[{"tenure":1}],"meta":1}"#,                   // another top-level key
        #"{"meta":1,"rows":[{"tenure":1}]}"#,
        #"{"rows":[{"tenure":1,"tenure":2}]}"#,                 // a repeated key
        #"{"rows":[{"unknown":1}]}"#,                           // a key the schema does not have
        #"{"rows":[{"plan":"say \"hi\""}]}"#,                   // an escape
        #"{"rows":[{"pl\u0061n":"x"}]}"#,
        #"{"rows":[{"tenure":[1]}]}"#, #"{"rows":[{"tenure":{"a":1}}]}"#,  // cells JSON cannot put in a CSV
        #"{"rows":[{"tenure":1e3}]}"#, #"{"rows":[{"tenure":0e-400}]}"#,  // exponents
        #"{"rows":[1]}"#, #"{"rows":{}}"#, #"[]"#, #"{"rows":[{"tenure":1}]} x"#, #"{"rows":[{"tenure":1},]}"#,
        #"{"rows":[{"tenure":01}]}"#, #"{"rows":[{"tenure":tru}]}"#,
    ]

    @Test("anything else is left to the general path", arguments: declined)
    func declines(_ text: String) {
        #expect(DirectJSONRows.read(Array(text.utf8), columns: Self.columns) == nil)
    }

    @Test("invalid UTF-8 is left to the general path")
    func invalidUTF8() {
        let body = Array(#"{"rows":[{"plan":""#.utf8) + [0xC3, 0x28] + Array(#""}]}"#.utf8)
        #expect(DirectJSONRows.read(body, columns: Self.columns) == nil)
    }

    static func model(task: TrainingTask, id: Bool) throws -> ServedModel {
        let schema = try Schema(parsing: id ? "customer_id: string id, x: float, label: bool" : "x: float, label: float")
        let transform = FittedTransform(
            version: 1, schema: schema, options: DatasetOptions(),
            label: .init(column: "label", type: task == .classification ? "bool" : "float",
                         classes: task == .classification ? ["false", "true"] : nil),
            idColumns: id ? ["customer_id"] : [],
            steps: [.init(column: "x", kind: "numeric", imputeValue: nil, imputeText: nil, log1p: false, scaling: nil,
                          center: nil, scale: nil, categories: nil, boundaries: nil)],
            featureNames: ["x"])
        let trained = TrainedModel.linearRegression(.init(coefficients: [1], intercept: 0))
        return ServedModel(name: "m \"1\"", path: "model.json", artifact: ModelArtifact(task: task, model: trained, transform: transform),
                           digest: "sha256:" + String(repeating: "ab", count: 32))
    }

    @Test("the direct answer is CanonicalJSON's layout of the same object")
    func answerBytes() throws {
        let predictions: [ModelPredictor.Prediction] = [
            .init(id: "R1", label: "true", score: 0.5571020954877762),
            .init(id: "quote \" back \\ tab \t é", label: "false", score: 1e-300),
            .init(id: "", label: "false", score: 0),
        ]
        let cases: [(ServedModel, [ModelPredictor.Prediction])] = [
            (try Self.model(task: .classification, id: true), predictions),
            (try Self.model(task: .classification, id: true), []),
            (try Self.model(task: .regression, id: false), predictions.map { .init(id: nil, label: nil, score: $0.score * -3) }),
        ]
        for (model, scored) in cases {
            let direct = PredictionEndpoint.answerBody(model, scored)
            let general = CanonicalJSON.serialize(.object(PredictionEndpoint.jsonObject(model, scored, rows: nil)))
            #expect(String(decoding: direct, as: UTF8.self) == String(decoding: general, as: UTF8.self))
        }
    }
}
