import MLBuildCore
import MLBuildTraining
import Testing

/// What fuzzing the Mlfile parser and resolver found (see fuzz/run), kept as regression tests,
/// plus a seeded random-mutation property test and pathological inputs that must neither crash
/// nor hang.
@Suite("Mlfile fuzz regressions")
struct MlfileFuzzRegressionTests {
    /// The outcome of loading: diagnostics (from a throw or from `Mlfile.diagnostics`), or a
    /// broken invariant described as text.
    struct Outcome {
        var mlfile: Mlfile?
        var diagnostics: [Diagnostic] = []
        var problems: [String] = []
    }

    static func load(_ text: String, environment: [String: String] = ["HOME": "/home/fuzz"]) -> Outcome {
        let source = SourceFile(path: "Mlfile", text: text)
        var outcome = Outcome()
        do {
            let mlfile = try Mlfile.load(path: "Mlfile", text: text, environment: environment)
            outcome.mlfile = mlfile
            outcome.diagnostics = mlfile.diagnostics
        } catch let list as DiagnosticList {
            outcome.diagnostics = list.diagnostics
            if list.diagnostics.isEmpty { outcome.problems.append("an empty DiagnosticList was thrown") }
        } catch let diagnostic as Diagnostic {
            outcome.diagnostics = [diagnostic]
        } catch {
            outcome.problems.append("unexpected error type \(type(of: error)): \(error)")
        }
        for diagnostic in outcome.diagnostics {
            // The fuzzer's own check (fuzz/Sources/MlfileFuzzer).
            if let problem = diagnostic.placementProblem(in: source) { outcome.problems.append(problem) }
            _ = diagnostic.rendered
        }
        return outcome
    }

    static func messages(_ outcome: Outcome) -> [String] {
        outcome.diagnostics.map { "\($0.location.map(\.description) ?? "-"): \($0.message)" }
    }

    /// Runs `body` and returns its result and the seconds it took.
    static func timed<T>(_ body: () -> T) -> (T, Double) {
        let clock = ContinuousClock()
        var result: T?
        let elapsed = clock.measure { result = body() }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        // `result` is always set by the closure above.
        return (result ?? body(), seconds)
    }

    // MARK: - Property: random mutations of a valid Mlfile

    static let valid = """
    # a valid Mlfile exercising every feature
    seed = 42
    default = task:report
    data = data/raw
    python = ${env:PYTHON:-python3}

    task fetch
        outputs = ${data}/rows.csv
        run = curl -sf "https://example.com/x?a=1#frag" -o ${data}/rows.csv
        env = API_TOKEN=${secret:API_TOKEN}, HOME

    task clean: task:fetch
        inputs = ${data}/rows.csv, "a, b", category(x, y)
        outputs = work/clean.csv
        run = ${python} clean.py $$HOME $${HOME}
              ${data}/rows.csv work/clean.csv

    task report: task:clean, task:fetch
        run = "echo \\"done\\" \\$HOME \\n"
        seed = 11

    """

    /// Tokens a mutation may insert: the language's punctuation and keywords.
    static let tokens: [String] = [
        "${", "}", "$$", "${env:", ":-", "${secret:", "${data}", "${python}", "\"", "'", "\\", "#", " #",
        "=", " = ", ":", ", ", ",", "(", ")", "task ", "task:", "seed = ", "default = ", "\n", "\r\n",
        "\n    ", "\n\t", "\n        ", "    ", "\t", "é", "\u{E000}", "\0", "x", "-1", "99999999999999999999999",
    ]

