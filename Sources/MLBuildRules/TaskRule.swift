import MLBuildCore
import MLBuildEngine

/// `task NAME: DEPS` — a shell command with declared inputs and outputs.
///
///     task clean_rows: task:fetch
///         inputs = ${data}/rows.csv, scripts/clean.py
///         outputs = work/clean.csv
///         run = python3 scripts/clean.py ${data}/rows.csv work/clean.csv
///         env = LANG, TZ, API_TOKEN=${secret:API_TOKEN}
///
/// The command runs with `/bin/sh -c` in the workspace root with a clean environment: the
/// variables named in `env` (their values enter the key), `NAME=value` items of `env`,
/// `MLBUILD_SEED`, `MLBUILD_TARGET`, and a fixed `PATH` unless `PATH` is listed. A
/// `${secret:NAME}` in `run` reads `$NAME` from the task's environment, which gets the secret's
/// value at run time; the key only ever sees the reference.
public struct TaskRule: Rule {
    public static let kind = "task"
    public static let version = 1
    /// The command gets `MLBUILD_SEED`, and mlbuild cannot tell whether it reads it.
    public static let usesSeed = true
    public static let summary = "runs a shell command that turns declared inputs into declared outputs"
    public static let keys: [RuleKey] = [
        RuleKey("run", required: true, acceptsSecrets: true, summary: "the shell command (sh -c), run in the workspace root"),
        RuleKey("inputs", .list, summary: "files, directories or globs whose content enters the key"),
        RuleKey("outputs", .list, summary: "files or directories the command must produce"),
        RuleKey("env", .list, acceptsSecrets: true, summary: "environment variables passed through (NAME) or set (NAME=value)"),
    ]

    public let command: [Unicode.Scalar]
    public let inputs: [InputPattern]
    public let outputs: [String]
    public let environment: [String]
    /// `NAME=value` items of `env` (values may hold secret references).
    let assignments: [(String, [Unicode.Scalar])]

    public init(configuration: TargetConfiguration, diagnostics: inout DiagnosticCollector) {
        let run = configuration.value("run")
        command = run.map { value in
            // A single quoted string is unquoted; anything else is the command as written.
            // (Unquoted, `scalarValue()` is the trimmed scalars: taken without the String.)
            value.isOneQuotedString ? (try? value.scalarValue()).map { Array($0.unicodeScalars) } ?? value.scalars : Array(value.trimmedScalars)
        } ?? []
        // A missing or unusable `run` is reported already.
        if run != nil, command.allSatisfy(ResolvedValue.isWhitespace) {
            diagnostics.add(configuration.diagnostic("run", "\(configuration.reference) has an empty 'run' command"))
        }
        var inputs: [InputPattern] = []
        for item in diagnostics.attempt({ try configuration.value("inputs")?.listTextsAndLocations() ?? [] }) ?? [] {
            // Outside the workspace is allowed (absolute, or `../` first): inputs are only read.
            if let problem = WorkspacePath.problem(item.text, absolute: true, leadingParent: true) {
                diagnostics.add(configuration.target.source.diagnostic("input '\(item.text)' \(problem)", at: item.location))
            } else {
                inputs.append(InputPattern(item.text, at: item.location))
            }
        }
        self.inputs = inputs
        var outputs: [String] = []
        // Texts first (every target has outputs); an item's location only for a diagnostic.
        let outputTexts = diagnostics.attempt({ try configuration.value("outputs")?.listTexts() ?? [] }) ?? []
        let listed = outputTexts.allSatisfy(Self.isAcceptedOutput) ? [] : diagnostics.attempt({ try configuration.list("outputs") }) ?? []
        if listed.isEmpty { outputs = outputTexts }
        for item in listed {
            let path = item.text
            if WorkspacePath.placement(of: path) == .outside {
                diagnostics.add(configuration.target.source.diagnostic("output '\(item.text)' must be a path inside the workspace", at: item.location))
            } else if let problem = WorkspacePath.problem(path) {
                diagnostics.add(configuration.target.source.diagnostic("output '\(item.text)' \(problem)", at: item.location))
            } else if path == ".mlbuild" || path.hasPrefix(".mlbuild/") {
                diagnostics.add(configuration.target.source.diagnostic("output '\(item.text)' is inside mlbuild's own state directory", at: item.location))
            } else {
                outputs.append(path)
            }
        }
        self.outputs = outputs
        var passThrough: [String] = []
        var assignments: [(String, [Unicode.Scalar])] = []
        for item in diagnostics.attempt({ try configuration.list("env") }) ?? [] {
            let equals = item.text.firstIndex(of: "=")
            let name = String(item.text[..<(equals ?? item.text.endIndex)])
            if name.isEmpty || !name.utf8.allSatisfy({ MLBuildCore.isEnvironmentNameByte($0) }) {
                diagnostics.add(configuration.target.source.diagnostic("'\(name)' is not an environment variable name", at: item.location))
            } else if let equals {
                assignments.append((name, Array(item.text[item.text.index(after: equals)...].unicodeScalars)))
            } else {
                passThrough.append(name)
            }
        }
        environment = passThrough
        self.assignments = assignments
    }

    /// Passes every check of `init` on an output path (so that no diagnostic is due).
    static func isAcceptedOutput(_ path: String) -> Bool {
        WorkspacePath.placement(of: path) != .outside && WorkspacePath.problem(path) == nil
            && !(path == ".mlbuild" || path.hasPrefix(".mlbuild/"))
    }

    public func run(_ context: RuleContext) async throws {
        var environment = context.environment
        for (name, value) in assignments { environment[name] = Self.expandSecrets(value, secrets: context.secrets, inShell: false) }
        for (name, value) in context.secrets { environment[name] = value }
        let script = Self.expandSecrets(command, secrets: context.secrets, inShell: true)
        let status = try await context.commandRunner.run(command: script, environment: environment, output: context.output)
        if status != 0 {
            throw RuleFailure("command exited with status \(status)")
        }
    }

    /// `sh -c` with the command, as `ProcessCommandRunner` runs it locally. A task that uses a
    /// secret never runs remotely, so there is none to expand here.
    public func remoteCommand(environment: [String: String]) -> (arguments: [String], environment: [String: String])? {
        var environment = environment
        for (name, value) in assignments { environment[name] = Self.expandSecrets(value, secrets: [:], inShell: false) }
        return (["/bin/sh", "-c", Self.expandSecrets(command, secrets: [:], inShell: true)], environment)
    }

    /// Replaces secret markers: in a shell command by `${NAME}` (the value comes from the
    /// environment, so it never appears in the command line), elsewhere by the value itself.
    static func expandSecrets(_ scalars: [Unicode.Scalar], secrets: [String: String], inShell: Bool) -> String {
        ResolvedValue.replacingSecrets(in: scalars) { name in inShell ? "${\(name)}" : (secrets[name] ?? "") }
    }
}
