import Foundation
import Testing
import MLBuildBasics
@testable import MLBuildDatasets

/// `pii` columns: their values stay in data.bin (issue 17, part 1).
@Suite struct PIITests {
    static let schemaText = "customer_id: string id pii, email: string pii, phone: int pii nullable, plan: category(basic, pro), spend: float, churned: bool"
    static let emails = ["ann@example.com", "bob@example.org", "cy@example.net", "dee@example.com"]
    static let csv = """
        customer_id,email,phone,plan,spend,churned
        C-1001,ann@example.com,5550101,basic,10.5,false
        C-1002,bob@example.org,,pro,20.25,true
        C-1003,cy@example.net,5550103,basic,7.0,false
        C-1004,dee@example.com,5550104,pro,31.5,true

        """
    /// Every raw pii value of `csv`.
    static let rawValues = ["C-1001", "C-1002", "C-1003", "C-1004", "5550101", "5550103", "5550104"] + emails

    @Test func piiParsesPrintsAndRoundTripsThroughSchemaJSON() throws {
        let schema = try Schema(parsing: Self.schemaText)
        #expect(schema["customer_id"]?.isPII == true && schema["customer_id"]?.isID == true)
        #expect(schema["email"]?.isPII == true && schema["email"]?.isID == false)
        #expect(schema["plan"]?.isPII == false)
        #expect(schema["customer_id"]?.text == "customer_id: string id pii")
        #expect(try Schema(parsing: schema.columns.map(\.text).joined(separator: ", ")) == schema)
        let json = try JSONEncoder().encode(schema)
        #expect(try JSONDecoder().decode(Schema.self, from: json) == schema)
        // Only a pii column says so: a schema without one keeps the bytes it always had.
        let plain = String(decoding: try JSONEncoder().encode(ColumnSpec(name: "a", type: .int)), as: UTF8.self)
        #expect(!plain.contains("pii"))
        #expect(String(decoding: try JSONEncoder().encode(ColumnSpec(name: "a", type: .int, isPII: true)), as: UTF8.self)
            .contains("\"pii\":true"))
        #expect { try Schema(parsing: "a: int pii pii") } throws: { "\($0)".contains("attribute 'pii' given twice") }
    }

    @Test func statsOfAPIIColumnAreCountsAndNullsOnly() throws {
        let table = try DatasetIngester.ingestValidated(CSVSource(name: "t.csv", text: Self.csv), schema: try Schema(parsing: Self.schemaText))
        let stats = DatasetStats.compute(table)
        for name in ["customer_id", "email", "phone"] {
            let s = try #require(stats.columns[name])
            #expect(s == ColumnStats(type: s.type, count: s.count, nulls: s.nulls), "\(name): \(s)")
        }
        #expect(stats.columns["phone"]?.nulls == 1 && stats.columns["phone"]?.count == 3)
        #expect(stats.columns["plan"]?.frequencies?.isEmpty == false, "other columns keep their statistics")
        let json = String(decoding: try CanonicalJSON.encode(stats), as: UTF8.self)
        for value in Self.rawValues { #expect(!json.contains(value), "stats.json holds '\(value)'") }
    }

    @Test func validationMessagesShowPIIValuesAsAPlaceholder() throws {
        // Each rule a pii cell can break: type, unique, min, category, and a unique key over columns.
        let schema = try Schema(parsing: "email: string pii unique, age: int pii min=18, tier: category(a, b) pii, n: int")
        let text = "email,age,tier,n\nzed@example.com,17,zz,1\nzed@example.com,abc,a,2\n"
        let (_, report) = try DatasetIngester.ingest(
            CSVSource(name: "p.csv", text: text), schema: schema, options: DatasetOptions(uniqueKey: ["email", "n"]))
        let messages = report.violations.map(\.description)
        #expect(messages.count >= 4)
        #expect(messages.allSatisfy { !$0.contains("first value") || $0.contains("first value '<pii>") }, "\(messages)")
        for leaked in ["zed@example.com", "17", "abc", "zz"] {
            #expect(!messages.joined(separator: "\n").contains("'\(leaked)'"), "\(messages)")
        }
        #expect(messages.contains { $0.hasPrefix("column 'age': min=18 violated") && $0.contains("first value '<pii>'") })
        #expect(messages.contains { $0.hasPrefix("column 'email': unique violated") && $0.contains("first value '<pii>'") })
        // A non-pii column still shows its value.
        let plain = try DatasetIngester.ingest(CSVSource(name: "q.csv", text: "n\nx\n"), schema: try Schema(parsing: "n: int")).1
        #expect(plain.violations.map(\.description) == ["column 'n': type int violated by 1 row (line 2; first value 'x')"])
    }

    @Test func driftSkipsPIIColumns() throws {
        try withTempDirectory { dir in
            let schema = try Schema(parsing: Self.schemaText)
            _ = try DatasetBuilder.build(source: CSVSource(name: "a.csv", text: Self.csv), schema: schema, options: DatasetOptions(),
                                         outputDirectory: dir.appendingPathComponent("base"))
            let now = try DatasetBuilder.build(source: CSVSource(name: "b.csv", text: Self.csv), schema: schema, options: DatasetOptions(),
                                               outputDirectory: dir.appendingPathComponent("now"), baselineDirectory: dir.appendingPathComponent("base"))
            let drift = try #require(now.drift)
            #expect(drift.skipped.map(\.column) == ["customer_id", "email", "phone"])
            #expect(drift.skipped.map(\.reason) == ["id column", "pii column", "pii column"])
            #expect(drift.entries.map(\.column) == ["churned", "plan", "spend"])
            for file in try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("now").path) where file != "data.bin" {
                let bytes = try String(decoding: Data(contentsOf: dir.appendingPathComponent("now/\(file)")), as: UTF8.self)
                for value in Self.rawValues { #expect(!bytes.contains(value), "\(file) holds '\(value)'") }
            }
        }
    }

    @Test func aPIIColumnIsNoFeatureUnlessAllowed() throws {
        let schema = try Schema(parsing: Self.schemaText)
        var spec = FeatureSpec(label: "churned", oneHot: ["plan"])
        #expect(FeatureBuilder.piiProblems(spec, schema: schema).map(\.message) == [
            "column 'email' is pii and would be a feature: drop it, or allow it with `allow_pii = email`",
            "column 'phone' is pii and would be a feature: drop it, or allow it with `allow_pii = phone`",
        ])
        #expect { try FeatureBuilder.check(spec, schema: schema) } throws: { "\($0)".contains("column 'email' is pii and would be a feature") }
        // Dropped, or allowed (email is a string: it must be one-hot encoded then).
        spec.drop = ["email"]
        spec.allowPII = ["phone"]
        spec.standardize = ["phone"]
        spec.impute = [("phone", .median)]
        #expect(FeatureBuilder.piiProblems(spec, schema: schema).isEmpty)
        try FeatureBuilder.check(spec, schema: schema)
        // allow_pii must name a pii column of the schema.
        spec.allowPII = ["phone", "spend", "nope"]
        #expect(FeatureBuilder.piiProblems(spec, schema: schema).map(\.message) == [
            "allow_pii: column 'spend' is not marked pii in the schema", "allow_pii: column 'nope' is not in the schema",
        ])
        #expect(try FeatureSpec(options: ["label": "churned", "allow_pii": "phone, email"], seed: 0).allowPII == ["phone", "email"])
        // A pii label's classes would be in the model.
        let labelled = try Schema(parsing: "segment: category(a, b) pii, x: float")
        #expect(FeatureBuilder.piiProblems(FeatureSpec(label: "segment"), schema: labelled).map(\.message) == [
            "column 'segment' is pii and is the label: its values would be in the model; allow it with `allow_pii = segment`",
        ])
        #expect(FeatureBuilder.piiProblems(FeatureSpec(label: "segment", allowPII: ["segment"]), schema: labelled).isEmpty)
    }
}

