import MLBuildCore
import MLBuildEngine
import MLBuildTestSupport
import Synchronization

/// Ninja's `FakeCommandRunner`: records the commands it was given, in the order they started,
/// and "runs" one by writing its outputs into the `InMemoryDisk`. A command is
/// `VERB INPUTS… -> OUTPUTS…` (see `FakeRule`):
///
/// - `cat`: every output holds the inputs' contents, concatenated, globs expanded (the target's
///   name when it has no input);
/// - `first-line`: every output holds the first line of that (so an edit below the first
///   line of an input rebuilds the target to identical bytes);
/// - `fail`: writes `partial` into every output, then exits 1;
/// - `nothing`: writes nothing and exits 0;
/// - `link:TARGET`: every output is a symbolic link to TARGET.
///
/// `fail(_:)` makes a target's next commands exit 1 whatever their verb. `hold()` makes every
/// command wait, once started, until `release()` (or until its task is cancelled, which then
/// throws `CancellationError`), so that tests can look at what runs at once.
final class FakeCommandRunner: CommandRunner {
    private struct State {
        var started: [String] = []
        var commands: [String] = []
        var running = 0
        var maxRunning = 0
        var holding = false
        var nextID = 0
        var held: [Int: CheckedContinuation<Void, Never>] = [:]
        var cancelled: Set<Int> = []
        var failing: Set<String> = []
    }

    let disk: InMemoryDisk
    private let state = Mutex(State())

    init(disk: InMemoryDisk) { self.disk = disk }

    /// Targets (`kind:name`) whose command started, in order, since the last `takeStarted()`.
    func takeStarted() -> [String] {
        state.withLock { s in
            defer { s.started.removeAll() }
            return s.started
        }
    }

    /// Every command given, as `TARGET: COMMAND`, in the order they started (never cleared).
    var commands: [String] { state.withLock { $0.commands } }

    var running: Int { state.withLock { $0.running } }
    var maxRunning: Int { state.withLock { $0.maxRunning } }

    func fail(_ target: String) { state.withLock { _ = $0.failing.insert(target) } }
    func stopFailing(_ target: String) { state.withLock { _ = $0.failing.remove(target) } }

    func hold() { state.withLock { $0.holding = true } }

    /// Lets every held command go on, and the next ones run without waiting.
    func release() {
        let waiting = state.withLock { s in
            s.holding = false
            defer { s.held.removeAll() }
            return Array(s.held.values)
        }
        for continuation in waiting { continuation.resume() }
    }

    /// Waits (polling, at most 5 s) until `count` commands are running at once.
    func waitUntilRunning(_ count: Int) async -> Bool {
        for _ in 0..<5000 {
            if running >= count { return true }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return false
    }

    func run(command: String, environment: [String: String], output: OutputSink) async throws -> Int32 {
        let target = environment["MLBUILD_TARGET"] ?? "?"
        let (id, mustHold) = state.withLock { s in
            s.started.append(target)
            s.commands.append("\(target): \(command)")
            s.running += 1
            s.maxRunning = max(s.maxRunning, s.running)
            s.nextID += 1
            return (s.nextID, s.holding)
        }
        defer { state.withLock { $0.running -= 1 } }
        if mustHold {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let now = state.withLock { s in
                        if !s.holding || s.cancelled.contains(id) { return true }
                        s.held[id] = continuation
                        return false
                    }
                    if now { continuation.resume() }
                }
            } onCancel: {
                let continuation = state.withLock { s in
                    s.cancelled.insert(id)
                    return s.held.removeValue(forKey: id)
                }
                continuation?.resume()
            }
            try Task.checkCancellation()
        }
        let failing = state.withLock { $0.failing.contains(target) }
        return try perform(command, target: target, output: output, failing: failing)
    }

    private func perform(_ command: String, target: String, output: OutputSink, failing: Bool) throws -> Int32 {
        let words = command.split(separator: " ").map(String.init)
        guard let verb = words.first, let arrow = words.firstIndex(of: "->") else {
            output.append(line: "fake runner: malformed command '\(command)'")
            return 2
        }
        let inputs = words[1..<arrow], outputs = words[(arrow + 1)...]
        output.append(line: "\(verb) \(target)")
        if failing || verb == "fail" {
            for path in outputs { try disk.writeAtomically(Array("partial\n".utf8), to: path) }
            return 1
        }
        var content: [UInt8] = []
        for pattern in inputs {
            // A glob is expanded as the engine expands it, on the same disk.
            let paths = InputResolver.isGlob(pattern) ? try InputResolver.expand(InputPattern(pattern), disk: disk) : [pattern]
            for path in paths { content += (try? disk.readBytes(path)) ?? [] }
        }
        if inputs.isEmpty { content = Array("\(target)\n".utf8) }
        switch verb {
        case "cat": break
        case "first-line": content = Array(content.prefix { $0 != UInt8(ascii: "\n") }) + [UInt8(ascii: "\n")]
        case "nothing": return 0
        case _ where verb.hasPrefix("link:"):
            for path in outputs { try disk.createSymbolicLink(at: path, target: String(verb.dropFirst("link:".count))) }
            return 0
        default:
            output.append(line: "fake runner: unknown verb '\(verb)'")
            return 2
        }
        for path in outputs { try disk.writeAtomically(content, to: path) }
        return 0
    }
}
