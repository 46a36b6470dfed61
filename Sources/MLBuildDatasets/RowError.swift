/// A raw row that breaks the schema at prediction time: excluded from the matrix, reported.
public struct RowError: Sendable, Equatable, CustomStringConvertible {
    /// Physical 1-based CSV line (header = 1).
    public var line: Int
    public var column: String
    /// The rule (`type int`, `not null`, `min=0`, `category(a, b)`) and the offending value.
    public var message: String

    public init(line: Int, column: String, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "line \(line): column '\(column)': \(message)" }
}
