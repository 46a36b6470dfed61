/// The text of a file the user wrote, kept by line so that diagnostics can quote it.
public struct SourceFile: Sendable {
    /// The path as the user should see it (relative to the working directory when possible).
    public let path: String
    public let lines: [String]

    public init(path: String, text: String) {
        self.path = path
        // Split on bytes: in a Swift String "\r\n" is one Character and would not split on "\n".
        // In place: no copy of the whole text, no array of slices.
        var lines: [String] = []
        var text = text
        text.withUTF8 { bytes in
            func piece(_ start: Int, _ end: Int) -> String {
                let end = end > start && bytes[end - 1] == 13 ? end - 1 : end
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
            }
            var start = 0
            for i in 0..<bytes.count where bytes[i] == 10 {
                lines.append(piece(start, i))
                start = i + 1
            }
            lines.append(piece(start, bytes.count))
        }
        if lines.last == "" { lines.removeLast() }
        self.lines = lines
    }

    /// Reads a file's bytes as text, refusing what would otherwise be silently changed: a NUL
    /// byte (a C string ends there: a command would be cut short) and bytes that are not UTF-8
    /// (decoding would replace them with U+FFFD) are errors at their line:column (columns
    /// count bytes, as the parser's do). A leading UTF-8 byte order mark is skipped, so columns
    /// count from the first character after it.
    public static func decode(path: String, bytes: [UInt8]) throws -> SourceFile {
        let body = bytes.starts(with: byteOrderMark) ? bytes[3...] : bytes[...]
        if !body.contains(0), String(validating: body, as: UTF8.self) != nil {
            return SourceFile(path: path, text: String(decoding: body, as: UTF8.self))
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
        let text = line >= 1 && line <= lines.count ? lines[line - 1] : nil
        return Diagnostic(message, at: location(line: line, column: column), sourceLine: text, notes: notes)
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
