import MLBuildCore
import Testing

/// docs/mlfile.md: "all problems in the file are reported at once". Every independent problem
/// (syntax, substitution, keys, values, dependencies, outputs, cycles) in every target and kind
/// is reported in one load, sorted by line and column; a problem that follows from another one
/// is not reported again.
@Suite("Mlfile: every problem at once")
struct AllProblemsAtOnceTests {
    // MARK: - The two cases of issue 16

    @Test func anUnknownKeyAndAnUnknownVariableInOneTarget() {
        let outcome = ProjectLoading.load("""
        task a
            outptus = a.txt
            run = echo ${nope}
        """)
        #expect(outcome.problems.isEmpty, "\(outcome.problems)")
        #expect(outcome.messages == [
            "2:5: unknown key 'outptus' for task targets (did you mean 'outputs'?)",
            "3:16: unknown variable 'nope'",
        ])
    }

    @Test func aContainerWithAnUnknownKeyStillHasItsValuesChecked() {
        let outcome = ProjectLoading.load("""
        task a
            outputs = a.txt
            run = echo a > a.txt

        container app: task:a
            entrypiont = /bin/a
            platform = linux
            exposed_ports = 80, 70000
        """)
        #expect(outcome.problems.isEmpty, "\(outcome.problems)")
        #expect(outcome.messages == [
            "6:5: unknown key 'entrypiont' for container targets (did you mean 'entrypoint'?)",
            "7:16: invalid platform 'linux': expected os/arch or os/arch/variant",
            "8:25: exposed port '70000' must be PORT or PORT/tcp|udp|sctp with PORT in 1...65535",
        ])
    }

    // MARK: - One of each kind, in several targets

    static let everyKind = """
    seed = x
    out = build/out

    task fetch
        outputs = ./raw.csv
        run = curl ${url} > raw.csv
        env = TOKEN=${secret:TOKEN}, BAD-NAME

    task clean: task:fetch, task:nowhere
        inputs = raw.csv
        outputs = ${secret:KEY}.csv
        run = python3 clean.py ${env:PY_FLAGS}
        descripton = cleans
      env = A=1
        run2

    dataset rows
        source = data/rows.csv
        schema = id: string id, amount: integer,
            plan: category(a, a), label: bool
        min_rows = many
        baseline = dataset:older

    features rows
        dataset = dataset:rows
        label = label
        impute = amount:avg
        split = 1.5

    model lr: model:gbt
        features = features:rows
        algorithm = logistic_regresion
        gate = auc >= high, recal >= 0.5

    model gbt: model:lr
        features = features:missing
        algorithm = gradient_boosting
        trees = lots
        task = clasification

    container app: model:lr
        files = serve/app.py:app
        platform = linux
        exposed_ports = 70000
        tag = bad tag!

    task twin
        outputs = build/dataset/rows/extra.csv
        run = true
    """

    @Test func oneProblemOfEachKindInEveryKindOfTarget() {
        let outcome = ProjectLoading.load(Self.everyKind, environment: [:])
        #expect(outcome.problems.isEmpty, "\(outcome.problems)")
        #expect(outcome.messages == [
            "1:8: seed must be a non-negative integer, not 'x'",
            "5:15: output './raw.csv' has a '.' component (write 'raw.csv')",
            "6:16: unknown variable 'url'",
            "7:34: 'BAD-NAME' is not an environment variable name",
            "9:25: unknown target 'task:nowhere'",
            "11:15: 'outputs' cannot hold a secret: ${secret:…} is allowed only in a task's 'run' and 'env', where its value reaches the command at run time and nothing else, and in a dataset's 'pseudonymize_key'",
            "12:28: environment variable 'PY_FLAGS' is not set",
            "13:5: unknown key 'descripton' for task targets (did you mean 'description'?)",
            "14:3: inconsistent indentation: body lines of task:clean start in column 5",
            "15:9: expected 'key = value' in a target body",
            "19:37: schema column 2 'amount: integer': unknown type 'integer' (expected int, float, bool, string or category(...))",
            "20:27: schema column 3 'plan: category(a, a)': category value 'a' listed twice",
            "21:16: 'min_rows': expected a non-negative integer, got 'many'",
            "22:16: unknown target 'dataset:older'",
            "27:14: 'impute': 'amount:avg': unknown strategy 'avg' (expected mean, median, mode or constant=VALUE)",
            "28:13: 'split': expected the train fraction, a number strictly between 0 and 1, got '1.5'",
            "32:17: unknown algorithm 'logistic_regresion' (did you mean 'logistic_regression'?)",
            "33:19: gate threshold 'high' is not a number",
            "33:25: unknown metric 'recal' in gate (did you mean 'recall'?)",
            "35:12: dependency cycle: model:lr -> model:gbt -> model:lr",
            "36:16: unknown target 'features:missing'",
            "38:13: invalid value 'lots' for hyper-parameter 'trees': expected an integer >= 1",
            "39:12: task must be classification or regression, not 'clasification' (did you mean 'classification'?)",
            "42:13: files destination 'app' must be an absolute path in the image (e.g. /app/)",
            "43:16: invalid platform 'linux': expected os/arch or os/arch/variant",
            "44:21: exposed port '70000' must be PORT or PORT/tcp|udp|sctp with PORT in 1...65535",
            "45:11: tag 'bad tag!' may hold only letters, digits and . _ - : / + @",
            "48:15: output 'build/dataset/rows/extra.csv' of task:twin lies inside 'build/dataset/rows', an output of dataset:rows",
        ])
    }

    @Test func diagnosticsComeInLineAndColumnOrderWithCarets() {
        let outcome = ProjectLoading.load(Self.everyKind)
        let locations = outcome.diagnostics.compactMap(\.location).map { [$0.line, $0.column] }
        #expect(locations.count == outcome.diagnostics.count)
        #expect(locations == locations.sorted { $0.lexicographicallyPrecedes($1) })
        // Each one quotes its line with a caret under the column.
        let seedCaret = outcome.diagnostics.first?.rendered
        #expect(seedCaret == "Mlfile:1:8: error: seed must be a non-negative integer, not 'x'\n    seed = x\n           ^")
    }

    // MARK: - One mistake, one diagnostic

    @Test func aDependencyOnATargetWithAnErrorIsNotAlsoUnknown() {
        let outcome = ProjectLoading.load("""
        task a
            outptus = a.txt
            run = touch a.txt
        task b: task:a
            outputs = b.txt
            run = touch b.txt
        """)
        #expect(outcome.messages == ["2:5: unknown key 'outptus' for task targets (did you mean 'outputs'?)"])
    }

    @Test func aValueThatDidNotResolveIsNeitherMissingNorEmpty() {
        let outcome = ProjectLoading.load("""
        task a
            run = ${nope}
        dataset d
            source = ${env:SRC}
            schema = ${nope}
        features f
            dataset = ${nope}
            label = y
        model m
            features = ${nope}
            algorithm = ${nope}
            gate = auc >= ${nope}
        container c
            files = ${nope}
        """)
        // The same unknown variable, once per place it is written; no "missing run", "needs a
        // schema", "unknown target 'features:'" or "packs nothing" after it.
        #expect(outcome.messages == [
            "2:11: unknown variable 'nope'",
            "4:14: environment variable 'SRC' is not set",
            "5:14: unknown variable 'nope'",
            "7:15: unknown variable 'nope'",
            "10:16: unknown variable 'nope'",
            "11:17: unknown variable 'nope'",
            "12:19: unknown variable 'nope'",
            "14:13: unknown variable 'nope'",
        ])
    }

    @Test func aBrokenVariableIsReportedOnceWhereverItIsUsed() {
        let outcome = ProjectLoading.load("""
        dir = ${nope}/x
        task a
            outputs = ${dir}/a.txt
            run = touch ${dir}/a.txt
        task b
            outputs = ${dir}/b.txt
            run = touch ${dir}/b.txt
        """)
        #expect(outcome.messages == ["1:7: unknown variable 'nope'"])
    }

    @Test func everyBadReferenceInOneValueIsReported() {
        let outcome = ProjectLoading.load("""
        task a
            run = echo ${one} ${env:TWO} ${three:-x}
        """)
        #expect(outcome.messages == [
            "2:16: unknown variable 'one'",
            "2:23: environment variable 'TWO' is not set",
            "2:34: unknown variable 'three:-x'",
        ])
    }

    @Test func aHeaderThatDeclaresNoTargetIsOneError() {
        let outcome = ProjectLoading.load("""
        task:a
            outputs = a.txt
            run = touch a.txt
        task b: task:a
            outputs = b.txt
            run = touch b.txt
        task ..
            run = true
        task c: task:..
            run = true
        """)
        // Its body lines are not each an "unexpected indented line", and the targets naming it
        // are not told it is unknown.
        #expect(outcome.messages == [
            "1:5: expected a setting 'NAME = value' or a target header 'KIND NAME: DEPENDENCIES' (a target header is 'KIND NAME: DEPENDENCIES', e.g. 'task clean: task:fetch')",
            "7:6: target name '..' is not allowed: a name becomes a directory name (build/KIND/NAME)",
        ])
    }

    @Test func aHeaderWithoutItsColonStillDeclaresItsTarget() {
        let outcome = ProjectLoading.load("""
        task a task:b
            outptus = a.txt
            run = true
        task b: task:a
            run = true
        """)
        #expect(outcome.messages == [
            "1:8: expected ':' after the target name 'a'",
            "2:5: unknown key 'outptus' for task targets (did you mean 'outputs'?)",
        ])
    }

    @Test func aBodyLineThatCannotBeReadHidesNoOtherProblemAndAddsNone() {
        let outcome = ProjectLoading.load("""
        task a
            outputs a.txt
                continued
            env = A-B
        dataset d
            schema not readable
            source = data/d.csv
        container c
            files: x
        """)
        // No "missing the required key 'run'", no "needs a 'schema'", no "packs nothing": the
        // key may be on the line that could not be read.
        #expect(outcome.messages == [
            "2:13: expected 'key = value' in a target body",
            "4:11: 'A-B' is not an environment variable name",
            "6:12: expected 'key = value' in a target body",
            "9:10: expected 'key = value' in a target body",
        ])
    }

    @Test func aRequiredKeyThatIsMissingIsOneError() {
        let outcome = ProjectLoading.load("""
        dataset d
            schema = a: int
        features f
            dataset = dataset:d
        model m
            algorithm = linear_regression
        """)
        #expect(outcome.messages == [
            "1:9: dataset:d is missing the required key 'source'",
            "3:10: features:f is missing the required key 'label'",
            "5:7: model:m is missing the required key 'features'",
        ])
    }

    @Test func aDatasetThatIsItsOwnBaselineIsNotAlsoACycle() {
        let outcome = ProjectLoading.load("""
        dataset d
            source = d.csv
            schema = a: int
            baseline = dataset:d
        """)
        #expect(outcome.messages == ["4:16: a dataset cannot be its own baseline"])
    }

    @Test func aCycleIsReportedAlongsideOtherProblems() {
        let outcome = ProjectLoading.load("""
        task a: task:b
            run = true
            outptus = a
        task b: task:a
            run = true
        """)
        #expect(outcome.messages == [
            "3:5: unknown key 'outptus' for task targets (did you mean 'outputs'?)",
            "4:9: dependency cycle: task:a -> task:b -> task:a",
        ])
    }

    @Test func anUnknownKindStillHasItsDependenciesChecked() {
        let outcome = ProjectLoading.load("""
        tsk a: task:nope
            run = true
        task b: tsk:a
            run = true
        """)
        #expect(outcome.messages == [
            "1:1: unknown target kind 'tsk' (did you mean 'task'?)",
            "1:8: unknown target 'task:nope'",
        ])
    }

    @Test func aValidMlfileStillLoads() throws {
        let outcome = ProjectLoading.load("""
        task a
            outputs = a.txt
            run = touch a.txt
        """)
        #expect(outcome.messages == [])
        #expect(outcome.project?.graph.nodes.map(\.description) == ["task:a"])
    }
}
