import MLBuildCore
import MLBuildEngine
import Testing

/// `Rule.derivedDependencies(among:)`: edges that only follow from other targets' rules are
/// graph edges like the header's, added once every target is made.
@Suite struct DerivedDependencyTests {
    /// `follow NAME` with `after = TARGET`: depends on whatever TARGET's rule depends on.
    struct FollowRule: Rule {
        static let kind = "follow"
        static let version = 1
        static let summary = "a test rule that depends on its `after` target's dependencies"
        static let keys: [RuleKey] = [RuleKey("after", summary: "a target whose dependencies this one also needs")]

        let after: LocatedReference?
        init(configuration: TargetConfiguration, diagnostics: inout DiagnosticCollector) {
            after = diagnostics.attempt { try configuration.string("after") }.flatMap { $0 }.flatMap { text in
                TargetReference(parsing: text).map { LocatedReference($0, at: configuration.value("after")?.location ?? configuration.target.nameLocation) }
            }
        }
        var implicitDependencies: [LocatedReference] { after.map { [$0] } ?? [] }
        var outputs: [String] { [] }
        var inputs: [InputPattern] { [] }
        func derivedDependencies(among rules: [TargetReference: any Rule]) -> [LocatedReference] {
            guard let after, let rule = rules[after.reference] else { return [] }
            return rule.implicitDependencies.map { LocatedReference($0.reference, at: after.location) }
        }
        func run(_ context: RuleContext) async throws {}
    }

    static func load(_ text: String) throws -> Project {
        try Project.load(mlfile: try Mlfile.load(path: "Mlfile", text: text, environment: [:]),
                         registry: RuleRegistry([FakeRule.self, FollowRule.self]), seedOverride: nil)
    }

    @Test func aDerivedEdgeIsInTheGraphAtTheKeyThatBroughtIt() throws {
        let project = try Self.load("""
        fake a
            outputs = out/a.txt
        follow b
            after = fake:a
        follow c
            after = follow:b
        """)
        #expect(project.graph.dependencies(of: TargetReference(kind: "follow", name: "c")) == [
            TargetReference(kind: "follow", name: "b"), TargetReference(kind: "fake", name: "a"),
        ])
        #expect(project.graph.dependencies(of: TargetReference(kind: "follow", name: "b")) == [TargetReference(kind: "fake", name: "a")],
                "a dependency already there is not repeated")
    }
}
