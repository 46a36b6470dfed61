/// The Mlfile as written: statements with their positions, before variables are substituted.
public struct MlfileSyntax: Sendable {
    public var source: SourceFile
    public var assignments: [MlfileAssignment]
    public var targets: [MlfileTargetDeclaration]
    /// Syntax errors, each at its line; the statements above are what could be read around them.
    public var diagnostics: [Diagnostic]
    /// The name-like words before the dependency list of header lines too broken to declare a
    /// target (`task` and `a` from `task:a: task:b`): a dependency on a target of such a name is
    /// not reported again as an unknown target.
    public var brokenHeaderNames: Set<String>
}

/// `key = value` at top level or in a target body.
public struct MlfileAssignment: Sendable {
    public var key: String
    public var keyLocation: SourceLocation
    public var value: MlfileRawValue
}

/// A value as written: one fragment per physical line (comments stripped, trimmed), so that
/// re-indenting or re-wrapping a value never changes its meaning.
public struct MlfileRawValue: Sendable {
    public struct Fragment: Sendable {
        public var text: String
        public var line: Int
        public var column: Int
    }

    public var fragments: [Fragment]
    /// Where the value starts (just after `=` when it is empty).
    public var line: Int
    public var column: Int
}

/// `KIND NAME: DEPENDENCIES` and its body.
public struct MlfileTargetDeclaration: Sendable {
    public var reference: TargetReference
    public var kindLocation: SourceLocation
    public var nameLocation: SourceLocation
    public var dependencies: [LocatedReference]
    public var assignments: [MlfileAssignment]
    /// A line of the header or body could not be read (and was reported): the target may have
    /// dependencies or keys that are not here, so nothing may be concluded from a key's absence.
    public var isIncomplete: Bool = false
}

/// A target reference together with where the user wrote it.
public struct LocatedReference: Sendable, Hashable {
    public var reference: TargetReference
    public var location: SourceLocation

    public init(_ reference: TargetReference, at location: SourceLocation) {
        self.reference = reference
        self.location = location
    }
}
