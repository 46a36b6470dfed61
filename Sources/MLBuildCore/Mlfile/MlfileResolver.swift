/// Substitutes `${name}`, `${env:NAME}`, `${env:NAME:-default}`, `${secret:NAME}` and `$$`,
/// and checks the document-level rules (duplicate targets and keys, settings' types).
struct MlfileResolver {
    let syntax: MlfileSyntax
    let environment: [String: String]
    /// Resolve only these targets' values (the incremental path); nil: every target.
    var only: Set<TargetReference>? = nil
    private var variables: [String: MlfileAssignment] = [:]
    private var resolved: [String: ResolvedValue] = [:]
    private var resolving: [String] = []
    /// Variables whose substitution failed, with why: a chain of 100k variables ending in an
    /// error must fail each link once, not re-walk the rest of the chain for every link.
    private var failed: [String: DiagnosticList] = [:]
    /// Scalars that substitutions may still add, over the whole file, so that `a2 = ${a1}${a1}`,
    /// `a3 = ${a2}${a2}`, … ends in an error instead of exhausting memory.
    private var substitutionBudget = MlfileResolver.substitutionLimit
    static let substitutionLimit = 1 << 24

    init(syntax: MlfileSyntax, environment: [String: String]) {
        self.syntax = syntax
        self.environment = environment
    }

    private var source: SourceFile { syntax.source }

    /// Never fails: every problem (the syntax errors included) is in `Mlfile.diagnostics`.
    mutating func resolve() -> Mlfile {
        var diagnostics = DiagnosticCollector()
        diagnostics.add(syntax.diagnostics)
        for assignment in syntax.assignments {
            if let previous = variables[assignment.key] {
                diagnostics.add(source.diagnostic("'\(assignment.key)' is set twice", at: assignment.keyLocation,
                                                  notes: ["first set at \(previous.keyLocation)"]))
            } else {
                variables[assignment.key] = assignment
            }
        }

        var seed: UInt64?
        if variables["seed"] != nil, let seedValue = diagnostics.attempt({ try value(of: "seed") }) {
            if let text = diagnostics.attempt({ try seedValue.scalarValue() }) {
                if let n = UInt64(text) { seed = n } else {
                    diagnostics.add(source.diagnostic("seed must be a non-negative integer, not '\(text)'", at: seedValue.location))
                }
            }
        }
        var defaults: [LocatedReference] = []
        if variables["default"] != nil, let defaultValue = diagnostics.attempt({ try value(of: "default") }) {
            for item in diagnostics.attempt({ try defaultValue.listItems() }) ?? [] {
                if let reference = TargetReference(parsing: item.text) {
                    defaults.append(LocatedReference(reference, at: item.location))
                } else {
                    diagnostics.add(source.diagnostic("default target '\(item.text)' is not of the form KIND:NAME", at: item.location))
                }
            }
        }
        for name in variables.keys.sorted() { _ = diagnostics.attempt { try value(of: name) } }

        var targets: [ResolvedTarget] = []
        var seen: [TargetReference: SourceLocation] = [:]
        for declaration in syntax.targets {
            if let first = seen[declaration.reference] {
                diagnostics.add(source.diagnostic("duplicate target '\(declaration.reference)'", at: declaration.nameLocation,
                                                  notes: ["first defined at \(first)"]))
                continue
            }
            seen[declaration.reference] = declaration.nameLocation
            if let only, !only.contains(declaration.reference) { continue }
            var values: [String: ResolvedValue] = [:]
            var keyLocations: [String: SourceLocation] = [:]
            var order: [String] = []
            values.reserveCapacity(declaration.assignments.count)
            keyLocations.reserveCapacity(declaration.assignments.count)
            order.reserveCapacity(declaration.assignments.count)
            var hasErrors = false
            for assignment in declaration.assignments {
                if let first = keyLocations[assignment.key] {
                    diagnostics.add(source.diagnostic("key '\(assignment.key)' is set twice in \(declaration.reference)", at: assignment.keyLocation,
                                                      notes: ["first set at \(first)"]))
                    continue
                }
                keyLocations[assignment.key] = assignment.keyLocation
                order.append(assignment.key)
                if let value = diagnostics.attempt({ try substitute(assignment.value) }) {
                    values[assignment.key] = value
                } else {
                    hasErrors = true
                }
            }
            targets.append(ResolvedTarget(
                reference: declaration.reference, kindLocation: declaration.kindLocation,
                nameLocation: declaration.nameLocation, dependencies: declaration.dependencies,
                values: values, hasErrors: hasErrors, isIncomplete: declaration.isIncomplete,
                keyLocations: keyLocations, source: source, keyOrder: order))
        }
        // A failed variable fails everything that references it with the same diagnostic.
        var reported: Set<ReportedDiagnostic> = []
        var mlfile = Mlfile(
            source: source, seed: seed, defaultTargets: defaults, targets: targets,
            variableNames: variables.keys.filter { !Mlfile.settingNames.contains($0) }.sorted(),
            brokenHeaderNames: syntax.brokenHeaderNames,
            diagnostics: diagnostics.diagnostics.filter { reported.insert(ReportedDiagnostic(diagnostic: $0)).inserted })
        mlfile.assignmentLines = syntax.assignments.map(\.keyLocation.line).sorted()
        return mlfile
    }