    static func mutate(_ text: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = text
        for _ in 0..<(1 + Int(rng.next() % 4)) {
            let at = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count + 1))
            switch rng.next() % 7 {
            case 0:  // insert a token
                let token = tokens[Int(rng.next() % UInt64(tokens.count))]
                bytes.insert(contentsOf: Array(token.utf8), at: at)
            case 1:  // delete a short range
                let end = min(bytes.count, at + 1 + Int(rng.next() % 16))
                if at < end { bytes.removeSubrange(at..<end) }
            case 2:  // overwrite a byte with any byte (invalid UTF-8 included)
                if at < bytes.count { bytes[at] = UInt8(truncatingIfNeeded: rng.next()) }
            case 3:  // duplicate a range elsewhere
                let end = min(bytes.count, at + Int(rng.next() % 64))
                let slice = Array(bytes[at..<end])
                let to = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count + 1))
                bytes.insert(contentsOf: slice, at: to)
            case 4:  // swap two lines
                var lines = bytes.split(separator: 10, omittingEmptySubsequences: false).map(Array.init)
                if lines.count > 1 {
                    let i = Int(rng.next() % UInt64(lines.count)), j = Int(rng.next() % UInt64(lines.count))
                    lines.swapAt(i, j)
                    bytes = Array(lines.joined(separator: [10]))
                }
            case 5:  // change indentation of a line
                if let start = bytes[..<min(at, bytes.count)].lastIndex(of: 10) {
                    bytes.insert(contentsOf: rng.next() % 2 == 0 ? [32, 32] : [9], at: start + 1)
                } else {
                    bytes.insert(32, at: 0)
                }
            default:  // truncate
                bytes.removeSubrange(at..<bytes.count)
            }
        }
        return bytes
    }

    @Test(.timeLimit(.minutes(5)))
    func randomMutationsOfAValidMlfileNeverCrashAndPointInsideTheFile() {
        #expect(Self.load(Self.valid).mlfile?.diagnostics.isEmpty == true, "the starting point must be valid")
        var rng = SplitMix64(seed: 0x5EED_F022)
        let base = Array(Self.valid.utf8)
        var loaded = 0, rejected = 0
        for iteration in 0..<2_000 {
            let text = String(decoding: Self.mutate(base, &rng), as: UTF8.self)
            let outcome = Self.load(text)
            #expect(outcome.problems.isEmpty, "iteration \(iteration): \(outcome.problems) for input \(String(reflecting: text))")
            if outcome.problems.isEmpty == false { break }
            if outcome.mlfile != nil && outcome.diagnostics.isEmpty { loaded += 1 } else { rejected += 1 }
        }
        // Both paths must be exercised, or the mutations are too weak (or too strong).
        #expect(loaded > 100)
        #expect(rejected > 100)
    }

    // MARK: - Pathological inputs: bounded time, no crash

    @Test(.timeLimit(.minutes(5)))
    func veryLongLinesLoad() throws {
        let long = String(repeating: "x", count: 1_000_000)
        let (outcome, seconds) = Self.timed { Self.load("task a\n    run = echo \(long)\n    outputs = \(long)\n") }
        #expect(outcome.problems.isEmpty)
        #expect(try outcome.mlfile?.targets.first?.values["run"]?.scalarValue().count == 1_000_005)
        #expect(seconds < 60)  // hang detector, not a speed check
        // An unterminated quote and a comment that runs a million bytes.
        let (quoted, quotedSeconds) = Self.timed { Self.load("task a\n    run = \"\(long)\n#\(long)\n\(long)\n") }
        #expect(quoted.problems.isEmpty)
        #expect(Self.messages(quoted).contains { $0.hasPrefix("Mlfile:4:1000001: expected a setting") })
        #expect(quotedSeconds < 60)  // hang detector, not a speed check
    }

    @Test(.timeLimit(.minutes(5)))
    func deepDollarBraceNestingIsAnError() {
        let depth = 100_000
        let text = "x = 1\ntask a\n    run = " + String(repeating: "${", count: depth) + "x" + String(repeating: "}", count: depth) + "\n"
        let (outcome, seconds) = Self.timed { Self.load(text) }
        #expect(outcome.problems.isEmpty)
        // The first `}` closes the reference: its name is `${${…x`, which is no variable.
        #expect(Self.messages(outcome).first?.hasPrefix("Mlfile:3:11: unknown variable '${${") == true)
        #expect(seconds < 60)  // hang detector, not a speed check
    }

    @Test(.timeLimit(.minutes(5)), arguments: [10_000, 100_000])
    func longVariableChainsResolveWithoutRecursingPerLink(length: Int) throws {
        // v0 = ${v1}, v1 = ${v2}, … : resolving v0 first walks the whole chain.
        var text = ""
        for i in 0..<length { text += "v\(i) = ${v\(i + 1)}\n" }
        text += "v\(length) = end\ntask a\n    run = echo ${v0}\n"
        let (outcome, seconds) = Self.timed { Self.load(text) }
        #expect(outcome.problems.isEmpty)
        #expect(Self.messages(outcome) == [])
        #expect(try outcome.mlfile?.targets.first?.values["run"]?.scalarValue() == "echo end")
        #expect(seconds < 120)  // hang detector, not a speed check

        // The same chain closed into a cycle: one clear error per variable, no stack overflow.
        let cyclic = text.replacingOccurrences(of: "v\(length) = end", with: "v\(length) = ${v0}")
        let (cycle, cycleSeconds) = Self.timed { Self.load(cyclic) }
        #expect(cycle.problems.isEmpty)
        #expect(Self.messages(cycle) == ["Mlfile:1:1: variable cycle: v0 -> v1 -> v2 -> v3 -> v4 -> v5 -> … \(length - 10) more … -> v\(length - 4) -> v\(length - 3) -> v\(length - 2) -> v\(length - 1) -> v\(length) -> v0"])
        #expect(cycleSeconds < 120)  // hang detector, not a speed check
    }

    @Test(.timeLimit(.minutes(5)))
    func exponentialExpansionIsStoppedWithAnError() {
        // a1 = ${a0}${a0}, a2 = ${a1}${a1}, … would reach 2^64 characters.
        var text = "a0 = xxxxxxxx\n"
        for i in 1...64 { text += "a\(i) = ${a\(i - 1)}${a\(i - 1)}\n" }
        text += "task t\n    run = echo ${a64}\n"
        let (outcome, seconds) = Self.timed { Self.load(text) }
        #expect(outcome.problems.isEmpty)
        #expect(Self.messages(outcome).contains { $0.contains("substituted values in Mlfile exceed") })
        #expect(seconds < 120)  // hang detector, not a speed check
    }

    @Test(.timeLimit(.minutes(5)))
    func hundredThousandTargetsLoad() {
        var text = "out = build\n"
        for i in 0..<100_000 {
            text += "task t\(i)\(i > 0 ? ": task:t\(i - 1)" : "")\n    outputs = ${out}/t\(i).txt\n    run = echo \(i) > ${out}/t\(i).txt\n"
        }
        let (outcome, seconds) = Self.timed { Self.load(text) }
        #expect(outcome.problems.isEmpty)
        #expect(outcome.mlfile?.targets.count == 100_000)
        #expect(outcome.mlfile?.targets.last?.dependencies.map(\.reference.description) == ["task:t99998"])
        #expect(seconds < 180)  // hang detector, not a speed check
    }

    @Test(.timeLimit(.minutes(5)))
    func suggestionsForHugeNamesStayCheap() {
        // An unknown reference of 200k characters among 1,000 long variable names.
        var text = ""
        for i in 0..<1_000 { text += "v\(i)_\(String(repeating: "n", count: 2_000)) = \(i)\n" }
        text += "task a\n    run = ${\(String(repeating: "n", count: 200_000))}\n"
        let (outcome, seconds) = Self.timed { Self.load(text) }
        #expect(outcome.problems.isEmpty)
        #expect(Self.messages(outcome).count == 1)
        #expect(seconds < 60)  // hang detector, not a speed check
    }
}
