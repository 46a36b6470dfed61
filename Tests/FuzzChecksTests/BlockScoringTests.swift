@testable import MLBuildDatasets
import MLBuildRules
import MLBuildTraining
import Testing

/// `ModelPredictor.score` maps and scores the kept rows block by block (one block's features in
/// memory): any block size gives the same predictions, and the same single error list when rows
/// in several blocks break the schema or overflow.
@Suite struct BlockScoringTests {
    static func schema(_ classes: [String]) -> String {
        "id: string id, x: float, y: float nullable, c: category(a, b, c), label: category(\(classes.joined(separator: ", ")))"
    }

    static func transform(classes: [String]) throws -> FittedTransform {
        FittedTransform(
            version: 1, schema: try Schema(parsing: schema(classes)), options: DatasetOptions(),
            label: .init(column: "label", type: "category", classes: classes), idColumns: ["id"],
            steps: [
                .init(column: "x", kind: "numeric", imputeValue: nil, imputeText: nil, log1p: false, scaling: "standardize",
                      center: 1, scale: 1e-300, categories: nil, boundaries: nil),
                .init(column: "y", kind: "numeric", imputeValue: 0.5, imputeText: nil, log1p: true, scaling: nil,
                      center: nil, scale: nil, categories: nil, boundaries: nil),
                .init(column: "c", kind: "one_hot", imputeValue: nil, imputeText: nil, log1p: false, scaling: nil,
                      center: nil, scale: nil, categories: ["a", "b", "c"], boundaries: nil),
            ],
            featureNames: ["x", "y", "c=a", "c=b", "c=c"])
    }

    static var artifacts: [ModelArtifact] {
        get throws {
            let binary = ModelArtifact(
                task: .classification,
                model: .logisticRegression(.init(coefficients: [1e-300, -0.7, 0.2, -0.1, 0.3], intercept: 0.05, iterations: 1, converged: true)),
                transform: try transform(classes: ["no", "yes"]))
            let multi = ModelArtifact(
                task: .classification,
                model: .multinomialLogisticRegression(.init(
                    classCount: 3, featureCount: 5, coefficients: (0 ..< 15).map { Double($0 % 4) * 1e-301 - 0.1 },
                    intercepts: [0.1, -0.2, 0.05], iterations: 1, converged: true)),
                transform: try transform(classes: ["no", "yes", "maybe"]))
            return [binary, multi]
        }
    }

    static func csv(rows: Int, broken: Set<Int> = [], overflow: Set<Int> = []) -> String {
        var text = "id,x,y,c,label\n"
        for r in 0 ..< rows {
            let x = overflow.contains(r) ? "1e300" : "\(1 + Double(r) * 1e-302)"
            let y = r % 5 == 0 ? "" : broken.contains(r) ? "many" : "\(Double(r) / 10)"
            text += "r\(r),\(x),\(y),\(["a", "b", "c"][r % 3]),no\n"
        }
        return text
    }

    @Test func predictionsDoNotDependOnTheBlockSize() throws {
        let csv = Self.csv(rows: 50)
        for artifact in try Self.artifacts {
            let whole = try ModelPredictor.score(artifact, source: CSVSource(name: "rows.csv", text: csv))
            #expect(whole.count == 50)
            #expect(whole[7].id == "r7")
            for block in [1, 3, 7, 49, 50] {
                #expect(try ModelPredictor.score(artifact, source: CSVSource(name: "rows.csv", text: csv), blockRows: block) == whole)
            }
        }
    }

    @Test func errorsFromEveryBlockAreOneSortedList() throws {
        let csv = Self.csv(rows: 40, broken: [31, 8], overflow: [2, 38])
        for artifact in try Self.artifacts {
            var messages: [String] = []
            for block in [1, 4, 64] {
                do {
                    _ = try ModelPredictor.score(artifact, source: CSVSource(name: "rows.csv", text: csv), blockRows: block)
                    Issue.record("scored rows that break the schema")
                } catch let failure as ModelPredictor.Failure {
                    messages.append(failure.description)
                }
            }
            #expect(messages.count == 3)
            #expect(Set(messages).count == 1)
            let lines = messages.first?.split(separator: "\n").dropFirst().map { $0.split(separator: ":")[1] }
            #expect(lines == ["4", "10", "33", "40"])
        }
    }
}