    /// The substituted value of top-level `name`, resolving what it references first.
    private mutating func value(of name: String) throws -> ResolvedValue {
        if let done = resolved[name] { return done }
        if let failure = failed[name] { throw failure }
        guard let assignment = variables[name] else { throw Diagnostic("unknown variable '\(name)'") }
        // Resolve what `name` references first, deepest first, so that the recursion below
        // is at most one level deep however long a chain of variables is.
        if resolving.isEmpty { resolveReferences(of: name) }
        if let done = resolved[name] { return done }
        if let failure = failed[name] { throw failure }
        if let index = resolving.firstIndex(of: name) {
            throw source.diagnostic("variable cycle: \(Self.describeCycle(resolving[index...] + [name]))", at: assignment.keyLocation)
        }
        resolving.append(name)
        defer { resolving.removeLast() }
        do {
            let value = try substitute(assignment.value)
            resolved[name] = value
            return value
        } catch let list as DiagnosticList {
            failed[name] = list
            throw list
        } catch let diagnostic as Diagnostic {
            failed[name] = DiagnosticList([diagnostic])
            throw diagnostic
        }
    }

    /// Resolves (or fails) every variable `root` references, transitively, in post-order with an
    /// explicit stack instead of recursion. A reference back into the walk is a cycle: the
    /// variable holding it fails with the cycle's path.
    private mutating func resolveReferences(of root: String) {
        var walking: [String: Int] = [root: 0]  // name → index in `stack`
        var stack: [(name: String, references: [String], next: Int)] = [(root, references(of: root), 0)]
        while let top = stack.last {
            if top.next < top.references.count {
                stack[stack.count - 1].next += 1
                let name = top.references[top.next]
                guard resolved[name] == nil, failed[name] == nil, let assignment = variables[name] else { continue }
                if let index = walking[name] {
                    if failed[top.name] == nil {
                        failed[top.name] = DiagnosticList([source.diagnostic(
                            "variable cycle: \(Self.describeCycle(stack[index...].map(\.name) + [name]))", at: assignment.keyLocation)])
                    }
                    continue
                }
                walking[name] = stack.count
                stack.append((name, references(of: name), 0))
            } else {
                stack.removeLast()
                walking[top.name] = nil
                if stack.isEmpty { break }  // the root is left to the caller
                _ = try? value(of: top.name)
            }
        }
    }

    /// `a -> b -> a`; a long cycle keeps its ends and says how many links it skipped.
    static func describeCycle(_ names: [String]) -> String {
        guard names.count > 12 else { return names.joined(separator: " -> ") }
        return (names.prefix(6) + ["… \(names.count - 12) more …"] + names.suffix(6)).joined(separator: " -> ")
    }

