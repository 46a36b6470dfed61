import Synchronization

/// Collects what a target printed (its command's stdout and stderr, a rule's messages), to be
/// shown in one piece when the target finishes, as Ninja does, so parallel output never mixes.
public final class OutputSink: Sendable {
    /// Guards the buffer; appended to by the thread reading a child's pipe.
    private let buffer = Mutex<[UInt8]>([])

    public init() {}

    public func append(_ bytes: some Sequence<UInt8>) {
        buffer.withLock { $0.append(contentsOf: bytes) }
    }

    public func append(line: String) {
        append(Array((line.hasSuffix("\n") ? line : line + "\n").utf8))
    }

    public var text: String { buffer.withLock { String(decoding: $0, as: UTF8.self) } }
}
