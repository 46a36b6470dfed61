import MLBuildCore
import MLBuildEngine
import MLBuildRules
import Testing

/// `cv = N` on a model brings N auxiliary fold targets into the project (`AuxiliaryTarget`):
/// graph nodes with their own keys' parameters, dependencies and outputs, checked like any other.
@Suite("cv = N: a model's fold targets")
struct CrossValidationTargetsTests {
    static let base = """
    dataset d
        source = d.csv
        schema = x: float, y: bool

    features f
        dataset = dataset:d
        label = y

    model m
        features = features:f
        algorithm = logistic_regression
        cv = 3
    """

    @Test func foldsAreNodesBetweenTheFeaturesAndTheModel() throws {
        let outcome = ProjectLoading.load(Self.base)
        #expect(outcome.problems.isEmpty && outcome.diagnostics.isEmpty, "\(outcome.messages)")
        let project = try #require(outcome.project)
        let folds = (1 ... 3).map { TargetReference(kind: "cv", name: "m.fold-\($0)") }
        let model = TargetReference(kind: "model", name: "m"), features = TargetReference(kind: "features", name: "f")
        #expect(project.auxiliaryTargets(of: model) == folds)
        #expect(Set(project.graph.dependencies(of: model)) == Set(folds + [features]))
        for (index, fold) in folds.enumerated() {
            #expect(project.graph.dependencies(of: fold) == [features])
            #expect(project.producers["build/cv/m/fold-\(index + 1)"] == fold)
            let parameters = try #require(try project.configurations[fold]?.canonicalParameters())
            #expect(parameters.contains { $0.0 == "cv.fold" && $0.1 == String(index + 1) })
            #expect(parameters.contains { $0.0 == "cv" && $0.1 == "3" })
            #expect(project.configurations[fold]?.seed == project.configurations[model]?.seed)
        }
    }

    @Test func anOutputOverAFoldIsAnErrorAtTheOutput() {
        let outcome = ProjectLoading.load(Self.base + """


        task t
            outputs = build/cv/m
            run = true
        """)
        #expect(outcome.problems.isEmpty, "\(outcome.problems)")
        #expect(outcome.messages == ["15:15: output 'build/cv/m' of task:t contains 'build/cv/m/fold-1', an output of cv:m.fold-1"],
                "\(outcome.messages)")
    }

    @Test func noMlfileCanDeclareAFoldTarget() {
        let outcome = ProjectLoading.load("""
        cv m.fold-1
            features = features:f
        """)
        #expect(outcome.messages.first?.hasPrefix("1:1: unknown target kind 'cv'") == true, "\(outcome.messages)")
    }
}
