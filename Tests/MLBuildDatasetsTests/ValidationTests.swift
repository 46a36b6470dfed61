import Foundation
import Testing
@testable import MLBuildDatasets

@Suite struct ValidationTests {
    func ingest(_ csv: String, _ schema: String, _ options: DatasetOptions = DatasetOptions()) throws -> (ColumnarTable, ValidationReport) {
        try DatasetIngester.ingest(CSVSource(name: "d.csv", text: csv), schema: try Schema(parsing: schema), options: options)
    }

    @Test func cleanDataPasses() throws {
        let (table, report) = try ingest("id,x,ok\nA,1.5,yes\nB,,No\n", "id: string id unique, x: float nullable, ok: bool")
        #expect(report.passed)
        #expect(report.description == "d.csv: 2 rows, all rules passed")
        #expect(table.rowCount == 2)
        #expect(table.lines == [2, 3])
        #expect(table.columns[1].nulls == [false, true])
        #expect(table.columns[2].storage == .bool([true, false]))
    }

    @Test func everyViolatedRuleIsReportedWithLinesAndFirstValue() throws {
        // Line 3's quoted field runs onto line 4, so the record after it starts on line 5.
        let csv = """
            id,tenure,contract,charge,note
            A,5,one_year,10,x
            B,-1,weekly,abc,"multi
            line"
            A,80,one_year,,y
            C,-2,one_year,5,z
            D,1,two_year,7,
            E,-3,one_year,7,w
            F,-4,one_year,7,w
            G,-5,one_year,7,w
            H,-6,one_year,7,w

            """
        let (_, report) = try ingest(
            csv, "id: string unique, tenure: int min=0 max=72, contract: category(one_year, two_year), charge: float, note: string")
        #expect(report.violations.map(\.description) == [
            "column 'id': unique violated by 1 row (line 5; first value 'A')",
            "column 'tenure': min=0 violated by 6 rows (first lines 3, 6, 8, 9, 10; first value '-1')",
            "column 'tenure': max=72 violated by 1 row (line 5; first value '80')",
            "column 'contract': category(one_year, two_year) violated by 1 row (line 3; first value 'weekly')",
            "column 'charge': type float violated by 1 row (line 3; first value 'abc')",
            "column 'charge': not null violated by 1 row (line 5)",
            "column 'note': not null violated by 1 row (line 7)",
        ])
        #expect(report.description.hasPrefix("d.csv: validation failed, 7 rules violated:\n  column 'id': unique"))
    }

    @Test func headerMustMatchTheSchema() throws {
        #expect(throws: DatasetError.header(path: "d.csv", message: "columns not declared in the schema: 'extra'; declared columns missing from the file: 'b'")) {
            _ = try ingest("a,extra\n1,2\n", "a: int, b: int")
        }
    }

    @Test func datasetLevelRules() throws {
        let csv = "a,b,c\n1,x,\n1,x,\n2,x,5\n"
        let (_, report) = try ingest(
            csv, "a: int, b: string, c: int nullable", DatasetOptions(maxNullFraction: 0.5, minRows: 10, uniqueKey: ["a", "b"]))
        #expect(report.violations.map(\.description) == [
            "column 'c': max_null_fraction=0.5 violated: 2 of 3 rows null (0.6667) (lines 2, 3)",
            "dataset: min_rows=10 violated: 3 rows",
            "dataset: unique(a, b) violated by 1 row (line 3; first value '1, x')",
        ])
    }

    @Test func nullSpellings() throws {
        let (table, report) = try ingest(
            "x,s\n NA ,a\n?,b\n  ,c\n\t,\"\"\nna,NA\n", "x: float nullable, s: string nullable", DatasetOptions(nullValues: ["NA", "?"]))
        // "na" is not "NA": null spellings are case-sensitive, so it is a type error.
        #expect(table.columns[0].nulls == [true, true, true, true, true])
        #expect(report.violations.map(\.description) == ["column 'x': type float violated by 1 row (line 6; first value 'na')"])
        #expect(table.columns[1].nulls == [false, false, false, true, true])
    }

    @Test func boolSpellings() throws {
        let csv = "b\ntrue\nFALSE\nYes\nno\n1\n0\nT\nf\ny\nN\nChurned\nStayed\nmaybe\n"
        let (table, report) = try ingest(csv, "b: bool", DatasetOptions(trueValues: ["Churned"], falseValues: ["stayed"]))
        #expect(table.columns[0].storage == .bool([true, false, true, false, true, false, true, false, true, false, true, false, false]))
        #expect(report.violations.map(\.description) == ["column 'b': type bool violated by 1 row (line 14; first value 'maybe')"])
    }

    @Test func conflictingBoolSpellingsAreAnOptionError() {
        #expect(throws: DatasetError.option(key: "true_values", offset: nil, message: "'no' is both a true and a false spelling")) {
            _ = try DatasetOptions(options: ["true_values": "No"])
        }
    }

    @Test func optionsParseFromMlfileValues() throws {
        let o = try DatasetOptions(options: [
            "max_null_fraction": "0.1", "min_rows": "100", "unique": "a, b", "null_values": "NA, ?",
            "true_values": "Churned", "false_values": "Stayed", "max_psi": "0.25",
        ])
        #expect(o == DatasetOptions(maxNullFraction: 0.1, minRows: 100, uniqueKey: ["a", "b"], nullValues: ["NA", "?"],
                                    trueValues: ["Churned"], falseValues: ["Stayed"], maxPSI: 0.25))
        #expect(throws: DatasetError.option(key: "min_rows", offset: nil, message: "expected a non-negative integer, got 'many'")) {
            _ = try DatasetOptions(options: ["min_rows": "many"])
        }
    }

    @Test func buildWritesNothingWhenTheGateFails() throws {
        try withTempDirectory { dir in
            let out = dir.appendingPathComponent("out")
            #expect(throws: DatasetValidationError.self) {
                _ = try DatasetBuilder.build(
                    source: CSVSource(name: "d.csv", text: "a\n-1\n"), schema: try Schema(parsing: "a: int min=0"),
                    options: DatasetOptions(), outputDirectory: out)
            }
            #expect(!FileManager.default.fileExists(atPath: out.path))
        }
    }
}
