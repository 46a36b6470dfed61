/// One user-facing problem: what is wrong, where, and what to do about it.
///
/// Rendered Ninja-style: `Mlfile:12:7: error: unknown key 'outptus' (did you mean 'outputs'?)`,
/// then the source line and a caret under the column.
public struct Diagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var location: SourceLocation?
    /// The text of the line `location` points into, for the caret display.
    public var sourceLine: String?
    /// Extra lines printed after the caret (a cycle path, the accepted keys…).
    public var notes: [String]

    public init(_ message: String, at location: SourceLocation? = nil, sourceLine: String? = nil, notes: [String] = []) {
        self.message = message
        self.location = location
        self.sourceLine = sourceLine
        self.notes = notes
    }

    public var description: String { rendered }

    public var rendered: String {
        var out = ""
        if let location { out += "\(location): " }
        out += "error: \(message)"
        if let location, let sourceLine {
            out += "\n    \(sourceLine)\n    "
            // Columns count bytes; the caret moves one place per character before it. Keep tabs
            // so the caret lines up under tab-indented source.
            let prefix = String(decoding: sourceLine.utf8.prefix(max(0, location.column - 1)), as: UTF8.self)
            out += String(prefix.map { $0 == "\t" ? "\t" : " " }) + "^"
        }
        for note in notes { out += "\n  note: \(note)" }
        return out
    }
}

/// Several diagnostics collected before failing, so a user fixes them in one pass.
public struct DiagnosticList: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }

    public var description: String { diagnostics.map(\.rendered).joined(separator: "\n") }
}

/// Accumulates diagnostics while a pass keeps going.
public struct DiagnosticCollector: Sendable {
    public private(set) var diagnostics: [Diagnostic] = []

    public init() {}

    public var isEmpty: Bool { diagnostics.isEmpty }

    public mutating func add(_ diagnostic: Diagnostic) { diagnostics.append(diagnostic) }

    public mutating func add(_ list: DiagnosticList) { diagnostics.append(contentsOf: list.diagnostics) }

    public mutating func add(_ diagnostics: some Sequence<Diagnostic>) { self.diagnostics.append(contentsOf: diagnostics) }

    /// Runs `body`, recording any diagnostic it throws instead of propagating it. An
    /// `AlreadyReported` error records nothing: its diagnostic is in the list already.
    public mutating func attempt<T>(_ body: () throws -> T) -> T? {
        do {
            return try body()
        } catch is AlreadyReported {
            return nil
        } catch let diagnostic as Diagnostic {
            add(diagnostic)
        } catch let list as DiagnosticList {
            add(list)
        } catch {
            add(Diagnostic("\(error)"))
        }
        return nil
    }

    public func throwIfAny() throws {
        if !diagnostics.isEmpty { throw DiagnosticList(diagnostics) }
    }
}
