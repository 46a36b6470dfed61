import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
#if canImport(Glibc)
import Glibc
#endif

/// Hot reload, as a service of the server's ServiceGroup: `SIGHUP` reloads and re-verifies
/// every model; a change to a model's watched files (`stat` polled every `pollInterval`: the
/// model file, and for `model:NAME` also `.mlbuild/state`) reloads that model. A reload loads
/// the file afresh (`ServedModel.load`: digest, expected digests, decode) and swaps it in only
/// when it verifies; otherwise the model already served keeps serving, and a JSON line says
/// why. Reloads run one at a time, in the order they were asked for.
///
/// It is also where graceful shutdown begins: the group shuts services down in reverse order,
/// and this one comes last, so it is told first. It marks the registry as draining (`/readyz`
/// then answers 503), logs `shutdown`, and arms a deadline that ends the process with exit 0
/// should draining outlast it.
struct ModelReloader: Service {
    let sources: [ModelSource]
    let registry: ModelRegistry
    let metrics: ServeMetrics
    let logger: Logger
    var pollInterval: Duration = .seconds(1)
    /// From the start of shutdown to the forced exit.
    var shutdownDeadline: Duration = .milliseconds(9500)

    enum Trigger: Sendable {
        case signal
        case changed(name: String, file: String)
    }

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        let (triggers, continuation) = AsyncStream.makeStream(of: Trigger.self)
        let sources = sources
        let pollInterval = pollInterval
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in signals { continuation.yield(.signal) }
                }
                group.addTask {
                    var seen = Dictionary(uniqueKeysWithValues: sources.map { ($0.name, $0.watchedPaths.map(Self.signature)) })
                    while !Task.isCancelled {
                        try? await Task.sleep(for: pollInterval)
                        for source in sources {
                            let now = source.watchedPaths.map(Self.signature)
                            let before = seen[source.name] ?? []
                            guard now != before else { continue }
                            seen[source.name] = now
                            let changed = source.watchedPaths.indices.first { $0 >= before.count || before[$0] != now[$0] }
                            continuation.yield(.changed(name: source.name, file: changed.map { source.watchedPaths[$0] } ?? source.path))
                        }
                    }
                }
                // Until graceful shutdown finishes the stream.
                for await trigger in triggers {
                    switch trigger {
                    case .signal:
                        for source in sources { reload(source, trigger: "SIGHUP") }
                    case .changed(let name, let file):
                        for source in sources where source.name == name { reload(source, trigger: "\(file) changed") }
                    }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            registry.beginDraining()
            logger.info("shutdown", metadata: ["phase": "draining"])
            Self.armDeadline(shutdownDeadline, logger: logger)
            continuation.finish()
        }
    }

    /// Loads `source` again; swaps it in when it verifies, else keeps the served one.
    func reload(_ source: ModelSource, trigger: String) {
        let current = registry.model(named: source.name)
        do {
            let model = try ServedModel.load(source)
            registry.replace(model)
            metrics.setServed(model)
            metrics.reloaded(source.name, ok: true)
            logger.info("reload", metadata: [
                "model": .string(source.name), "file": .string(source.path), "trigger": .string(trigger),
                "digest": .string(model.digest), "previous_digest": .string(current?.digest ?? ""),
                "changed": .stringConvertible(model.digest != current?.digest),
            ])
        } catch {
            metrics.reloaded(source.name, ok: false)
            logger.error("reload_failed", metadata: [
                "model": .string(source.name), "file": .string(source.path), "trigger": .string(trigger),
                "reason": .string("\(error)"), "serving_digest": .string(current?.digest ?? ""),
            ])
        }
    }

    /// What `stat` says of a file that a rewrite changes (an atomic rename makes a new inode);
    /// nil when it cannot be read.
    static func signature(_ path: String) -> [Int]? {
        var s = stat()
        guard stat(path, &s) == 0 else { return nil }
        return [Int(s.st_dev), Int(s.st_ino), Int(s.st_size), Int(s.st_mtim.tv_sec), Int(s.st_mtim.tv_nsec),
                Int(s.st_ctim.tv_sec), Int(s.st_ctim.tv_nsec)]
    }

    /// After `deadline`, whatever has not drained is cut: the process exits 0 (the kernel closes
    /// the remaining connections). A plain thread, so a stuck task cannot hold it back.
    static func armDeadline(_ deadline: Duration, logger: Logger) {
        let (seconds, attoseconds) = deadline.components
        let micros = UInt32(clamping: seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
        Thread.detachNewThread {
            usleep(micros)
            logger.warning("shutdown", metadata: ["phase": "deadline", "forced": .stringConvertible(true)])
            LineWriter.standardError.flush()
            exit(0)
        }
    }
}
