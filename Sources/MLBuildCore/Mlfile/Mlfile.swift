/// A loaded Mlfile: settings read, variables substituted, targets in declaration order.
public struct Mlfile: Sendable {
    public let source: SourceFile
    /// The top-level `seed`, if any (`--seed` overrides it).
    public let seed: UInt64?
    /// The top-level `default`: what `mlbuild` with no target builds (all targets when empty).
    public let defaultTargets: [LocatedReference]
    public let targets: [ResolvedTarget]
    /// Top-level names that are neither `seed` nor `default`.
    public let variableNames: [String]
    /// Name-like words of header lines that declare no target (see `MlfileSyntax`).
    public let brokenHeaderNames: Set<String>
    /// The lines (1-based, ascending) where top-level assignments start: with the targets'
    /// header lines, where every statement of the file starts (the incremental path parses
    /// only the statements it needs, `MlfileParser.parse(_:lines:)`).
    public var assignmentLines: [Int] = []
    /// Syntax errors and problems found while substituting values; `Project.load` reports them
    /// together with its own, so that one run shows every error in the file.
    public let diagnostics: [Diagnostic]

    /// Settings with a meaning of their own; every other top-level name is a variable.
    public static let settingNames = ["default", "seed"]

    public func target(_ reference: TargetReference) -> ResolvedTarget? {
        targets.first { $0.reference == reference }
    }

    /// Parses and resolves `text`. `environment` feeds `${env:NAME}`.
    public static func load(path: String, text: String, environment: [String: String]) throws -> Mlfile {
        try load(path: path, bytes: Array(text.utf8), environment: environment)
    }

    /// Parses and resolves the file's bytes as read (see `SourceFile.decode`: a BOM is
    /// skipped). Throws only when the bytes are not text (NUL bytes, invalid UTF-8): every other
    /// problem is in `diagnostics`, next to what could be read around it.
    /// `only`: resolve just these targets (the others are left out of `targets`, unchecked
    /// beyond their syntax); for the incremental path, which builds a few targets of an
    /// Mlfile a full load accepted before.
    /// `lines`: parse only these line ranges (`MlfileParser.parse(_:lines:)`).
    public static func load(path: String, bytes: [UInt8], environment: [String: String],
                            only: Set<TargetReference>? = nil, lines: [Range<Int>]? = nil) throws -> Mlfile {
        let source = try SourceFile.decode(path: path, bytes: bytes)
        let syntax = lines.map { MlfileParser.parse(source, lines: $0) } ?? MlfileParser.parse(source)
        var resolver = MlfileResolver(syntax: syntax, environment: environment)
        resolver.only = only
        return resolver.resolve()
    }
}

/// One target with its values substituted. A class: every configuration, rule and check holds
/// it, and copying its ten fields for each of 10,000 targets was a cost of its own.
public final class ResolvedTarget: Sendable {
    public let reference: TargetReference
    public let kindLocation: SourceLocation
    public let nameLocation: SourceLocation
    public let dependencies: [LocatedReference]
    /// Body values by key (a value whose substitution failed is absent, its key still in
    /// `keyLocations`; see `hasErrors`).
    public let values: [String: ResolvedValue]
    /// Whether any value failed to resolve (its diagnostics are in `Mlfile.diagnostics`).
    public let hasErrors: Bool
    /// A line of the header or body could not be read (see `MlfileTargetDeclaration`).
    public let isIncomplete: Bool
    /// Where each key was written.
    public let keyLocations: [String: SourceLocation]
    public let source: SourceFile

    /// Keys in the order they were written.
    public let keyOrder: [String]

    init(reference: TargetReference, kindLocation: SourceLocation, nameLocation: SourceLocation, dependencies: [LocatedReference],
         values: [String: ResolvedValue], hasErrors: Bool, isIncomplete: Bool, keyLocations: [String: SourceLocation],
         source: SourceFile, keyOrder: [String]) {
        self.reference = reference
        self.kindLocation = kindLocation
        self.nameLocation = nameLocation
        self.dependencies = dependencies
        self.values = values
        self.hasErrors = hasErrors
        self.isIncomplete = isIncomplete
        self.keyLocations = keyLocations
        self.source = source
        self.keyOrder = keyOrder
    }

    public func diagnostic(_ message: String, notes: [String] = []) -> Diagnostic {
        source.diagnostic(message, at: nameLocation, notes: notes)
    }
}
