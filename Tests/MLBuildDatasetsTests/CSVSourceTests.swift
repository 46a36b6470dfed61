import Foundation
import Testing
@testable import MLBuildDatasets

@Suite struct CSVSourceTests {
    @Test func plainRecordsWithLineNumbers() throws {
        let r = try readAll("a,b\n1,2\n3,4\n")
        #expect(r.header == ["a", "b"])
        #expect(r.rows == [["1", "2"], ["3", "4"]])
        #expect(r.lines == [2, 3])
    }

    @Test func quotedFieldsWithCommasQuotesAndNewlines() throws {
        let r = try readAll("id,text\n1,\"a, b\"\n2,\"say \"\"hi\"\"\"\n3,\"two\nlines\"\n4,x\n")
        #expect(r.rows == [["1", "a, b"], ["2", "say \"hi\""], ["3", "two\nlines"], ["4", "x"]])
        // The quoted newline makes record 4 start on physical line 6.
        #expect(r.lines == [2, 3, 4, 6])
    }

    @Test func crlfBomAndMissingFinalNewline() throws {
        let r = try readAll("\u{FEFF}a,b\r\n1,\"x\r\ny\"\r\n,3")
        #expect(r.header == ["a", "b"])
        #expect(r.rows == [["1", "x\r\ny"], ["", "3"]])
        #expect(r.lines == [2, 4])
    }

    @Test func blankAndTrailingLinesAreSkipped() throws {
        let r = try readAll("a,b\n1,2\n\n3,4\n\n")
        #expect(r.rows == [["1", "2"], ["3", "4"]])
        #expect(r.lines == [2, 4])
    }

    @Test func emptyFieldsAndTrailingComma() throws {
        let r = try readAll("a,b,c\n,,\n1,2,\n")
        #expect(r.rows == [["", "", ""], ["1", "2", ""]])
    }

    @Test func raggedRowIsAnErrorWithItsLine() throws {
        #expect(throws: DatasetError.csv(path: "t.csv", line: 5, message: "expected 2 fields (as in the header), found 1")) {
            _ = try readAll("a,b\n1,2\n\"x\ny\",3\n5\n")
        }
        #expect(throws: DatasetError.csv(path: "t.csv", line: 2, message: "expected 2 fields (as in the header), found more")) {
            _ = try readAll("a,b\n1,2,3\n")
        }
    }

    @Test func unterminatedQuoteAndTextAfterQuote() throws {
        #expect(throws: DatasetError.csv(path: "t.csv", line: 3, message: "unterminated quoted field (opened on this line)")) {
            _ = try readAll("a,b\n1,2\n3,\"open\n")
        }
        #expect(throws: DatasetError.csv(path: "t.csv", line: 2, message: "unexpected character 'x' after a closing quote (field 1)")) {
            _ = try readAll("a,b\n\"q\"x,2\n")
        }
    }

    @Test func emptyFileHasNoHeader() throws {
        #expect(throws: DatasetError.csv(path: "t.csv", line: 1, message: "empty file: expected a header row")) {
            _ = try readAll("")
        }
    }

    @Test func manyRecordsSpanSeveralBatches() throws {
        var text = "i,sq\n"
        for i in 0 ..< 2000 { text += "\(i),\"\(i * i)\"\n" }
        let r = try readAll(text)
        #expect(r.rows.count == 2000)
        #expect(r.rows[1999] == ["1999", "3996001"])
        #expect(r.lines[1999] == 2001)
    }

    @Test func fileSourceReadsFromDisk() throws {
        try withTempDirectory { dir in
            let url = dir.appendingPathComponent("x.csv")
            try Data("a\n\"q\"\"\"\n".utf8).write(to: url)
            var rows: [String] = []
            try CSVSource(url: url, name: "x.csv").scan(header: { #expect($0 == ["a"]) }) { b in
                for r in 0 ..< b.count { rows.append(b.string(r, 0)) }
            }
            #expect(rows == ["q\""])
            // The mapping is private: the file on disk keeps its escapes.
            #expect(try String(contentsOf: url, encoding: .utf8) == "a\n\"q\"\"\"\n")
        }
    }

    @Test(arguments: ["0", "1.5", "-2.25e3", "123456.789", ".5", "5.", "+7", "1e-300", "12345678901234567890.5", "0.1", "3.141592653589793238"])
    func doublesParseExactly(_ text: String) throws {
        let parsed = Array(text.utf8).withUnsafeBufferPointer { NumberParser.parseDouble($0) }
        let expected = try #require(Double(text.hasPrefix(".") ? "0" + text : (text.hasSuffix(".") ? text + "0" : text)))
        #expect(parsed == expected)
    }

    @Test(arguments: ["", "-", "1e", "1.2.3", "nan", "inf", "0x10", "1,5", "1e999"])
    func nonNumbersAreRejected(_ text: String) {
        #expect(Array(text.utf8).withUnsafeBufferPointer { NumberParser.parseDouble($0) } == nil)
    }

    @Test func integersAndOverflow() {
        func p(_ s: String) -> Int64? { Array(s.utf8).withUnsafeBufferPointer { NumberParser.parseInt($0) } }
        #expect(p("42") == 42)
        #expect(p("-9223372036854775808") == Int64.min)
        #expect(p("9223372036854775808") == nil)
        #expect(p("1.0") == nil)
    }
}
