import Synchronization

/// Values kept alive until the process exits instead of being freed when a command is done
/// with them. A build's project, builder and summary at 10,000 targets are hundreds of
/// thousands of objects: releasing them one by one just before exit (the kernel reclaims the
/// memory at once) cost a one-change build more than its history. Only for values that hold
/// nothing but memory; a lock, a child process or a file being written is released as usual.
enum ProcessTeardown {
    private static let kept = Mutex<[any Sendable]>([])

    static func keepUntilExit(_ values: any Sendable...) {
        kept.withLock { $0.append(contentsOf: values) }
    }
}
