#if canImport(Glibc)
import Glibc
#endif

/// The text of a file the user wrote, kept as its bytes with a table of where each line starts,
/// so that diagnostics can quote a line and the parser can read lines in place (one String per
/// line was a sixth of loading a 10,000-target Mlfile).
public struct SourceFile: Sendable {
    /// The path as the user should see it (relative to the working directory when possible).
    public let path: String
    /// The text's UTF-8 bytes.
    public let bytes: [UInt8]
    /// Where each line starts; a line ends one byte before the next one starts (its "\n"), the
    /// last one at `lastLineEnd`, and neither end counts the "\r" of a "\r\n".
    private let starts: [Int]
    private let lastLineEnd: Int

    public init(path: String, text: String) {
        self.init(path: path, bytes: Array(text.utf8))
    }

    /// `bytes` must be valid UTF-8 (see `decode`).
    init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
        // Split on bytes (in a Swift String "\r\n" is one Character and would not split on
        // "\n"), with memchr: a 100,000-target Mlfile has half a million lines.
        var starts: [Int] = []
        var lastLineEnd = 0
        bytes.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress else { return }
            var start = 0
            while start < b.count, let found = memchr(base + start, 10, b.count - start) {
                let newline = UnsafePointer<UInt8>(found.assumingMemoryBound(to: UInt8.self)) - base
                starts.append(start)
                lastLineEnd = newline
                start = newline + 1
            }
            // The text after the last "\n", unless empty (a lone "\r" there counts as empty).
            let end = b.count > start && b[b.count - 1] == 13 ? b.count - 1 : b.count
            if end > start {
                starts.append(start)
                lastLineEnd = b.count
            }
        }
        self.starts = starts
        self.lastLineEnd = lastLineEnd
    }

    /// Line `index` (0-based)'s byte range, without its "\r\n" or "\n".
    private func range(_ index: Int) -> Range<Int> {
        let start = starts[index]
        var end = index + 1 < starts.count ? starts[index + 1] - 1 : lastLineEnd
        if end > start, bytes[end - 1] == 13 { end -= 1 }
        return start ..< end
    }

    /// How many lines the text has (a last line without "\n" counts; an empty text has none).
    public var lineCount: Int { starts.count }

    /// Line `number` (1-based) as text; nil outside the file.
    public func line(_ number: Int) -> String? {
        guard number >= 1, number <= starts.count else { return nil }
        return String(decoding: bytes[range(number - 1)], as: UTF8.self)
    }

    /// Line `number`'s byte range in `bytes` (1-based; the caller keeps to 1...lineCount).
    public func byteRange(ofLine number: Int) -> Range<Int> { range(number - 1) }

    /// Calls `body` with line `number`'s bytes, in place (1-based; within 1...lineCount).
    public func withLine<R>(_ number: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let range = range(number - 1)
        return try bytes.withUnsafeBufferPointer { all in try body(UnsafeBufferPointer(rebasing: all[range])) }
    }

    /// Every line as text (tests and tools; the parser reads lines in place).
    public var lines: [String] { (1 ... max(lineCount, 1)).prefix(lineCount).compactMap { line($0) } }

    /// Reads a file's bytes as text, refusing what would otherwise be silently changed: a NUL
    /// byte (a C string ends there: a command would be cut short) and bytes that are not UTF-8
    /// (decoding would replace them with U+FFFD) are errors at their line:column (columns
    /// count bytes, as the parser's do). A leading UTF-8 byte order mark is skipped, so columns
    /// count from the first character after it.
    public static func decode(path: String, bytes: [UInt8]) throws -> SourceFile {
        let hasByteOrderMark = bytes.starts(with: byteOrderMark)
        let body = hasByteOrderMark ? bytes[3...] : bytes[...]
        if isPlainASCII(body) || (!body.contains(0) && String(validating: body, as: UTF8.self) != nil) {
            return SourceFile(path: path, bytes: hasByteOrderMark ? Array(body) : bytes)
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

    /// Whether `bytes` are ASCII without NUL (valid UTF-8 as they are), eight at a time: what
    /// almost every Mlfile is, checked without building a String of it.
    static func isPlainASCII(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.withUnsafeBytes { raw in
            let highBits: UInt64 = 0x8080_8080_8080_8080, ones: UInt64 = 0x0101_0101_0101_0101
            var offset = 0
            while offset + 8 <= raw.count {
                let word = raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                // A set high bit, or a zero byte (the classic `(w - 1s) & ~w & highs` test).
                if (word | ((word &- ones) & ~word)) & highBits != 0 { return false }
                offset += 8
            }
            while offset < raw.count {
                let byte = raw[offset]
                if byte == 0 || byte >= 0x80 { return false }
                offset += 1
            }
            return true
        }
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
