import Testing
@testable import MLBuildDatasets

@Suite struct SchemaTextTests {
    static let churn = """
        customer_id: string id, tenure: int min=0 max=72, contract: category(month-to-month, one_year, two_year), \
        monthly_charges: float min=0, total_charges: float nullable, churned: bool
        """

    @Test func parsesTheIssueExample() throws {
        let s = try Schema(parsing: Self.churn)
        #expect(s.columns == [
            ColumnSpec(name: "customer_id", type: .string, isID: true),
            ColumnSpec(name: "tenure", type: .int, min: 0, max: 72),
            ColumnSpec(name: "contract", type: .category(["month-to-month", "one_year", "two_year"])),
            ColumnSpec(name: "monthly_charges", type: .float, min: 0),
            ColumnSpec(name: "total_charges", type: .float, nullable: true),
            ColumnSpec(name: "churned", type: .bool),
        ])
    }

    @Test func quotedNamesCommentsNewlinesAndTrailingComma() throws {
        let text = "\"monthly charges\": float unique,   # the bill\n"
            + "payment: category(\"Bank transfer (automatic)\", Mailed check, \"say \"\"hi\"\"\"),\n"
        let s = try Schema(parsing: text)
        #expect(s.columns == [
            ColumnSpec(name: "monthly charges", type: .float, unique: true),
            ColumnSpec(name: "payment", type: .category(["Bank transfer (automatic)", "Mailed check", "say \"hi\""])),
        ])
    }

    @Test func textRoundTrips() throws {
        let s = try Schema(parsing: Self.churn + ", \"odd, name\": category(\"a b\", c) nullable unique")
        #expect(try Schema(parsing: s.text()) == s)
        #expect(s.text().hasPrefix("customer_id: string id,\n    tenure: int min=0 max=72,\n"))
    }

    @Test(arguments: [
        ("a: int, b: integer", SchemaParseError(itemIndex: 2, item: "b: integer", offset: 11, message: "unknown type 'integer' (expected int, float, bool, string or category(...))")),
        ("a int", SchemaParseError(itemIndex: 1, item: "a int", offset: 2, message: "expected ':' after column name 'a' (write `a: TYPE`)")),
        ("a: int, , b: int", SchemaParseError(itemIndex: 2, item: "", offset: 7, message: "empty column spec (two commas in a row?)")),
        ("a: bool min=1", SchemaParseError(itemIndex: 1, item: "a: bool min=1", offset: 8, message: "'min=' applies only to int and float columns, not bool")),
        ("a: int min=x", SchemaParseError(itemIndex: 1, item: "a: int min=x", offset: 11, message: "'min=' needs a finite number")),
        ("a: int max=1 min=2", SchemaParseError(itemIndex: 1, item: "a: int max=1 min=2", offset: 0, message: "min=2 is greater than max=1")),
        ("a: int, a: float", SchemaParseError(itemIndex: 2, item: "a: float", offset: 7, message: "duplicate column 'a' (first declared as column 1)")),
        ("a: int nulable", SchemaParseError(itemIndex: 1, item: "a: int nulable", offset: 7, message: "unknown attribute 'nulable' (expected nullable, id, pii, unique, min=X, max=Y)")),
        ("a: category(x, y", SchemaParseError(itemIndex: 1, item: "a: category(x", offset: 11, message: "unclosed '('")),
        ("a: category(x, x)", SchemaParseError(itemIndex: 1, item: "a: category(x, x)", offset: 15, message: "category value 'x' listed twice")),
        ("a: category", SchemaParseError(itemIndex: 1, item: "a: category", offset: 11, message: "category needs its values: category(a, b, c)")),
        ("a: int nullable nullable", SchemaParseError(itemIndex: 1, item: "a: int nullable nullable", offset: 16, message: "attribute 'nullable' given twice")),
        ("", SchemaParseError(itemIndex: 0, item: "", offset: 0, message: "schema declares no columns")),
    ])
    func errorsNameTheItemAndOffset(_ text: String, _ expected: SchemaParseError) {
        #expect(throws: expected) { _ = try Schema(parsing: text) }
    }

    @Test func errorDescriptionReadsWell() {
        let e = SchemaParseError(itemIndex: 2, item: "b: integer", offset: 11, message: "unknown type 'integer'")
        #expect(e.description == "schema column 2 'b: integer' (offset 11): unknown type 'integer'")
    }
}
