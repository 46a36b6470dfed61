/// Turns Mlfile text into `MlfileSyntax`. Line-oriented, like Make and Ninja:
///
/// - a line starting in column 1 is a statement: `NAME = value` (a setting or variable) or a
///   target header `KIND NAME: DEP, DEP` (the colon is optional when there are no dependencies);
/// - an indented line after a header is a body line `key = value`; the first one fixes the body's
///   indentation, deeper lines continue the previous value;
/// - an indented line after a top-level assignment continues its value;
/// - `#` starts a comment at the start of a line or after white space, outside quotes.
///
/// All errors are collected; parsing goes on at the next line.
public struct MlfileParser {
    public let source: SourceFile
    private var diagnostics = DiagnosticCollector()
    private var brokenHeaderNames: Set<String> = []

    public init(source: SourceFile) { self.source = source }

    /// Never fails: syntax errors are in `MlfileSyntax.diagnostics`, and everything around them
    /// is read, so that later checks report every other problem in the same run.
    public static func parse(_ source: SourceFile) -> MlfileSyntax {
        var parser = MlfileParser(source: source)
        return parser.run(lines: [1 ..< source.lineCount + 1])
    }

    /// Parses only the lines in `ranges` (1-based line numbers, ascending, each range starting
    /// at a statement in column 1 and ending before the next one), as if the others were blank:
    /// for the incremental path, which needs a few targets and the top-level assignments of an
    /// Mlfile that parsed cleanly before. Locations are those of the whole file.
    public static func parse(_ source: SourceFile, lines ranges: [Range<Int>]) -> MlfileSyntax {
        var parser = MlfileParser(source: source)
        return parser.run(lines: ranges.map { max($0.lowerBound, 1) ..< min($0.upperBound, source.lineCount + 1) })
    }

    static func isIdentifierByte(_ b: UInt8) -> Bool {
        (b >= 97 && b <= 122) || (b >= 65 && b <= 90) || (b >= 48 && b <= 57) || b == 95
    }

    /// Target names may also carry `.` and `-` (`model:churn-v2`).
    static func isNameByte(_ b: UInt8) -> Bool { isIdentifierByte(b) || b == 46 || b == 45 }

    private enum Context {
        case none
        case topLevelAssignment
        /// `continues`: a deeper line continues the last body assignment (false after a body
        /// line that could not be read, whose continuation lines are skipped with it).
        case target(bodyIndent: Int?, continues: Bool)
        /// After a statement that could not be read: its indented lines are skipped (one mistake,
        /// one diagnostic).
        case skipping
    }

