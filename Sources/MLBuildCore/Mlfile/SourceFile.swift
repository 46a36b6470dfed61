/// The text of a file the user wrote, kept by line so that diagnostics can quote it.
public struct SourceFile: Sendable {
    /// The path as the user should see it (relative to the working directory when possible).
    public let path: String
    public let lines: [String]

    public init(path: String, text: String) {
        self.path = path
        // Split on bytes: in a Swift String "\r\n" is one Character and would not split on "\n".
        var lines = Array(text.utf8).split(separator: 10, omittingEmptySubsequences: false).map { line -> String in
            String(decoding: line.last == 13 ? line.dropLast() : line[...], as: UTF8.self)
        }
        if lines.last == "" { lines.removeLast() }
        self.lines = lines
    }

    public func location(line: Int, column: Int) -> SourceLocation {
        SourceLocation(file: path, line: line, column: column)
    }

    /// A diagnostic pointing at `line:column`, carrying that line for the caret.
    public func diagnostic(_ message: String, line: Int, column: Int, notes: [String] = []) -> Diagnostic {
        let text = line >= 1 && line <= lines.count ? lines[line - 1] : nil
        return Diagnostic(message, at: location(line: line, column: column), sourceLine: text, notes: notes)
    }

    public func diagnostic(_ message: String, at location: SourceLocation, notes: [String] = []) -> Diagnostic {
        diagnostic(message, line: location.line, column: location.column, notes: notes)
    }
}
