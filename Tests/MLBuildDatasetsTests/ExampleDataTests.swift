import Foundation
import Testing
@testable import MLBuildDatasets

/// The committed example data (data/churn.csv, data/churn_recent.csv) against the example schema.
@Suite struct ExampleDataTests {
    static let dataDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("data")

    static let schema = """
        customer_id: string id unique, tenure: int min=0 max=72,
        contract: category(month-to-month, one_year, two_year),
        monthly_charges: float min=0, total_charges: float nullable min=0,
        internet_service: category(DSL, Fiber optic, No),
        online_security: category(Yes, No, No internet service),
        tech_support: category(Yes, No, No internet service),
        paperless_billing: bool, senior_citizen: bool, churned: bool,
        payment_method: category("Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)")
        """

    @Test func churnDataValidatesAndDriftsMildly() throws {
        try withTempDirectory { dir in
            let schema = try Schema(parsing: Self.schema)
            let base = try DatasetBuilder.build(
                source: CSVSource(url: Self.dataDirectory.appendingPathComponent("churn.csv"), name: "data/churn.csv"),
                schema: schema, options: DatasetOptions(minRows: 1000), outputDirectory: dir.appendingPathComponent("churn"))
            #expect(base.table.rowCount == 5000)
            let blanks = try #require(base.stats.columns["total_charges"]).nulls
            #expect(blanks > 0 && blanks < 100)
            let recent = try DatasetBuilder.build(
                source: CSVSource(url: Self.dataDirectory.appendingPathComponent("churn_recent.csv"), name: "data/churn_recent.csv"),
                schema: schema, options: DatasetOptions(maxPSI: 10), outputDirectory: dir.appendingPathComponent("recent"),
                baselineDirectory: dir.appendingPathComponent("churn"))
            #expect(recent.table.rowCount == 1500)
            let drift = try #require(recent.drift)
            // Mild drift: some columns move, none past the default max_psi of 0.2.
            #expect(drift.entries.allSatisfy { $0.psi < 0.2 })
            #expect(drift.entries.contains { $0.psi > 0.01 })
        }
    }
}

extension ExampleDataTests {
    @Test func churnFeaturesMapBackExactly() throws {
        try withTempDirectory { dir in
            let schema = try Schema(parsing: Self.schema)
            let csvURL = Self.dataDirectory.appendingPathComponent("churn.csv")
            _ = try DatasetBuilder.build(
                source: CSVSource(url: csvURL, name: "data/churn.csv"), schema: schema, options: DatasetOptions(),
                outputDirectory: dir.appendingPathComponent("churn"))
            let (table, schemaFile) = try DatasetBuilder.load(directory: dir.appendingPathComponent("churn"))
            let spec = try FeatureSpec(options: [
                "label": "churned", "standardize": "monthly_charges", "log1p": "total_charges",
                "bucketize": "tenure:6|12|24|48", "impute": "total_charges:median",
                "one_hot": "contract, internet_service, online_security, tech_support, payment_method",
                "split": "0.8", "stratify": "true",
            ], seed: 42)
            let out = dir.appendingPathComponent("features")
            let r = try FeatureBuilder.build(dataset: table, schemaFile: schemaFile, spec: spec, outputDirectory: out)
            let train = try FeatureMatrix.read(from: out.appendingPathComponent("train.bin"))
            let test = try FeatureMatrix.read(from: out.appendingPathComponent("test.bin"))
            #expect(train.features.rows == 4000)
            #expect(test.features.rows == 1000)
            #expect(r.transform.featureNames.count == 1 + 5 + 1 + 3 + 3 + 3 + 3 + 4 + 1 + 1)
            // Churn rate is the same in both parts (stratified), to a row.
            let trainRate = (train.labels ?? []).reduce(0, +) / 4000
            let testRate = (test.labels ?? []).reduce(0, +) / 1000
            #expect(abs(trainRate - testRate) < 0.001)
            // Raw test lines (label column cut off) map to exactly test.bin.
            let lines = try String(contentsOf: csvURL, encoding: .utf8).split(separator: "\n").map(String.init)
            let drop = { (l: String) in l.split(separator: ",", omittingEmptySubsequences: false).dropLast().joined(separator: ",") }
            var raw = drop(lines[0]) + "\n"
            for row in r.testRows { raw += drop(lines[table.lines[row] - 1]) + "\n" }
            let rawURL = dir.appendingPathComponent("raw.csv")
            try Data(raw.utf8).write(to: rawURL)
            let mapped = try RawRowMapper(transformFile: out.appendingPathComponent("transform.json")).map(csv: rawURL)
            #expect(mapped.rowErrors.isEmpty)
            #expect(mapped.matrix == (try FeatureMatrix.read(from: out.appendingPathComponent("test.bin"))).features)
        }
    }
}