    private mutating func run(lines ranges: [Range<Int>]) -> MlfileSyntax {
        var assignments: [MlfileAssignment] = []
        var targets: [MlfileTargetDeclaration] = []
        var context = Context.none

        for lineNumber in ranges.joined() {
          // Each line is read in place, as bytes: copying every line and every token into arrays
          // first was a third of parsing a 10,000-target Mlfile.
          source.withLine(lineNumber) { bytes in
            var indent = 0
            while indent < bytes.count, bytes[indent] == 32 || bytes[indent] == 9 { indent += 1 }
            let end = Self.contentEnd(bytes, from: indent)
            if end <= indent { return }  // blank or comment-only
            let content = UnsafeBufferPointer(rebasing: bytes[indent..<end])
            let column = indent + 1

            if indent == 0 {
                if let assignment = parseAssignment(content, line: lineNumber, column: column, topLevel: true) {
                    assignments.append(assignment)
                    context = .topLevelAssignment
                } else if let target = parseHeader(content, line: lineNumber) {
                    targets.append(target)
                    context = .target(bodyIndent: nil, continues: false)
                } else {
                    context = .skipping
                }
                return
            }

            switch context {
            case .skipping:
                return
            case .none:
                diagnostics.add(source.diagnostic("unexpected indented line (a body line must follow a target header)", line: lineNumber, column: column))
                context = .skipping
            case .topLevelAssignment:
                guard !assignments.isEmpty else { return }
                assignments[assignments.count - 1].value.fragments.append(.init(text: Self.text(content), line: lineNumber, column: column))
            case .target(let bodyIndent, let continues):
                guard !targets.isEmpty else { return }
                let t = targets.count - 1
                if let bodyIndent, indent > bodyIndent {
                    guard continues, !targets[t].assignments.isEmpty else { return }
                    let a = targets[t].assignments.count - 1
                    targets[t].assignments[a].value.fragments.append(.init(text: Self.text(content), line: lineNumber, column: column))
                } else if let bodyIndent, indent < bodyIndent {
                    diagnostics.add(source.diagnostic("inconsistent indentation: body lines of \(targets[t].reference) start in column \(bodyIndent + 1)", line: lineNumber, column: column))
                    // Read it as the body line it was meant to be, so that its key is neither
                    // missing nor unknown; what cannot be read is this one mistake.
                    if let assignment = parseAssignment(content, line: lineNumber, column: column, topLevel: false, quietly: true) {
                        targets[t].assignments.append(assignment)
                        context = .target(bodyIndent: bodyIndent, continues: true)
                    } else {
                        targets[t].isIncomplete = true
                        context = .target(bodyIndent: bodyIndent, continues: false)
                    }
                } else if let assignment = parseAssignment(content, line: lineNumber, column: column, topLevel: false) {
                    targets[t].assignments.append(assignment)
                    context = .target(bodyIndent: indent, continues: true)
                } else {
                    targets[t].isIncomplete = true
                    context = .target(bodyIndent: indent, continues: false)
                }
            }
          }
        }
        return MlfileSyntax(source: source, assignments: assignments, targets: targets, diagnostics: diagnostics.diagnostics,
                            brokenHeaderNames: brokenHeaderNames)
    }

    /// Index just past the last meaningful byte: strips a comment and trailing white space.
    /// Quotes (" and ') hide `#`; a backslash escapes the next byte inside double quotes.
    static func contentEnd(_ b: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var i = start
        var quote: UInt8 = 0
        var end = b.count
        while i < b.count {
            let c = b[i]
            if quote != 0 {
                if c == 92, quote == 34 { i += 2; continue }
                if c == quote { quote = 0 }
            } else if c == 34 || c == 39 {
                quote = c
            } else if c == 35, i == start || b[i - 1] == 32 || b[i - 1] == 9 {
                end = i
                break
            }
            i += 1
        }
        while end > start, b[end - 1] == 32 || b[end - 1] == 9 { end -= 1 }
        return end
    }

    static func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

