@testable import MLBuildCore
import Testing

/// The Mlfile's bytes are read as they are: a BOM is skipped, NUL and invalid UTF-8 are errors
/// at their line:column (a NUL used to cut a `run` command short when it reached the shell;
/// invalid bytes became U+FFFD).
@Suite("Mlfile bytes: BOM, NUL, UTF-8")
struct MlfileEncodingTests {
    func rendered(_ bytes: [UInt8]) -> [String] {
        do {
            _ = try Mlfile.load(path: "Mlfile", bytes: bytes, environment: [:])
            return []
        } catch let list as DiagnosticList {
            return list.diagnostics.map(\.rendered)
        } catch {
            return ["\(error)"]
        }
    }

    @Test func aLeadingByteOrderMarkIsSkippedAndColumnsStayRight() throws {
        let text = "task a\n    outputs = a.txt\n    run = echo hi > a.txt\n    ouputs = x\n"
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array(text.utf8)
        let mlfile = try Mlfile.load(path: "Mlfile", bytes: Array(bytes.dropLast("    ouputs = x\n".utf8.count)), environment: [:])
        #expect(mlfile.targets.map(\.reference.description) == ["task:a"])
        #expect(mlfile.targets.first?.nameLocation.column == 6)
        // The same file with an unknown key: the key's own diagnostic is reported by the rule
        // later; the parser still places the header at 1:1 and the body key at 4:5.
        let withKey = try Mlfile.load(path: "Mlfile", bytes: bytes, environment: [:])
        #expect(withKey.targets.first?.kindLocation == SourceLocation(file: "Mlfile", line: 1, column: 1))
        #expect(withKey.targets.first?.keyLocations["ouputs"] == SourceLocation(file: "Mlfile", line: 4, column: 5))
        // Through the String API too (U+FEFF is the same three bytes).
        #expect(try Mlfile.load(path: "Mlfile", text: "\u{FEFF}task b\n    run = true\n", environment: [:]).targets.count == 1)
    }

    @Test func aNulByteIsAnErrorAtItsLineAndColumn() {
        let bytes = Array("task a\n    run = echo safe".utf8) + [0] + Array("; rm -rf data\n".utf8)
        #expect(rendered(bytes) == ["""
        Mlfile:2:20: error: NUL byte in Mlfile: remove it (a command or value would end here)
            \("    run = echo safe\u{2400}; rm -rf data")
            \(String(repeating: " ", count: 19))^
        """])
    }

    @Test func invalidUTF8IsAnErrorAtItsLineAndColumnNotReplaced() {
        let bytes = Array("seed = 1\ntask a\n    run = echo caf".utf8) + [0xE9] + Array(" > out.txt\n".utf8)
        #expect(rendered(bytes) == ["""
        Mlfile:3:19: error: invalid UTF-8 in Mlfile (byte 0xE9 does not start a valid character): save the file as UTF-8
            \("    run = echo caf\u{FFFD} > out.txt")
            \(String(repeating: " ", count: 18))^
        """])
        // A truncated sequence at the end of a line, and a stray continuation byte: each reported.
        let two = Array("task a\n    run = x".utf8) + [0xC3] + Array("\n    description = ".utf8) + [0x80] + [10]
        let errors = rendered(two)
        #expect(errors.count == 2)
        #expect(errors.first?.hasPrefix("Mlfile:2:12: error: invalid UTF-8 in Mlfile (byte 0xC3") == true)
        #expect(errors.last?.hasPrefix("Mlfile:3:19: error: invalid UTF-8 in Mlfile (byte 0x80") == true)
    }

    @Test func validUTF8IsKept() throws {
        let mlfile = try Mlfile.load(path: "Mlfile", bytes: Array("task a\n    run = echo 'café ✓'\n".utf8), environment: [:])
        #expect(mlfile.targets.first?.values["run"].map { String(String.UnicodeScalarView($0.scalars)) } == "echo 'café ✓'")
    }

    @Test func aBinaryFileGivesAFewErrorsNotThousands() {
        let bytes = [UInt8](repeating: 0xFF, count: 100_000)
        #expect(rendered(bytes).count == 10)
    }
}

/// The line table (memchr over the bytes) and the eight-at-a-time ASCII check against the plain
/// definitions they replace.
@Suite("Mlfile bytes: lines and the ASCII check")
struct SourceFileLineTests {
    /// Lines as `split` finds them: on "\n", a "\r" before it dropped, a last empty line (or a
    /// lone "\r") not counted.
    func expectedLines(_ text: [UInt8]) -> [String] {
        var lines = text.split(separator: 10, omittingEmptySubsequences: false).map { line in
            String(decoding: line.last == 13 ? line.dropLast() : line, as: UTF8.self)
        }
        if let last = lines.last, last.isEmpty { lines.removeLast() }
        return lines
    }

    @Test(arguments: ["", "a", "a\n", "a\r\n", "a\nb", "a\r\nb\r\n", "\n\n", "a\n\r", "\r", "a\r", "\r\n\r\n", "x\ry\n z\n\n"])
    func linesAreSplitOnNewlinesWithoutTheirCarriageReturns(_ text: String) throws {
        let file = try SourceFile.decode(path: "Mlfile", bytes: Array(text.utf8))
        let lines = expectedLines(Array(text.utf8))
        #expect(file.lines == lines)
        #expect(file.lineCount == lines.count)
        for number in 1 ... max(file.lineCount, 1) where number <= file.lineCount {
            #expect(String(decoding: file.bytes[file.byteRange(ofLine: number)], as: UTF8.self) == lines[number - 1])
            #expect(file.withLine(number) { String(decoding: $0, as: UTF8.self) } == lines[number - 1])
        }
        #expect(file.line(0) == nil && file.line(file.lineCount + 1) == nil)
    }

    @Test func theASCIICheckAgreesWithTheDefinitionAtEveryLengthAndPosition() {
        for length in 0 ... 20 {
            let plain = [UInt8](repeating: 0x61, count: length)
            #expect(SourceFile.isPlainASCII(plain[...]))
            for position in 0 ..< length {
                for byte: UInt8 in [0, 0x7F, 0x80, 0xC3, 0xFF, 0x01] {
                    var bytes = plain
                    bytes[position] = byte
                    #expect(SourceFile.isPlainASCII(bytes[...]) == (byte != 0 && byte < 0x80), "length \(length) at \(position): \(byte)")
                    // A slice that does not start at 0 (the body after a byte order mark).
                    let shifted = [0xEF, 0xBB, 0xBF] + bytes
                    #expect(SourceFile.isPlainASCII(shifted[3...]) == (byte != 0 && byte < 0x80))
                }
            }
        }
    }
}
