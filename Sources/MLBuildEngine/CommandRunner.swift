import Foundation
import MLBuildCore
#if canImport(Glibc)
import Glibc
#endif

/// Runs shell commands for rules. A protocol so that the engine can be tested without processes;
/// `ProcessCommandRunner` is the real one.
public protocol CommandRunner: Sendable {
    /// Runs `command` with `/bin/sh -c` in the working directory with exactly `environment`,
    /// appending stdout and stderr to `output`. Returns the exit status (128+N for signal N).
    func run(command: String, environment: [String: String], output: OutputSink) async throws -> Int32
}

/// posix_spawn + a dedicated waiting thread per child, so that any number of `-j` children wait
/// without occupying Swift's cooperative thread pool (2 threads on a 2-core machine).
public struct ProcessCommandRunner: CommandRunner {
    public init() {}

    public func run(command: String, environment: [String: String], output: OutputSink) async throws -> Int32 {
        try await Blocking.run {
            try Self.spawnAndWait(command: command, environment: environment, output: output)
        }
    }

    static func spawnAndWait(command: String, environment: [String: String], output: OutputSink) throws -> Int32 {
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { throw RuleFailure("cannot create a pipe: \(String(cString: strerror(errno)))") }
        // Not inherited by other children spawned meanwhile (dup2 onto 1 and 2 clears the flag).
        _ = fcntl(pipeFDs[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(pipeFDs[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 2)

        let argv: [String] = ["/bin/sh", "-c", command]
        let envp: [String] = environment.keys.sorted().map { "\($0)=\(environment[$0] ?? "")" }
        var cArgv = argv.map { strdup($0) } + [nil]
        var cEnvp = envp.map { strdup($0) } + [nil]
        defer {
            for p in cArgv { free(p) }
            for p in cEnvp { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/sh", &actions, nil, &cArgv, &cEnvp)
        close(pipeFDs[1])
        guard rc == 0 else {
            close(pipeFDs[0])
            throw RuleFailure("cannot start /bin/sh: \(String(cString: strerror(rc)))")
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(pipeFDs[0], $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            output.append(chunk[0..<n])
        }
        close(pipeFDs[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { throw RuleFailure("waiting for the command failed: \(String(cString: strerror(errno)))") }
        }
        let low = status & 0x7f
        if low == 0 { return (status >> 8) & 0xff }
        return 128 + low
    }
}

/// Runs blocking work (processes, big file copies, hashing) on a fresh thread and awaits it.
public enum Blocking {
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
            }
            thread.stackSize = 1 << 22
            thread.start()
        }
    }
}