    /// The top-level variables `name`'s value references with `${…}`, scanned as `substitute` does.
    private func references(of name: String) -> [String] {
        guard let assignment = variables[name] else { return [] }
        var out: [String] = []
        for fragment in assignment.value.fragments {
            let text = Array(fragment.text.unicodeScalars)
            var i = 0
            while i + 1 < text.count {
                if text[i] == "$", text[i + 1] == "$" { i += 2; continue }
                guard text[i] == "$", text[i + 1] == "{" else { i += 1; continue }
                guard let close = text[(i + 2)...].firstIndex(of: "}") else { break }  // no `}` further on
                var inner = String.UnicodeScalarView()
                inner.append(contentsOf: text[(i + 2)..<close])
                let reference = String(inner)
                if variables[reference] != nil { out.append(reference) }
                i = close + 1
            }
        }
        return out
    }

    /// The value with every `${…}` substituted. Each reference that fails is reported and the
    /// rest of the value is still read, so that all of its problems show at once (thrown together
    /// as a `DiagnosticList`). Columns count bytes, as the parser's do.
    private mutating func substitute(_ raw: MlfileRawValue) throws -> ResolvedValue {
        var scalars: [Unicode.Scalar] = []
        var positions: [ResolvedValue.Position] = []
        var problems: [Diagnostic] = []
        let length = raw.fragments.reduce(raw.fragments.count) { $0 + $1.text.utf8.count }
        if raw.fragments.count > 1 {
            scalars.reserveCapacity(length)
            positions.reserveCapacity(length)
        }
        for (k, fragment) in raw.fragments.enumerated() {
            let line = Int32(fragment.line)
            if k > 0 {
                scalars.append(" ")
                positions.append(.init(line: line, column: Int32(fragment.column)))
            }
            if Self.appendLiteral(fragment.text, line: line, column: fragment.column, to: &scalars, positions: &positions) { continue }
            let text = Array(fragment.text.unicodeScalars)
            var i = 0
            var byteColumn = fragment.column
            func advance(to end: Int) {
                while i < end {
                    byteColumn += UTF8.width(text[i])
                    i += 1
                }
            }
            while i < text.count {
                let column = Int32(byteColumn)
                guard text[i] == "$", i + 1 < text.count else {
                    scalars.append(text[i])
                    positions.append(.init(line: line, column: column))
                    advance(to: i + 1)
                    continue
                }
                if text[i + 1] == "$" {
                    scalars.append("$")
                    positions.append(.init(line: line, column: column))
                    advance(to: i + 2)
                    continue
                }
                guard text[i + 1] == "{" else {
                    scalars.append("$")
                    positions.append(.init(line: line, column: column))
                    advance(to: i + 1)
                    continue
                }
                guard let close = text[(i + 2)...].firstIndex(of: "}") else {
                    problems.append(source.diagnostic("unterminated '${' (missing '}')", line: fragment.line, column: Int(column)))
                    break
                }
                var inner = String.UnicodeScalarView()
                inner.append(contentsOf: text[(i + 2)..<close])
                advance(to: close + 1)
                let replacement: [Unicode.Scalar]
                do {
                    replacement = try expand(String(inner), line: fragment.line, column: Int(column))
                } catch let list as DiagnosticList {
                    problems.append(contentsOf: list.diagnostics)
                    // Past the budget nothing more is read: going on would repeat the failure
                    // once per reference, 2^n times for `a1 = ${a0}${a0}, a2 = ${a1}${a1}, …`.
                    if substitutionBudget < 0 { throw DiagnosticList(problems) }
                    continue
                } catch let diagnostic as Diagnostic {
                    problems.append(diagnostic)
                    if substitutionBudget < 0 { throw DiagnosticList(problems) }
                    continue
                }
                substitutionBudget -= replacement.count
                if substitutionBudget < 0 {
                    // A guard against exhausting memory: nothing after it is worth reading.
                    problems.append(source.diagnostic("substituted values in \(source.path) exceed \(Self.substitutionLimit) characters in total (does a variable reference another many times over?)",
                                                      line: fragment.line, column: Int(column)))
                    throw DiagnosticList(problems)
                }
                scalars.append(contentsOf: replacement)
                positions.append(contentsOf: repeatElement(.init(line: line, column: column), count: replacement.count))
            }
        }
        if problems.count == 1, let problem = problems.first { throw problem }
        if !problems.isEmpty { throw DiagnosticList(problems) }
        return ResolvedValue(scalars: scalars, positions: positions, source: source,
                             start: source.location(line: raw.line, column: raw.column))
    }

