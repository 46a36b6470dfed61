/// The Mlfile as written: statements with their positions, before variables are substituted.
public struct MlfileSyntax: Sendable {
    public var source: SourceFile
    public var assignments: [MlfileAssignment]
    public var targets: [MlfileTargetDeclaration]
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