/// `pseudonymize`: HMAC-SHA-256 tokens in place of a string column's values.
@Suite struct PseudonymizerTests {
    @Test func tokensAreHMACSHA256InHex() {
        // RFC 4231, test case 2.
        let p = Pseudonymizer(columns: [], key: Array("Jefe".utf8))
        #expect(p.token("what do ya want for nothing?") == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(p.token("a") == p.token("a"))
        #expect(p.token("a") != Pseudonymizer(columns: [], key: Array("other".utf8)).token("a"))
    }

    @Test func tokensAreTheSameOnAnyThreadCount() async throws {
        let p = Pseudonymizer(columns: [], key: Array("k".utf8))
        let values = (0 ..< 10_000).map { "value-\($0)" }
        let serial = values.map(p.token)
        for threads in [1, 2, 8] {
            #expect(try await WorkBudget(threads: threads).run { p.tokens(values) } == serial)
        }
        #expect(Set(serial).count == values.count)
    }

    @Test func applyReplacesTheListedColumnsValuesAndKeepsTheirCodes() throws {
        let schema = try Schema(parsing: PIITests.schemaText)
        let table = try DatasetIngester.ingestValidated(CSVSource(name: "t.csv", text: PIITests.csv), schema: schema)
        let p = Pseudonymizer(columns: ["email", "customer_id"], key: Array("k3y".utf8))
        var pseudonymized = table
        try p.apply(to: &pseudonymized)
        for name in ["email", "customer_id"] {
            let before = try #require(table.column(named: name))
            let after = try #require(pseudonymized.column(named: name))
            for r in 0 ..< table.rowCount { #expect(after.text(at: r) == before.text(at: r).map(p.token)) }
        }
        #expect(pseudonymized.column(named: "plan") == table.column(named: "plan"))
        let encoded = String(decoding: pseudonymized.binaryData(), as: UTF8.self)
        for value in PIITests.rawValues where !value.allSatisfy(\.isNumber) { #expect(!encoded.contains(value), "\(value)") }
        #expect(Pseudonymizer.problems(columns: ["plan", "phone", "nope", "email"], schema: schema).map(\.message) == [
            "column 'plan' is category; pseudonymize applies to string columns",
            "column 'phone' is int; pseudonymize applies to string columns",
            "column 'nope' is not in the schema",
        ])
        var refused = table
        #expect { try Pseudonymizer(columns: ["phone"], key: [1]).apply(to: &refused) } throws: { "\($0)".contains("pseudonymize applies to string columns") }
    }
}
