import Foundation
import MLBuildTestSupport
import Testing

/// `schema_file` (docs/ml.md): a dataset whose schema lives in a file. The file is an input (a
/// change rebuilds the dataset), `#` comments are allowed, and an error in it names the file,
/// line and column.
@Suite("a dataset's schema_file")
struct SchemaFileTests {
    static let mlfile = """
    dataset rows
        source = data/rows.csv
        schema_file = data/rows.schema
        min_rows = 50
    """

    /// MLFixtures.schema, one column a line, with comments.
    static let schema = """
    # the churn-like fixture
    id: string id unique,
    amount: float min=0,   # never negative
    plan: category(basic, plus, pro),
    score: float nullable,
    active: bool,
    label: bool

    """

    @Test func theSchemaComesFromTheFileAndAChangeRebuilds() throws {
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile)
        try ws.write("data/rows.csv", MLFixtures.csv(rows: 120))
        try ws.write("data/rows.schema", Self.schema)
        let first = try ws.build()
        #expect(first.result.status == 0, "\(first.result.output)")
        #expect(first.targets("built") == ["dataset:rows"])
        let written = try MLFixtures.json(ws, "build/dataset/rows/schema.json")
        let columns = try #require(written["columns"] as? [[String: Any]])
        #expect(columns.map { $0["name"] as? String } == ["id", "amount", "plan", "score", "active", "label"])
        #expect(columns.map { $0["type"] as? String } == ["string", "float", "category", "float", "bool", "bool"])
        #expect(try ws.build().targets("fresh") == ["dataset:rows"])

        // A rule the data breaks: the dataset is built again and fails on it.
        try ws.write("data/rows.schema", Self.schema.replacingOccurrences(of: "amount: float min=0,", with: "amount: float min=0 max=5,"))
        let stricter = try ws.build(["--explain"])
        #expect(stricter.result.status == 1)
        #expect(stricter.statuses == ["dataset:rows": "failed"])
        #expect(stricter.result.stderr.contains("explain: dataset:rows: input data/rows.schema changed"), "\(stricter.result.stderr)")
        #expect(stricter.result.stderr.contains("column 'amount': max=5 violated by "), "\(stricter.result.stderr)")

        // Back to the first schema: the earlier result comes from the cache.
        try ws.write("data/rows.schema", Self.schema)
        #expect(try ws.build().targets("restored") == ["dataset:rows"])
    }

    @Test func anErrorInTheSchemaFileNamesItsLineAndColumn() throws {
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile)
        try ws.write("data/rows.csv", MLFixtures.csv(rows: 120))
        try ws.write("data/rows.schema", Self.schema.replacingOccurrences(of: "plan: category(basic, plus, pro),", with: "plan: categorie,"))
        let run = try ws.build()
        #expect(run.result.status == 1)
        #expect(run.statuses == ["dataset:rows": "failed"])
        #expect(run.result.stderr.contains("""
            data/rows.schema:4:7: error: schema column 3 'plan: categorie': unknown type 'categorie' (expected int, float, bool, string or category(...))
                plan: categorie,
                      ^
            """), "\(run.result.stderr)")
        // Columns count bytes, as in an Mlfile: two bytes for 'é' before the type.
        try ws.write("data/rows.schema", Self.schema.replacingOccurrences(of: "plan: category(basic, plus, pro),", with: "plän: categorie,"))
        let accented = try ws.build()
        #expect(accented.result.stderr.contains("data/rows.schema:4:8: error: schema column 3 'plän: categorie': unknown type"), "\(accented.result.stderr)")
        #expect(!ws.exists("build/dataset/rows"))
    }
}
