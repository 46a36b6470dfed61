import Foundation

/// The checked examples of one Markdown file, in document order (the convention is in
/// docs/README.md, "Checked examples"):
/// - a fenced block ```` ```console ````: lines starting with `$ ` are commands, the lines up to
///   the next command are the expected output;
/// - a fenced block with `file=PATH` in its info string: written to PATH in the workspace;
/// - a fenced block with `excerpt=PATH`: a literal excerpt of the repository's PATH
///   (`RepositoryFacts.firstLineNotInOrder`).
/// A console block with `unchecked="REASON"` is not run.
struct MarkdownExamples {
    /// A fenced code block: its info string and where its lines are in the document.
    struct Fence {
        var language: String
        var attributes: [String: String]
        /// 0-based index of the opening fence line.
        var opening: Int
        /// The content lines, without the fence's indentation.
        var lines: [String]
        /// Spaces before the fence (a block inside a list item).
        var indentation: Int
    }

    /// One `$ ` line and the output documented under it.
    struct Command {
        /// 0-based index of the `$ ` line.
        var line: Int
        var text: String
        var expected: [String]
        /// 0-based document lines holding `expected`.
        var expectedLines: Range<Int>
        /// The block's indentation, put back in front of rewritten lines.
        var indentation: Int
    }

    enum Step {
        /// A `file=PATH` block: PATH's content.
        case file(path: String, content: String)
        /// A console block: its commands, run in order; `server` is what it asks to be started.
        case console(commands: [Command], server: String?)
    }

    struct Excerpt {
        var source: String
        var fence: Fence
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The document's path relative to the repository, as messages name it.
    let path: String
    let lines: [String]
    private(set) var steps: [Step] = []
    private(set) var excerpts: [Excerpt] = []
    private(set) var fences: [Fence] = []

    init(path: String, text: String) throws {
        self.path = path
        lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        fences = try Self.fences(in: lines, path: path)
        for fence in fences {
            if let file = fence.attributes["file"] {
                guard Self.isWorkspacePath(file) else {
                    throw Failure(description: "\(path):\(fence.opening + 1): file=\(file) must be a relative path inside the workspace")
                }
                steps.append(.file(path: file, content: fence.lines.joined(separator: "\n") + "\n"))
            }
            if let source = fence.attributes["excerpt"] {
                excerpts.append(Excerpt(source: source, fence: fence))
            }
            guard fence.language == "console" else { continue }
            if let reason = fence.attributes["unchecked"] {
                guard !reason.isEmpty else {
                    throw Failure(description: "\(path):\(fence.opening + 1): unchecked= needs the reason the block cannot run")
                }
                continue
            }
            steps.append(.console(commands: try Self.commands(in: fence, path: path), server: fence.attributes["server"]))
        }
    }

    /// The document with each command's expected lines replaced (`replacements` by the
    /// command's `$ ` line).
    func rewritten(_ replacements: [Int: [String]]) -> String {
        var output = lines
        for (line, new) in replacements.sorted(by: { $0.key > $1.key }) {
            guard let command = commands.first(where: { $0.line == line }) else { continue }
            let pad = String(repeating: " ", count: command.indentation)
            output.replaceSubrange(command.expectedLines, with: new.map { $0.isEmpty ? $0 : pad + $0 })
        }
        return output.joined(separator: "\n")
    }

    /// Every checked command, in document order.
    var commands: [Command] {
        steps.flatMap { step -> [Command] in
            if case .console(let commands, _) = step { return commands }
            return []
        }
    }

    private static func commands(in fence: Fence, path: String) throws -> [Command] {
        var commands: [Command] = []
        for (offset, line) in fence.lines.enumerated() {
            let index = fence.opening + 1 + offset
            if line.hasPrefix("$ ") {
                commands.append(Command(line: index, text: String(line.dropFirst(2)), expected: [],
                                        expectedLines: index + 1 ..< index + 1, indentation: fence.indentation))
            } else if commands.isEmpty {
                throw Failure(description: "\(path):\(index + 1): a console block must start with a `$ ` command line")
            } else {
                commands[commands.count - 1].expected.append(line)
                commands[commands.count - 1].expectedLines = commands[commands.count - 1].expectedLines.lowerBound ..< index + 1
            }
        }
        return commands
    }

    /// CommonMark fences: three or more backticks or tildes; the block ends at a line of at
    /// least as many of the same character (so a ````` ```` ````` block can show a ```` ``` ```` one).
    private static func fences(in lines: [String], path: String) throws -> [Fence] {
        var fences: [Fence] = []
        var index = 0
        while index < lines.count {
            let line = lines[index]
            let indentation = line.prefix(while: { $0 == " " }).count
            let trimmed = line.dropFirst(indentation)
            guard let marker = trimmed.first, marker == "`" || marker == "~" else { index += 1; continue }
            let length = trimmed.prefix(while: { $0 == marker }).count
            guard length >= 3 else { index += 1; continue }
            let info = String(trimmed.dropFirst(length)).trimmingCharacters(in: .whitespaces)
            let (language, attributes) = try parseInfo(info, at: "\(path):\(index + 1)")
            var end = index + 1
            while end < lines.count && !isClosing(lines[end], marker: marker, length: length) { end += 1 }
            guard end < lines.count else {
                throw Failure(description: "\(path):\(index + 1): code block is never closed")
            }
            let content = lines[(index + 1)..<end].map { line in
                String(line.dropFirst(min(indentation, line.prefix(while: { $0 == " " }).count)))
            }
            fences.append(Fence(language: language, attributes: attributes, opening: index, lines: content, indentation: indentation))
            index = end + 1
        }
        return fences
    }

    private static func isClosing(_ line: String, marker: Character, length: Int) -> Bool {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        return trimmed.count >= length && trimmed.allSatisfy { $0 == marker }
    }

    /// `LANGUAGE key=value key="a value with spaces" flag`.
    private static func parseInfo(_ info: String, at location: String) throws -> (String, [String: String]) {
        var words: [String] = []
        var current = ""
        var quoted = false
        for character in info {
            if character == "\"" {
                quoted.toggle()
            } else if character == " " && !quoted {
                if !current.isEmpty { words.append(current) }
                current = ""
            } else {
                current.append(character)
            }
        }
        guard !quoted else { throw Failure(description: "\(location): unterminated quote in the code block's info string") }
        if !current.isEmpty { words.append(current) }
        var attributes: [String: String] = [:]
        for word in words.dropFirst() {
            let parts = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            attributes[parts.first ?? word] = parts.count > 1 ? parts[1] : ""
        }
        return (words.first ?? "", attributes)
    }

    private static func isWorkspacePath(_ path: String) -> Bool {
        !path.isEmpty && !path.hasPrefix("/") && !path.split(separator: "/", omittingEmptySubsequences: false)
            .contains { $0.isEmpty || $0 == "." || $0 == ".." }
    }
}
