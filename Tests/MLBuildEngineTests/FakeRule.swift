import MLBuildCore
import MLBuildEngine

/// `fake NAME: DEPS` — the test kind (registered only here): hands `FakeCommandRunner` the
/// command `VERB INPUTS… -> OUTPUTS…`, which the runner carries out on the in-memory disk.
///
///     fake b: fake:a
///         run = cat            # cat (default), first-line, fail, nothing, link:TARGET
///         inputs = out/a.txt, src/b.txt
///         outputs = out/b.txt
struct FakeRule: Rule {
    static let kind = "fake"
    static let version = 1
    static let summary = "a test rule whose command the fake runner carries out in memory"
    static let keys: [RuleKey] = [
        RuleKey("run", summary: "what the fake runner does: cat, first-line, fail, nothing or link:TARGET"),
        RuleKey("inputs", .list, summary: "files whose content enters the key"),
        RuleKey("outputs", .list, summary: "files the command writes"),
    ]

    let verb: String
    let inputs: [InputPattern]
    let outputs: [String]

    init(configuration: TargetConfiguration, diagnostics: inout DiagnosticCollector) {
        verb = diagnostics.attempt { try configuration.string("run") }.flatMap { $0 } ?? "cat"
        inputs = (diagnostics.attempt { try configuration.list("inputs") } ?? []).map { InputPattern($0.text, at: $0.location) }
        outputs = (diagnostics.attempt { try configuration.list("outputs") } ?? []).map(\.text)
    }

    func run(_ context: RuleContext) async throws {
        let command = "\(verb) \(inputs.map(\.pattern).joined(separator: " ")) -> \(outputs.joined(separator: " "))"
        let status = try await context.commandRunner.run(command: command, environment: context.environment, output: context.output)
        if status != 0 { throw RuleFailure("command exited with status \(status)") }
    }
}
