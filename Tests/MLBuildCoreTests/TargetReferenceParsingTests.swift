import MLBuildCore
import Testing

/// `KIND:NAME` parsed on UTF-8 bytes (issue 11: the generic, Character-based parse was a sixth
/// of reading the workspace state at 10,000 targets): the same answers for a String and a
/// Substring, and `-` or `.` only in the name.
@Suite("TargetReference(parsing:)")
struct TargetReferenceParsingTests {
    @Test func aReferenceParsesTheSameFromEveryKindOfText() throws {
        let text = "prefix model:churn-v2.1 suffix"
        let word = try #require(text.split(separator: " ").dropFirst().first)
        let expected = TargetReference(kind: "model", name: "churn-v2.1")
        #expect(TargetReference(parsing: "model:churn-v2.1") == expected)
        #expect(TargetReference(parsing: word) == expected)
        #expect(TargetReference(parsing: String(word)) == expected)
        #expect(TargetReference(parsing: text.dropFirst(7).prefix(16)) == expected)
        #expect(TargetReference(parsing: "task:a:b") == nil, "a colon is not a name character")
    }

    @Test func emptyOrForeignPartsAreRefused() {
        for text in ["", ":", "task:", ":name", "task", "ta sk:a", "task:a b", "tâsk:a", "task:é", "task:a/b", "-task:a"] {
            #expect(TargetReference(parsing: text) == nil, "\(text)")
        }
        #expect(TargetReference(parsing: "task_1:A.b-c_9")?.description == "task_1:A.b-c_9")
    }
}
