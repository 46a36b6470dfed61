import Foundation
import MLBuildTraining
import Testing
@testable import MLBuildDatasets

/// The features step past one block of rows (`FittedTransform.blockRows`) and its split in one
/// pass: the same values, the same split and the same first error as a row-by-row build.
@Suite struct FeatureBlockTests {
    static let schemaText = "id: string id, x: float nullable, n: int min=0, c: category(a, b, c), s: string, flag: bool nullable, y: bool"

    /// `rows` rows; x is null on `xNulls`, flag on `flagNulls`.
    static func csv(rows: Int, xNulls: Set<Int> = [], flagNulls: Set<Int> = []) -> String {
        var out = "id,x,n,c,s,flag,y\n"
        for i in 0 ..< rows {
            let x = xNulls.contains(i) ? "" : String(Double(i % 97) * 1.5 - 20)
            let flag = flagNulls.contains(i) ? "" : (i % 2 == 0 ? "yes" : "no")
            out += "r\(i),\(x),\(i % 41),\(["a", "b", "c"][i % 3]),\(["red", "green", "blue"][i % 7 % 3]),\(flag),\(i % 10 < 3 ? "true" : "false")\n"
        }
        return out
    }

    static func table(_ text: String) throws -> ColumnarTable {
        try DatasetIngester.ingestValidated(CSVSource(name: "d.csv", text: text), schema: try Schema(parsing: schemaText))
    }

    @Test func featuresOverManyBlocksMatchEachRowAlone() throws {
        let rows = 2 * FittedTransform.blockRows + 777
        let table = try Self.table(Self.csv(rows: rows, xNulls: [5, 2048, 4100]))
        let schemaFile = SchemaFile(schema: try Schema(parsing: Self.schemaText), options: DatasetOptions())
        // log1p takes the row-by-row path, the others the column fills.
        let spec = try FeatureSpec(options: ["label": "y", "standardize": "x", "log1p": "n", "one_hot": "c, s", "impute": "x:median", "split": "0.8"], seed: 3)
        let r = try FeatureBuilder.build(dataset: table, schemaFile: schemaFile, spec: spec, outputDirectory: nil)
        let train = try #require(r.train)
        #expect(train.features.rows > FittedTransform.blockRows)
        let width = train.features.columns
        for (i, row) in r.trainRows.enumerated() where i % 97 == 0 || i == r.trainRows.count - 1 || (2040 ..< 2056).contains(i) {
            let alone = try r.transform.features(of: table, rows: [row])
            #expect(alone.values == Array(train.features.values[i * width ..< (i + 1) * width]), "train row \(row)")
        }
        // The imputed rows too.
        let imputed = try r.transform.features(of: table, rows: [5, 2048, 4100])
        let median = try #require(r.transform.steps.first { $0.column == "x" }?.imputeValue)
        let x = try #require(r.transform.steps.first { $0.column == "x" })
        for k in 0 ..< 3 { #expect(imputed.values[k * width] == (median - (x.center ?? 0)) / (x.scale ?? 1)) }
    }

    @Test func theFirstErrorInStepOrderIsReportedWhicheverBlockFailsFirst() throws {
        let rows = 3 * FittedTransform.blockRows
        let clean = try Self.table(Self.csv(rows: rows))
        let schemaFile = SchemaFile(schema: try Schema(parsing: Self.schemaText), options: DatasetOptions())
        let spec = try FeatureSpec(options: ["label": "y", "standardize": "x", "one_hot": "c, s", "split": "0.8"], seed: 3)
        let transform = try FeatureBuilder.build(dataset: clean, schemaFile: schemaFile, spec: spec, outputDirectory: nil).transform
        // flag (a later step) fails in the first block, x (an earlier one) only in the third:
        // a step-by-step pass meets x first, and so must the blocked one.
        let dirty = try Self.table(Self.csv(rows: rows, xNulls: [2 * FittedTransform.blockRows + 10], flagNulls: [3]))
        let xLine = dirty.lines[2 * FittedTransform.blockRows + 10]
        #expect(throws: DatasetError.features(message: "column 'x' is null on line \(xLine) and has no impute (add e.g. `impute = x:median`)")) {
            _ = try transform.features(of: dirty)
        }
    }

    @Test func stratifiedSplitFollowsTheDocumentedAlgorithm() {
        let n = 5000
        let strata = (0 ..< n).map { Double(($0 * 7919) % 3) }
        let fraction = 0.7
        let got = DataSplitter.split(count: n, fraction: fraction, seed: 11, strata: strata)
        // The documentation's words: classes ascending, one generator, each class's ascending
        // rows shuffled, its first round(count × fraction) train; both lists sorted.
        var rng = SplitMix64(seed: 11)
        var train: [Int] = []
        var test: [Int] = []
        for label in [0.0, 1.0, 2.0] {
            var members = (0 ..< n).filter { strata[$0] == label }
            rng.shuffle(&members)
            let k = Int((Double(members.count) * fraction).rounded())
            train += members[0 ..< k]
            test += members[k...]
        }
        #expect(got.train == train.sorted())
        #expect(got.test == test.sorted())
    }
}
