import Foundation
@testable import MLBuildDatasets
@testable import MLBuildServe
import Testing

/// `RequestJSON`, the fast reader JSON predict bodies go through first: what it accepts must read
/// exactly as Foundation's `JSONDecoder` reads it (the fallback), and what it declines goes to
/// that decoder unchanged.
@Suite("request JSON reader")
struct RequestJSONTests {
    static func foundation(_ text: [UInt8]) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(text))
    }

    static let accepted: [String] = [
        #"{"rows":[{"tenure":14,"contract":"month-to-month","monthly_charges":84.2,"total_charges":null,"paperless_billing":"No","senior_citizen":1}]}"#,
        #"  {"rows" : [ ] }  "#,
        #"{}"#, #"[]"#, #"[true,false,null]"#,
        #"[0,-0,1,-1,0.1,1e3,1E-3,2.5e+10,123456789012345678901234567890,9007199254740993]"#,
        #"[2.2250738585072014e-308,5e-324,1.7976931348623157e308,0.30000000000000004,-0.0,0.000,1e-310]"#,
        #"["plain","with \"quotes\" and \\ and \/","tab\tnewline\nreturn\r\b\f","\u00e9\u20ac","\ud83d\ude00","é€😀",""]"#,
        #"{"a":{"b":[{"c":[1,[2,[3]]]}]},"d":"x,y"}"#,
        "{\n\t\"rows\": [\r\n {\"x\": 1}\n]\n}",
    ]

    @Test("what it accepts reads as JSONDecoder reads it", arguments: accepted)
    func sameAsFoundation(_ text: String) throws {
        let bytes = Array(text.utf8)
        let fast = try #require(RequestJSON.parse(bytes))
        let slow = try #require(Self.foundation(bytes))
        #expect(fast == slow)
    }

    @Test("every finite number is the double Foundation reads")
    func numbers() throws {
        var rng = SystemRandomNumberGenerator()
        var texts: [String] = []
        for _ in 0 ..< 2000 {
            let x = Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF) * (Bool.random() ? 1 : -1)
            texts.append("\(x)")
            texts.append(String(format: "%.17g", x))
            texts.append(String(format: "%.6e", x))
        }
        texts += ["0.1", "0.7", "1.0000000000000002", "4.9406564584124654e-324", "1e22", "1e23"]
        for text in texts where !text.contains("inf") && !text.contains("nan") {
            let bytes = Array("[\(text)]".utf8)
            let fast = try #require(RequestJSON.parse(bytes), "\(text)")
            #expect(fast == Self.foundation(bytes), "\(text)")
        }
    }

    static let declined: [[UInt8]] = [
        Array(#"{"rows": ["#.utf8), Array(#"{"a":1,"a":2}"#.utf8), Array("[1e400]".utf8), Array("[-1e400]".utf8), Array("[1e-400]".utf8), Array("[-0.0e5]".utf8), Array("[0e-400]".utf8),
        Array(#"["\ud800"]"#.utf8), Array(#"["\udc00x"]"#.utf8), [0x5B, 0x22, 0xFF, 0x22, 0x5D],
        Array("[01]".utf8), Array("[1.]".utf8), Array("[-]".utf8), Array("[.5]".utf8), Array("[1,]".utf8),
        Array(#"{"a":1,}"#.utf8), [0xEF, 0xBB, 0xBF] + Array("{}".utf8), Array("[tru]".utf8),
        Array("[\"a\u{09}b\"]".utf8), Array(#"["\x"]"#.utf8), Array("{} {}".utf8), Array("".utf8),
        Array((String(repeating: "[", count: 100) + String(repeating: "]", count: 100)).utf8),
    ]

    @Test("anything else is left to JSONDecoder", arguments: declined)
    func declines(_ bytes: [UInt8]) {
        #expect(RequestJSON.parse(bytes) == nil)
    }
}
