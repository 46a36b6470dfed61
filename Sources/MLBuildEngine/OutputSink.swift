import MLBuildCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Collects what a target printed (its command's stdout and stderr, a rule's messages), to be
/// shown in one piece when the target finishes, as Ninja does, so parallel output never mixes.
///
/// Secret values are masked as the bytes arrive (`SecretMasker.Stream`), so neither memory nor
/// the log file ever holds one. Memory is bounded: up to `memoryLimit` bytes are kept whole;
/// beyond that the full output goes to `logPath` (written to `logPath.tmp` and renamed when
/// the target finishes, so the log is never seen half-written) and memory keeps only the
/// first and the last `excerptLength` bytes, which `finish()` shows around a line naming
/// the log. A run that does not spill removes the log of an earlier run.
public final class OutputSink: Sendable {
    public static let defaultMemoryLimit = 4 << 20
    /// How much of each end of a spilled output is shown.
    public static let defaultExcerptLength = 64 << 10

    /// Where the full output is written when it outgrows memory (nil: never; the middle is dropped).
    public let logPath: String?
    /// `logPath` as shown to the user (workspace-relative).
    public let displayPath: String?
    public let memoryLimit: Int
    public let excerptLength: Int

    private struct State {
        var masker: SecretMasker.Stream
        /// Everything so far while below the limit; after spilling, the first `excerptLength` bytes.
        var head: [UInt8] = []
        /// After spilling: the last bytes (between `excerptLength` and twice that).
        var tail: [UInt8] = []
        var total = 0
        var spilled = false
        /// The temp log's descriptor while spilled, -1 otherwise.
        var fd: Int32 = -1
        /// Why the log could not be written, if it could not.
        var logFailure: String?
        var finished: String?
    }

    /// Guards everything; appended to by the thread reading a child's pipe.
    private let state: Mutex<State>

    public init(logPath: String? = nil, displayPath: String? = nil, secrets: SecretMasker = SecretMasker([]),
                memoryLimit: Int = OutputSink.defaultMemoryLimit, excerptLength: Int? = nil) {
        self.logPath = logPath
        self.displayPath = displayPath ?? logPath
        self.memoryLimit = max(1, memoryLimit)
        self.excerptLength = max(1, min(excerptLength ?? OutputSink.defaultExcerptLength, self.memoryLimit))
        state = Mutex(State(masker: SecretMasker.Stream(secrets)))
    }

    public func append(_ bytes: some Collection<UInt8>) {
        state.withLock { state in
            guard state.finished == nil else { return }
            let masked = state.masker.feed(bytes)
            store(masked, in: &state)
        }
    }

    public func append(line: String) {
        append(Array((line.hasSuffix("\n") ? line : line + "\n").utf8))
    }

    /// Whether the output outgrew memory (then `logPath` holds all of it once finished).
    public var spilled: Bool { state.withLock { $0.spilled } }

    /// Ends the capture and returns what to show: everything, or the first and last part
    /// around a line saying how much was left out and where the whole is. Idempotent.
    public func finish() -> String {
        state.withLock { state in
            if let text = state.finished { return text }
            store(state.masker.finish(), in: &state)
            let text: String
            if state.spilled {
                if state.fd >= 0 {
                    let closed = close(state.fd) == 0
                    state.fd = -1
                    if let logPath {
                        if closed, rename(logPath + ".tmp", logPath) == 0 {
                            // kept
                        } else {
                            state.logFailure = state.logFailure ?? String(cString: strerror(errno))
                            unlink(logPath + ".tmp")
                        }
                    }
                }
                let head = Self.prefixOnBoundary(state.head)
                let tail = Self.suffixOnBoundary(state.tail.suffix(excerptLength))
                let omitted = state.total - head.count - tail.count
                var note = "[… \(omitted) bytes of output not shown (\(state.total) in all)"
                if state.logFailure == nil, let displayPath {
                    note += "; the full output is in \(displayPath)"
                } else if let failure = state.logFailure {
                    note += "; the full output could not be saved: \(failure)"
                }
                note += " …]"
                var joined = String(decoding: head, as: UTF8.self)
                if !joined.hasSuffix("\n") { joined += "\n" }
                text = joined + note + "\n" + String(decoding: tail, as: UTF8.self)
            } else {
                if let logPath {
                    unlink(logPath)
                    unlink(logPath + ".tmp")  // left by an mlbuild killed while writing it
                }
                text = String(decoding: state.head, as: UTF8.self)
            }
            state.finished = text
            return text
        }
    }

    private func store(_ bytes: [UInt8], in state: inout State) {
        guard !bytes.isEmpty else { return }
        state.total += bytes.count
        if !state.spilled {
            state.head.append(contentsOf: bytes)
            guard state.head.count > memoryLimit else { return }
            // Outgrown: everything so far goes to the log; memory keeps the two ends.
            state.spilled = true
            openLog(&state)
            write(state.head, in: &state)
            state.tail = Array(state.head.suffix(excerptLength))
            state.head.removeSubrange(excerptLength...)
            return
        }
        write(bytes, in: &state)
        state.tail.append(contentsOf: bytes.suffix(excerptLength))
        if state.tail.count > 2 * excerptLength { state.tail.removeFirst(state.tail.count - excerptLength) }
    }

    private func openLog(_ state: inout State) {
        guard let logPath else { state.logFailure = "no log file"; return }
        do {
            try FileSystem.createDirectories(FileSystem.parent(of: logPath))
        } catch {
            state.logFailure = "\(error)"
            return
        }
        let fd = open(logPath + ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { state.logFailure = "cannot write \(logPath).tmp: \(String(cString: strerror(errno)))" }
        state.fd = fd
    }

    private func write(_ bytes: [UInt8], in state: inout State) {
        guard state.fd >= 0 else { return }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(state.fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 {
                state.logFailure = "cannot write \(logPath ?? "the log"): \(String(cString: strerror(errno)))"
                close(state.fd)
                state.fd = -1
                if let logPath { unlink(logPath + ".tmp") }
                return
            }
            offset += n
        }
    }

    /// `bytes` without a UTF-8 sequence cut at the end.
    static func prefixOnBoundary(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        var end = bytes.count
        // Back up over continuation bytes and the lead byte they belong to, if it is incomplete.
        var back = 0
        while back < 4, end - back > 0, bytes[end - back - 1] & 0xC0 == 0x80 { back += 1 }
        if end - back > 0 {
            let lead = bytes[end - back - 1]
            let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
            if length > back + 1 { end -= back + 1 }
        }
        return bytes[..<end]
    }

    /// `bytes` starting at a character boundary (continuation bytes at the start dropped).
    static func suffixOnBoundary(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var start = bytes.startIndex
        var skipped = 0
        while start < bytes.endIndex, skipped < 3, bytes[start] & 0xC0 == 0x80 { start += 1; skipped += 1 }
        return bytes[start...]
    }
}
