/// The text of a file the user wrote, kept as its bytes with a table of where each line starts,
/// so that diagnostics can quote a line and the parser can read lines in place (one String per
/// line was a sixth of loading a 10,000-target Mlfile).
public struct SourceFile: Sendable {
    /// The path as the user should see it (relative to the working directory when possible).
    public let path: String
    /// The text's UTF-8 bytes.
    public let bytes: [UInt8]
    /// Each line's start and end (without its "\n", and without the "\r" of a "\r\n").
    private let starts: [Int]
    private let ends: [Int]

    public init(path: String, text: String) {
        self.init(path: path, bytes: Array(text.utf8))
    }

    /// `bytes` must be valid UTF-8 (see `decode`).
    init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
        // Split on bytes: in a Swift String "\r\n" is one Character and would not split on "\n".
        var starts: [Int] = [], ends: [Int] = []
        bytes.withUnsafeBufferPointer { b in
            var start = 0
            for i in 0..<b.count where b[i] == 10 {
                starts.append(start)
                ends.append(i > start && b[i - 1] == 13 ? i - 1 : i)
                start = i + 1
            }
            // The text after the last "\n", unless empty (a lone "\r" there counts as empty).
            let end = b.count > start && b[b.count - 1] == 13 ? b.count - 1 : b.count
            if end > start {
                starts.append(start)
                ends.append(end)
            }
        }
        self.starts = starts
        self.ends = ends
    }

    /// How many lines the text has (a last line without "\n" counts; an empty text has none).
    public var lineCount: Int { starts.count }

    /// Line `number` (1-based) as text; nil outside the file.
    public func line(_ number: Int) -> String? {
        guard number >= 1, number <= starts.count else { return nil }
        return String(decoding: bytes[starts[number - 1] ..< ends[number - 1]], as: UTF8.self)
    }

    /// Line `number`'s byte range in `bytes` (1-based; the caller keeps to 1...lineCount).
    public func byteRange(ofLine number: Int) -> Range<Int> { starts[number - 1] ..< ends[number - 1] }

    /// Calls `body` with line `number`'s bytes, in place (1-based; within 1...lineCount).
    public func withLine<R>(_ number: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try bytes.withUnsafeBufferPointer { all in try body(UnsafeBufferPointer(rebasing: all[starts[number - 1] ..< ends[number - 1]])) }
    }

    /// Every line as text (tests and tools; the parser reads lines in place).
    public var lines: [String] { (1 ... max(lineCount, 1)).prefix(lineCount).compactMap { line($0) } }

    /// Reads a file's bytes as text, refusing what would otherwise be silently changed: a NUL
    /// byte (a C string ends there: a command would be cut short) and bytes that are not UTF-8
    /// (decoding would replace them with U+FFFD) are errors at their line:column (columns
    /// count bytes, as the parser's do). A leading UTF-8 byte order mark is skipped, so columns
    /// count from the first character after it.
    public static func decode(path: String, bytes: [UInt8]) throws -> SourceFile {
        let body = bytes.starts(with: byteOrderMark) ? bytes[3...] : bytes[...]
        if !body.contains(0), String(validating: body, as: UTF8.self) != nil {
            return SourceFile(path: path, bytes: Array(body))
        }
        var problems: [(line: Int, column: Int, message: String)] = []
        var lineNumber = 0
        for line in body.split(separator: 10, omittingEmptySubsequences: false) {
            lineNumber += 1
            var parser = Unicode.UTF8.ForwardParser()
            var iterator = line.makeIterator()
            var offset = 0
            decoding: while problems.count < maximumProblems {
                switch parser.parseScalar(from: &iterator) {
                case let .valid(encoded):
                    if encoded.count == 1, encoded.first == 0 {
                        problems.append((lineNumber, offset + 1, "NUL byte in \(path): remove it (a command or value would end here)"))
                    }
                    offset += encoded.count
                case let .error(length):
                    let byte = line[line.startIndex + offset]
                    problems.append((lineNumber, offset + 1, "invalid UTF-8 in \(path) (byte 0x\(String(byte, radix: 16, uppercase: true)) "
                        + "does not start a valid character): save the file as UTF-8"))
                    offset += length
                case .emptyInput:
                    break decoding
                }
            }
        }
        // Shown with U+FFFD for bad bytes and U+2400 (a visible NUL symbol) for NUL.
        let shown = SourceFile(path: path, text: String(decoding: body, as: UTF8.self).replacingNUL())
        throw DiagnosticList(problems.map { shown.diagnostic($0.message, line: $0.line, column: $0.column) })
    }

    static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]
    /// A binary file given as an Mlfile would otherwise produce thousands of errors.
    static let maximumProblems = 10

    public func location(line: Int, column: Int) -> SourceLocation {
        SourceLocation(file: path, line: line, column: column)
    }

    /// A diagnostic pointing at `line:column`, carrying that line for the caret.
    public func diagnostic(_ message: String, line: Int, column: Int, notes: [String] = []) -> Diagnostic {
        Diagnostic(message, at: location(line: line, column: column), sourceLine: self.line(line), notes: notes)
    }

    public func diagnostic(_ message: String, at location: SourceLocation, notes: [String] = []) -> Diagnostic {
        diagnostic(message, line: location.line, column: location.column, notes: notes)
    }
}

extension String {
    fileprivate func replacingNUL() -> String {
        String(String.UnicodeScalarView(unicodeScalars.map { $0 == "\0" ? "\u{2400}" : $0 }))
    }
}