    /// Appends `text` as written when it holds no `$` (nearly every fragment), without the scan
    /// of `substitute`: ASCII straight from its bytes. False (nothing appended) otherwise.
    private static func appendLiteral(_ text: String, line: Int32, column: Int, to scalars: inout [Unicode.Scalar],
                                      positions: inout [ResolvedValue.Position]) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            var ascii = true
            for byte in bytes {
                if byte == 36 { return false }
                if byte >= 0x80 { ascii = false }
            }
            if ascii {
                // Filled in place: appending element by element (or through a lazy map) cost
                // more than the rest of resolving a value.
                let count = bytes.count
                let literal = [Unicode.Scalar](unsafeUninitializedCapacity: count) { buffer, initialized in
                    for k in 0..<count { buffer.initializeElement(at: k, to: Unicode.Scalar(bytes[k])) }
                    initialized = count
                }
                let places = [ResolvedValue.Position](unsafeUninitializedCapacity: count) { buffer, initialized in
                    for k in 0..<count { buffer.initializeElement(at: k, to: ResolvedValue.Position(line: line, column: Int32(column + k))) }
                    initialized = count
                }
                if scalars.isEmpty { scalars = literal } else { scalars.append(contentsOf: literal) }
                if positions.isEmpty { positions = places } else { positions.append(contentsOf: places) }
            } else {
                var at = Int32(column)
                for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
                    scalars.append(scalar)
                    positions.append(.init(line: line, column: at))
                    at += Int32(UTF8.width(scalar))
                }
            }
            return true
        }
    }

    private mutating func expand(_ reference: String, line: Int, column: Int) throws -> [Unicode.Scalar] {
        if reference.hasPrefix("env:") {
            let spec = reference.dropFirst(4)
            var name = Substring(spec), fallback: Substring?
            if let range = spec.range(of: ":-") {
                name = spec[..<range.lowerBound]
                fallback = spec[range.upperBound...]
            }
            guard isIdentifier(name) else {
                throw source.diagnostic("'\(name)' is not an environment variable name", line: line, column: column)
            }
            if let value = environment[String(name)] { return Array(value.unicodeScalars) }
            if let fallback { return Array(fallback.unicodeScalars) }
            throw source.diagnostic("environment variable '\(name)' is not set", line: line, column: column,
                                    notes: ["give a default with ${env:\(name):-VALUE}"])
        }
        if reference.hasPrefix("secret:") {
            let name = reference.dropFirst(7)
            guard isIdentifier(name) else {
                throw source.diagnostic("'\(name)' is not an environment variable name", line: line, column: column)
            }
            return [ResolvedValue.secretOpen] + Array(name.unicodeScalars) + [ResolvedValue.secretClose]
        }
        guard variables[reference] != nil else {
            let hint = Suggestion.hint(for: reference, among: Array(variables.keys))
            throw source.diagnostic("unknown variable '\(reference)'\(hint)", line: line, column: column,
                                    notes: ["write $${\(reference)} for a literal '${\(reference)}' (a shell variable)"])
        }
        return try value(of: reference).scalars
    }

    private func isIdentifier(_ s: Substring) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy(MlfileParser.isIdentifierByte)
    }
}

/// Set membership for diagnostics that hashes only the location and the message's length: the
/// same failure reported once per referencing variable shares its strings, so equality is
/// cheap, while hashing a long source line 100k times over would not be.
private struct ReportedDiagnostic: Hashable {
    let diagnostic: Diagnostic

    func hash(into hasher: inout Hasher) {
        hasher.combine(diagnostic.location)
        hasher.combine(diagnostic.message.utf8.count)
    }
}
