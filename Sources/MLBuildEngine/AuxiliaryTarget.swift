import MLBuildCore

/// A target that one Mlfile target brings with it, built and cached like any other: a model's
/// cross-validation folds (`cv = 5` makes `cv:NAME.fold-1` … `cv:NAME.fold-5`), each its own
/// action so that folds run in parallel under `-j` and are restored one by one.
///
/// Its kind is one no Mlfile can declare, so its name never collides with a written target. It
/// shares its parent's values and seed (`TargetConfiguration.auxiliary`), plus `parameters`
/// that enter its key (the fold's number and the fold count), and the parent depends on it
/// (list it among the parent's `implicitDependencies`).
public struct AuxiliaryTarget: Sendable {
    public var reference: TargetReference
    public var rule: any Rule
    /// Extra canonical parameters of its key, beyond the parent's.
    public var parameters: [(String, String)]

    public init(reference: TargetReference, rule: any Rule, parameters: [(String, String)]) {
        self.reference = reference
        self.rule = rule
        self.parameters = parameters
    }
}
