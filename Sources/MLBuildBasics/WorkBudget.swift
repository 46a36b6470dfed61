import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The one executor for rule work: at most `threads` OS threads run blocking work (training,
/// CSV ingest, packing, hashing, waiting for a child process), never Swift's cooperative pool,
/// and the parallel loops inside that work (`parallelFor`) draw their extra workers from the same
/// threads. So `-j 1` means one core in all, and `-j 8` on two cores leaves the cooperative pool
/// (the scheduler, the remote cache) free.
///
/// Threads start on demand and stop after a few idle seconds: a no-op build starts none.
///
/// Deadlock-free by construction: a loop's caller always works through its own iterations, and
/// helpers are only ever asked for when a thread of the budget is free; a helper that starts
/// after the loop finished does nothing.
///
/// Cancellation: `cancel()` makes `isCancelled` true (rules check it in their loops where that
/// is cheap) and makes work not yet started throw `CancellationError`.
public final class WorkBudget: @unchecked Sendable {
    public let threads: Int
    /// Guards every `var` below.
    private let condition = NSCondition()
    private var queue: [@Sendable () -> Void] = []
    private var queueHead = 0
    private var started = 0
    private var waiting = 0
    private var busy = 0
    private var peakBusy = 0
    private let cancelled = Atomic<Bool>(false)
    private static let idleSeconds = 3.0

    public init(threads: Int) {
        self.threads = max(1, threads)
    }

    /// A budget of the machine's core count, for callers that were given none.
    public static let shared = WorkBudget(threads: ProcessInfo.processInfo.activeProcessorCount)

    /// The budget a scheduler put in charge of the current task tree (see `withValue`).
    @TaskLocal public static var scoped: WorkBudget?

    /// The budget of the calling thread when it is one of a budget's workers, else the task's
    /// `scoped` budget, else `shared`: what parallel loops draw their helpers from.
    public static var current: WorkBudget {
        if let raw = pthread_getspecific(workerKey) { return Unmanaged<WorkBudget>.fromOpaque(raw).takeUnretainedValue() }
        return scoped ?? shared
    }

    /// The most threads of this budget that ever ran work at the same time (never more than
    /// `threads`): what tests and traces look at to see that `-j 1` used one core.
    public var peakBusyThreads: Int {
        condition.lock()
        defer { condition.unlock() }
        return peakBusy
    }

    // MARK: Cancellation

    public var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

    public func cancel() { cancelled.store(true, ordering: .relaxed) }

    /// Throws `CancellationError` once the budget is cancelled: a cheap check point for loops.
    public func checkCancellation() throws {
        if isCancelled { throw CancellationError() }
    }

    // MARK: Running work

    /// Runs `body` on one of the budget's threads and returns its result. Work queued when the
    /// budget is cancelled is not started (it throws `CancellationError`).
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try checkCancellation()
        return try await withCheckedThrowingContinuation { continuation in
            submit {
                do {
                    try self.checkCancellation()
                    continuation.resume(returning: try body())
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Runs `body(i)` for every i in `0..<iterations`, on the calling thread and on as many of
    /// the budget's threads as are free (none when the caller is the budget's only busy thread
    /// and the budget has one). The iterations must touch disjoint memory; their order across
    /// threads is unspecified, so callers that reduce must reduce per-iteration results in
    /// index order (see FixedChunks in MLBuildTraining).
    public func parallelFor(_ iterations: Int, _ body: (Int) -> Void) {
        if iterations <= 0 { return }
        if iterations == 1 { body(0); return }
        withoutActuallyEscaping(body) { escapable in
            let loop = ParallelLoop(iterations: iterations, body: escapable)
            let helpers = reserveHelpers(atMost: iterations - 1)
            for _ in 0 ..< helpers { submit({ loop.help() }, first: true) }
            loop.work(escapable)
            loop.finish()
        }
    }

    /// Starts `job(i)` for i in `0..<n` on free threads of the budget and returns n: as many
    /// as are free now, at most `limit`, 0 when none is. For work that must run beside its
    /// caller (consumers fed by a producing caller), which would wait forever if it queued
    /// behind busy threads; a caller that gets fewer than it asked for does the rest itself.
    public func startHelpers(atMost limit: Int, _ job: @escaping @Sendable (Int) -> Void) -> Int {
        condition.lock()
        let granted = freeThreadsLocked(atMost: limit)
        for i in (0 ..< granted).reversed() { enqueueLocked({ job(i) }, first: true) }
        let spawn = wakeOrSpawnLocked()
        condition.unlock()
        for _ in 0 ..< spawn { startWorker() }
        return granted
    }

    /// How many free threads (running or not yet started) a loop may enlist now.
    private func reserveHelpers(atMost limit: Int) -> Int {
        condition.lock()
        defer { condition.unlock() }
        return freeThreadsLocked(atMost: limit)
    }

    private func freeThreadsLocked(atMost limit: Int) -> Int {
        let busy = started - waiting
        let queued = queue.count - queueHead
        return max(0, min(limit, threads - busy - queued))
    }

    private func submit(_ job: @escaping @Sendable () -> Void, first: Bool = false) {
        condition.lock()
        enqueueLocked(job, first: first)
        let spawn = wakeOrSpawnLocked()
        condition.unlock()
        for _ in 0 ..< spawn { startWorker() }
    }

    private func enqueueLocked(_ job: @escaping @Sendable () -> Void, first: Bool) {
        if first, queueHead > 0 {
            queueHead -= 1
            queue[queueHead] = job
        } else if first {
            queue.insert(job, at: 0)
        } else {
            queue.append(job)
        }
    }

    /// Wakes the waiting workers and counts the threads to start so that every queued job has
    /// one (up to `threads`); the caller starts them after unlocking.
    private func wakeOrSpawnLocked() -> Int {
        let queued = queue.count - queueHead
        if waiting > 0 { condition.broadcast() }
        let spawn = max(0, min(queued - waiting, threads - started))
        started += spawn
        return spawn
    }

    private func startWorker() {
        let thread = Thread { [self] in workerLoop() }
        // Training recursion (tree growing) and big stack frames need more than the 512 KB default.
        thread.stackSize = 1 << 23
        thread.start()
    }

    private func workerLoop() {
        pthread_setspecific(workerKey, Unmanaged.passUnretained(self).toOpaque())
        defer { pthread_setspecific(workerKey, nil) }
        condition.lock()
        while true {
            if queueHead < queue.count {
                let job = queue[queueHead]
                queueHead += 1
                if queueHead == queue.count {
                    queue.removeAll(keepingCapacity: true)
                    queueHead = 0
                }
                busy += 1
                peakBusy = max(peakBusy, busy)
                condition.unlock()
                job()
                condition.lock()
                busy -= 1
                continue
            }
            waiting += 1
            let signalled = condition.wait(until: Date(timeIntervalSinceNow: Self.idleSeconds))
            waiting -= 1
            if !signalled, queueHead >= queue.count {
                started -= 1
                condition.unlock()
                return
            }
        }
    }
}

/// Marks a thread as a worker of a budget (an unretained pointer: the worker's closure keeps
/// its budget alive while the thread runs).
private let workerKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()

/// One `parallelFor`: iterations are claimed from a shared counter by the caller and by the
/// helpers that start in time. `finish()` waits for the helpers inside and drops the body, so a
/// helper that starts later never touches it (the body does not outlive the caller's frame).
private final class ParallelLoop: @unchecked Sendable {
    let iterations: Int
    private let next = Atomic<Int>(0)
    private let condition = NSCondition()
    private var body: ((Int) -> Void)?
    private var inside = 0
    private var closed = false

    init(iterations: Int, body: @escaping (Int) -> Void) {
        self.iterations = iterations
        self.body = body
    }

    func work(_ body: (Int) -> Void) {
        while true {
            let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
            if i >= iterations { return }
            body(i)
        }
    }

    func help() {
        condition.lock()
        guard !closed else {
            condition.unlock()
            return
        }
        inside += 1
        condition.unlock()
        helpWithBody()
        condition.lock()
        inside -= 1
        if inside == 0 { condition.broadcast() }
        condition.unlock()
    }

    /// Its own function so that the helper's reference to the body is released when it
    /// returns, before `inside` drops (the caller's `withoutActuallyEscaping` checks that).
    private func helpWithBody() {
        condition.lock()
        let body = self.body
        condition.unlock()
        if let body { work(body) }
    }

    func finish() {
        condition.lock()
        closed = true
        while inside > 0 { condition.wait() }
        body = nil
        condition.unlock()
    }
}
