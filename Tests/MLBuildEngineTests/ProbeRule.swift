import MLBuildCore
import MLBuildEngine

/// `probe NAME: DEPS` — `fake` plus what a key can hold besides files: the seed (`usesSeed`),
/// passed-through environment variables (`env`) and a derived parameter (`derived = VALUE`
/// makes `derivedParameters` return `derived.value = VALUE`, as a rule reading the workspace
/// would). Run by `FakeCommandRunner` like `fake`.
struct ProbeRule: Rule {
    static let kind = "probe"
    static let version = 1
    static let usesSeed = true
    static let summary = "a test rule with a seed, environment values and derived parameters"
    static let keys: [RuleKey] = [
        RuleKey("run", summary: "what the fake runner does: cat, first-line, fail, nothing or link:TARGET"),
        RuleKey("inputs", .list, summary: "files whose content enters the key"),
        RuleKey("outputs", .list, summary: "files the command writes"),
        RuleKey("env", .list, summary: "environment variables passed through"),
        RuleKey("derived", summary: "the value of the derived parameter derived.value"),
    ]

    let verb: String
    let inputs: [InputPattern]
    let outputs: [String]
    let environment: [String]
    let derived: String?

    init(configuration: TargetConfiguration, diagnostics: inout DiagnosticCollector) {
        verb = diagnostics.attempt { try configuration.string("run") }.flatMap { $0 } ?? "cat"
        inputs = (diagnostics.attempt { try configuration.list("inputs") } ?? []).map { InputPattern($0.text, at: $0.location) }
        outputs = (diagnostics.attempt { try configuration.list("outputs") } ?? []).map(\.text)
        environment = (diagnostics.attempt { try configuration.list("env") } ?? []).map(\.text)
        derived = diagnostics.attempt { try configuration.string("derived") }.flatMap { $0 }
    }

    func derivedParameters(workspace: String) throws -> [(name: String, value: String)] {
        derived.map { [("value", $0)] } ?? []
    }

    func run(_ context: RuleContext) async throws {
        let command = "\(verb) \(inputs.map(\.pattern).joined(separator: " ")) -> \(outputs.joined(separator: " "))"
        let status = try await context.commandRunner.run(command: command, environment: context.environment, output: context.output)
        if status != 0 { throw RuleFailure("command exited with status \(status)") }
    }
}
