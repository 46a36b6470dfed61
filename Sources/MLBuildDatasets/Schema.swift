/// The declared columns of a dataset, in declaration order.
///
/// Parsed from schema text (`Schema(parsing:)`, see docs/formats.md) and written as `schema.json`.
public struct Schema: Sendable, Equatable, Hashable {
    public var columns: [ColumnSpec]

    public init(columns: [ColumnSpec]) {
        self.columns = columns
    }

    /// Parses schema text: comma-separated column specs; throws `SchemaParseError`.
    public init(parsing text: String) throws(SchemaParseError) {
        self = try SchemaText.parse(text)
    }

    /// Parses schema text reporting every column item's problem, not only the first (for an
    /// Mlfile, where all problems are shown at once); the schema when there is none.
    public static func parsingAll(_ text: String) -> (schema: Schema?, errors: [SchemaParseError]) {
        SchemaText.parseAll(text)
    }

    public func index(of name: String) -> Int? {
        columns.firstIndex { $0.name == name }
    }

    public subscript(name: String) -> ColumnSpec? {
        index(of: name).map { columns[$0] }
    }

    /// Schema text ready to paste after `schema = ` in an Mlfile: one column per line, the lines
    /// after the first indented by `indent`, each but the last ending with a comma.
    public func text(indent: String = "    ") -> String {
        columns.enumerated().map { i, c in
            (i == 0 ? "" : indent) + c.text + (i == columns.count - 1 ? "" : ",")
        }.joined(separator: "\n")
    }
}
