/// The invariant every diagnostic about a file keeps, checked by the Mlfile fuzzer and by tests:
/// it names the file, a line of it, and a column on that line (columns count bytes; one past the
/// end is allowed, the caret of an empty value or of the end of a line).
extension Diagnostic {
    /// What is wrong with where the diagnostic points in `source`, or nil when it is inside.
    public func placementProblem(in source: SourceFile) -> String? {
        guard let location else { return "diagnostic without a location: \(message)" }
        guard location.file == source.path else { return "file '\(location.file)' is not '\(source.path)': \(message)" }
        guard let line = source.line(location.line) else {
            return "line \(location.line) outside 1...\(source.lineCount): \(message)"
        }
        let width = line.utf8.count
        guard location.column >= 1, location.column <= width + 1 else {
            return "column \(location.column) outside 1...\(width + 1) on line \(location.line): \(message)"
        }
        return nil
    }
}
