/// Sets scalar values of target keys in an Mlfile's bytes with the smallest textual change:
/// one line per key. A written value is replaced where the parser found it (its line and byte
/// column, after the file is parsed again, never by remembered offsets); a key the target lacks
/// gets one new line after the target's last key, with that body's indentation. Every other
/// byte (comments, spacing, line endings, a byte order mark) is kept. Used by `exp run` (each
/// variant's Mlfile) and `exp apply` (the chosen variant written back).
public enum MlfileValueEdit {
    public struct Change: Sendable, Hashable {
        public var target: TargetReference
        public var key: String
        public var value: String

        public init(target: TargetReference, key: String, value: String) {
            self.target = target
            self.key = key
            self.value = value
        }
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// Why `value` cannot be written as a plain scalar (nil when it can): it must be one
    /// non-empty word of text that the parser reads back unchanged.
    public static func problem(writing value: String) -> String? {
        if value.isEmpty { return "an empty value" }
        if value.first?.isWhitespace == true || value.last?.isWhitespace == true { return "leading or trailing white space" }
        for c in value.unicodeScalars where c.value < 32 || "#$\"'\\,".unicodeScalars.contains(c) {
            return c.value < 32 ? "a control character" : "the character '\(c)'"
        }
        return nil
    }

    public static func apply(_ changes: [Change], to bytes: [UInt8], path: String) throws -> [UInt8] {
        let bom = bytes.starts(with: SourceFile.byteOrderMark)
        let body = Array(bom ? bytes[3...] : bytes[...])
        let syntax = MlfileParser.parse(try SourceFile.decode(path: path, bytes: bytes))
        // Lines as written: content (without "\r\n" or "\n") and terminator.
        var lines: [(content: [UInt8], terminator: [UInt8])] = []
        var start = 0
        for (index, byte) in body.enumerated() where byte == 10 {
            let cr = index > start && body[index - 1] == 13
            lines.append((Array(body[start..<(cr ? index - 1 : index)]), cr ? [13, 10] : [10]))
            start = index + 1
        }
        if start < body.count { lines.append((Array(body[start...]), [])) }
        var insertions: [Int: [[UInt8]]] = [:]   // after line index → new lines (no terminator)
        var replaced: Set<Int> = []
        for change in changes {
            if let problem = problem(writing: change.value) {
                throw Failure("cannot write '\(change.value)' as the value of '\(change.key)' of \(change.target): it has \(problem)")
            }
            guard let target = syntax.targets.last(where: { $0.reference == change.target }) else {
                throw Failure("\(path) has no target \(change.target)")
            }
            let matching = target.assignments.filter { $0.key == change.key }
            if matching.count > 1 {
                throw Failure("\(path): '\(change.key)' is written \(matching.count) times in \(change.target) (lines "
                    + "\(matching.map { String($0.keyLocation.line) }.joined(separator: ", "))); leave one and try again")
            }
            let value = Array(change.value.utf8)
            if let assignment = matching.first {
                let raw = assignment.value
                guard raw.fragments.count <= 1 else {
                    throw Failure("\(path):\(raw.line): the value of '\(change.key)' of \(change.target) spans \(raw.fragments.count) lines; "
                        + "edit it by hand")
                }
                let index = (raw.fragments.first?.line ?? raw.line) - 1
                let column = (raw.fragments.first?.column ?? raw.column) - 1
                let length = raw.fragments.first.map { $0.text.utf8.count } ?? 0
                guard index >= 0, index < lines.count, !replaced.contains(index), column + length <= lines[index].content.count else {
                    throw Failure("\(path):\(index + 1): cannot find the value of '\(change.key)' of \(change.target)")
                }
                let content = lines[index].content
                let spaced = length == 0 && column > 0 && content[column - 1] == 61 ? [32] + value : value   // `key =` → `key = v`
                lines[index].content = Array(content[..<column]) + spaced + Array(content[(column + length)...])
                replaced.insert(index)
            } else {
                let indent: [UInt8]
                let after: Int
                if let first = target.assignments.first, let last = target.assignments.last {
                    indent = Array(lines[first.keyLocation.line - 1].content.prefix(first.keyLocation.column - 1))
                    after = (last.value.fragments.last?.line ?? last.value.line) - 1
                } else {
                    indent = Array("    ".utf8)
                    after = target.kindLocation.line - 1
                }
                guard after >= 0, after < lines.count else { throw Failure("\(path): cannot find the body of \(change.target)") }
                insertions[after, default: []].append(indent + Array(change.key.utf8) + Array(" = ".utf8) + value)
            }
        }
        var out: [UInt8] = bom ? SourceFile.byteOrderMark : []
        for (index, line) in lines.enumerated() {
            out += line.content
            let added = insertions[index] ?? []
            // A new line after a last line without a newline: the file keeps ending without one.
            let terminator = line.terminator.isEmpty && !added.isEmpty ? [10] : line.terminator
            out += terminator
            for (k, newLine) in added.enumerated() {
                out += newLine
                if k < added.count - 1 || !line.terminator.isEmpty { out += terminator }
            }
        }
        return out
    }
}
