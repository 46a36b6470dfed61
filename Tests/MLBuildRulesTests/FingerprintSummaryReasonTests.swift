import MLBuildCore
import MLBuildEngine
import Testing

/// The first difference between two fingerprint summaries (issue 11, item 9): the one function
/// `status`, `-n` and `build --explain` take their reasons from.
@Suite("fingerprint summary reasons")
struct FingerprintSummaryReasonTests {
    static func digest(_ text: String) -> ContentDigest { ContentDigest.of(text) }

    /// A summary as a build records it (values kept only where `displayableValue` allows).
    static func summary(parameters: [(String, String)], dependency: String = "a") -> FingerprintSummary {
        FingerprintSummary(
            ruleVersion: "task/1", parameters: parameters.map { ($0.0, digest($0.1)) }, inputs: [],
            dependencies: [("task:dep", digest(dependency))], seed: 7, environment: [],
            parameterValues: parameters.compactMap { name, value in
                FingerprintSummary.displayableValue(name: name, value: value).map { (name, $0) }
            })
    }

    @Test func aChangedParameterCarriesItsOldAndNewValues() {
        let before = Self.summary(parameters: [("learning_rate", "0.1"), ("trees", "100")])
        let after = Self.summary(parameters: [("learning_rate", "0.05"), ("trees", "100")])
        let cause = after.firstDifference(from: before)
        #expect(cause == .parameterChanged("learning_rate", values: .init(old: "0.1", new: "0.05")))
        #expect(cause?.description == "parameter learning_rate changed: 0.1 → 0.05")
    }

    @Test func anAddedOrRemovedParameterReadsUnset() {
        let before = Self.summary(parameters: [("trees", "100")])
        let after = Self.summary(parameters: [("l2", "1.0"), ("trees", "100")])
        #expect(after.firstDifference(from: before)?.description == "parameter l2 changed: (unset) → 1.0")
        #expect(before.firstDifference(from: after)?.description == "parameter l2 changed: 1.0 → (unset)")
    }

    @Test func secretsDerivedLongAndMultiLineValuesAreNeverShown() {
        #expect(FingerprintSummary.displayableValue(name: "run", value: "curl -H ${secret:TOKEN} x") == nil)
        // As the resolver leaves a reference in the value.
        let resolved = "curl -H \(ResolvedValue.secretOpen)TOKEN\(ResolvedValue.secretClose) x"
        #expect(FingerprintSummary.displayableValue(name: "run", value: resolved) == nil)
        #expect(FingerprintSummary.displayableValue(name: "derived.revision", value: "abc123") == nil)
        #expect(FingerprintSummary.displayableValue(name: "run", value: String(repeating: "x", count: 81)) == nil)
        #expect(FingerprintSummary.displayableValue(name: "run", value: "a\nb") == nil)
        #expect(FingerprintSummary.displayableValue(name: "formats", value: "onnx\u{1F}json") == "onnx, json")
        let before = Self.summary(parameters: [("run", "echo ${secret:T} 1")])
        let after = Self.summary(parameters: [("run", "echo ${secret:T} 2")])
        #expect(after.parameterValues.isEmpty)
        #expect(after.firstDifference(from: before)?.description == "parameter run changed")
    }

    /// A derived parameter is read when the key is computed: in a build, after the dependencies
    /// were restored or built, in `status` before. When a dependency changed too, both name the
    /// dependency.
    @Test func aDependencyChangeIsToldBeforeADerivedParameterChange() {
        let before = Self.summary(parameters: [("derived.revision", "aaa"), ("run", "x")], dependency: "a")
        let both = Self.summary(parameters: [("derived.revision", "aaa-dirty"), ("run", "x")], dependency: "b")
        let dependencyOnly = Self.summary(parameters: [("derived.revision", "aaa"), ("run", "x")], dependency: "b")
        #expect(both.firstDifference(from: before) == .dependencyChanged("task:dep"))
        #expect(dependencyOnly.firstDifference(from: before) == .dependencyChanged("task:dep"))
        let derivedOnly = Self.summary(parameters: [("derived.revision", "bbb"), ("run", "x")], dependency: "a")
        #expect(derivedOnly.firstDifference(from: before)?.description == "parameter derived.revision changed")
        // A declared parameter still comes before the dependencies.
        let declared = Self.summary(parameters: [("derived.revision", "aaa"), ("run", "y")], dependency: "b")
        #expect(declared.firstDifference(from: before)?.description == "parameter run changed: x → y")
    }
}
