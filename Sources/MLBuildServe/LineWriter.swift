import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Log lines handed to a thread of their own, which writes them to a file descriptor in order.
///
/// Why: the access log used to be written with `write(2)` on the request's own thread, under a
/// lock. When standard error is a file, a write now and then waits for the file system (page
/// cache writeback), and every request behind it waited too: bench/serve measured p99 latency
/// at half load growing from 1.6 ms to 5–18 ms as the log file grew, and back to 1.6 ms with
/// standard error on /dev/null. Now a request only appends its line to a buffer.
///
/// Nothing is dropped: when `limit` bytes are waiting (the disk cannot keep up), `write` waits
/// for room. Lines go out within `batchMicroseconds` of being logged, in one `write` per batch.
/// `flush()` returns once everything appended so far is written; the server calls it before it
/// exits.
final class LineWriter: @unchecked Sendable {  // state only under `condition`
    static let standardError = LineWriter(fd: 2)

    private let fd: Int32
    private let limit: Int
    private let condition = NSCondition()
    private var pending: [UInt8] = []
    /// Bytes taken by the writer thread and not yet written.
    private var writing = 0
    private var started = false
    /// The writer's pause after each write: at most this long before a line is on its way.
    static let batchMicroseconds: UInt32 = 5_000

    init(fd: Int32, limit: Int = 8 << 20) {
        self.fd = fd
        self.limit = limit
    }

    func write(_ line: [UInt8]) {
        condition.lock()
        defer { condition.unlock() }
        if !started {
            started = true
            Thread.detachNewThread { [self] in run() }
        }
        while !pending.isEmpty && pending.count + line.count > limit { condition.wait() }
        // Only the first line of a batch wakes the writer: a wake-up per line would cost each
        // request a context switch, on the cores that serve it.
        let wake = pending.isEmpty
        pending.append(contentsOf: line)
        if wake { condition.broadcast() }
    }

    /// Waits until every line appended before this call is written.
    func flush() {
        condition.lock()
        defer { condition.unlock() }
        while !pending.isEmpty || writing > 0 { condition.wait() }
    }

    private func run() {
        while true {
            condition.lock()
            while pending.isEmpty { condition.wait() }
            let chunk = pending
            pending.removeAll(keepingCapacity: true)
            writing = chunk.count
            condition.broadcast()  // room for writers waiting on `limit`
            condition.unlock()

            Self.writeAll(fd, chunk)

            condition.lock()
            writing = 0
            condition.broadcast()  // for `flush`
            condition.unlock()
            // Lines gather for a moment, so a busy server's log goes out in a few large writes.
            usleep(Self.batchMicroseconds)
        }
    }

    /// `write(2)` until all of `bytes` is out, retrying on EINTR; gives up on any other error
    /// (a closed standard error must not stop the server).
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(fd, base + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
