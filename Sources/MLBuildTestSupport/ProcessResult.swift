import Foundation
import MLBuildCore

/// What a finished child process left behind.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public var output: String { stdout + stderr }
}

/// Runs programs for tests (real processes; no shell unless asked).
public enum ProcessRunner {
    /// Runs `executable` with `arguments` in `directory`; `environment` entries are added to
    /// (or, with a nil value, removed from) the current environment.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], in directory: String? = nil,
                           environment: [String: String?] = [:], stdin: String? = nil) throws -> ProcessResult {
        var env = ProcessInfo.processInfo.environment
        for (name, value) in environment { env[name] = value }
        let result = try ChildProcess.run(executable, arguments, environment: env, directory: directory,
                                          stdin: stdin.map { Array($0.utf8) })
        return ProcessResult(status: result.status,
                             stdout: String(decoding: result.stdout, as: UTF8.self),
                             stderr: String(decoding: result.stderr, as: UTF8.self))
    }

    /// Runs a shell command line with `/bin/sh -c`.
    @discardableResult
    public static func shell(_ command: String, in directory: String? = nil, environment: [String: String?] = [:]) throws -> ProcessResult {
        try run("/bin/sh", ["-c", command], in: directory, environment: environment)
    }

    /// Whether a program is on PATH.
    public static func which(_ program: String) -> String? {
        guard let result = try? shell("command -v \(program)"), result.status == 0 else { return nil }
        let path = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return path.isEmpty ? nil : path
    }
}