    /// The text of `b[range]`.
    static func text(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: b[range]), as: UTF8.self)
    }

    /// `NAME = value`; nil when the line is not an assignment at all (reported in a body unless
    /// `quietly`; at top level the line may still be a header).
    private mutating func parseAssignment(_ b: UnsafeBufferPointer<UInt8>, line: Int, column: Int, topLevel: Bool, quietly: Bool = false) -> MlfileAssignment? {
        var i = 0
        while i < b.count, Self.isIdentifierByte(b[i]) { i += 1 }
        var j = i
        while j < b.count, b[j] == 32 || b[j] == 9 { j += 1 }
        guard i > 0, j < b.count, b[j] == 61 else {
            if !topLevel, !quietly {
                let at = i == 0 ? column : column + j
                diagnostics.add(source.diagnostic("expected 'key = value' in a target body", line: line, column: at))
            }
            return nil
        }
        let key = Self.text(b, 0..<i)
        var v = j + 1
        while v < b.count, b[v] == 32 || b[v] == 9 { v += 1 }
        let fragments: [MlfileRawValue.Fragment] = v < b.count ? [.init(text: Self.text(b, v..<b.count), line: line, column: column + v)] : []
        return MlfileAssignment(
            key: key,
            keyLocation: source.location(line: line, column: column),
            value: MlfileRawValue(fragments: fragments, line: line, column: column + v)
        )
    }

    /// `KIND NAME[: DEP, DEP …]`.
    private mutating func parseHeader(_ b: UnsafeBufferPointer<UInt8>, line: Int) -> MlfileTargetDeclaration? {
        var i = 0
        while i < b.count, Self.isIdentifierByte(b[i]) { i += 1 }
        guard i > 0, i < b.count, b[i] == 32 || b[i] == 9 else {
            let hint = i > 0 && i < b.count && b[i] == 58 ? " (a target header is 'KIND NAME: DEPENDENCIES', e.g. 'task clean: task:fetch')" : ""
            diagnostics.add(source.diagnostic("expected a setting 'NAME = value' or a target header 'KIND NAME: DEPENDENCIES'\(hint)", line: line, column: i + 1))
            noteBrokenHeader(b)
            return nil
        }
        let kind = Self.text(b, 0..<i)
        while i < b.count, b[i] == 32 || b[i] == 9 { i += 1 }
        let nameStart = i
        while i < b.count, Self.isNameByte(b[i]) { i += 1 }
        guard i > nameStart else {
            diagnostics.add(source.diagnostic("expected a target name after '\(kind)'", line: line, column: nameStart + 1))
            noteBrokenHeader(b)
            return nil
        }
        let name = Self.text(b, nameStart..<i)
        // Names become paths (`build/dataset/NAME`): `.` and `..` would name other directories.
        if name == "." || name == ".." {
            diagnostics.add(source.diagnostic("target name '\(name)' is not allowed: a name becomes a directory name (build/KIND/NAME)", line: line, column: nameStart + 1))
            noteBrokenHeader(b)
            return nil
        }
        while i < b.count, b[i] == 32 || b[i] == 9 { i += 1 }
        var dependencies: [LocatedReference] = []
        var isIncomplete = false
        if i < b.count, b[i] != 58 {
            // The kind and name are clear: the target is declared (so that neither its body nor
            // the targets naming it are reported again), without the dependencies.
            diagnostics.add(source.diagnostic("expected ':' after the target name '\(name)'", line: line, column: i + 1))
            isIncomplete = true
        } else if i < b.count {
            i += 1
            while i < b.count {
                while i < b.count, b[i] == 32 || b[i] == 9 || b[i] == 44 { i += 1 }
                let start = i
                while i < b.count, b[i] != 32, b[i] != 9, b[i] != 44 { i += 1 }
                guard i > start else { break }
                let token = UnsafeBufferPointer(rebasing: b[start..<i])
                if let reference = TargetReference(parsing: token) {
                    dependencies.append(LocatedReference(reference, at: source.location(line: line, column: start + 1)))
                } else {
                    diagnostics.add(source.diagnostic("dependency '\(Self.text(token))' is not of the form KIND:NAME", line: line, column: start + 1))
                    isIncomplete = true
                }
            }
        }
        return MlfileTargetDeclaration(
            reference: TargetReference(kind: kind, name: name),
            kindLocation: source.location(line: line, column: 1),
            nameLocation: source.location(line: line, column: nameStart + 1),
            dependencies: dependencies,
            assignments: [],
            isIncomplete: isIncomplete
        )
    }

    /// Remembers the name-like words of a header line that declares no target, before its
    /// dependency list (the first ':' followed by white space or the end).
    private mutating func noteBrokenHeader(_ b: UnsafeBufferPointer<UInt8>) {
        var end = b.count
        for k in b.indices where b[k] == 58 && (k + 1 == b.count || b[k + 1] == 32 || b[k + 1] == 9) {
            end = k
            break
        }
        for word in b[..<end].split(whereSeparator: { !Self.isNameByte($0) }) {
            brokenHeaderNames.insert(String(decoding: word, as: UTF8.self))
        }
    }
}

/// Letters, digits and `_`: what an environment variable name may hold.
public func isEnvironmentNameByte(_ b: UInt8) -> Bool { MlfileParser.isIdentifierByte(b) }
