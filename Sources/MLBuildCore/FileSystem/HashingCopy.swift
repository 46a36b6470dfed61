import Crypto
import Foundation
import MLBuildBasics
#if canImport(Glibc)
import Glibc
#endif

extension FileSystem {
    /// Copies `source` to `destination` like `copyFile` (replacing it atomically, no shared
    /// storage) and returns the SHA-256 and size of the copy. The copy's own bytes are hashed
    /// (a source changing under us cannot give a digest that is not the copy's), as they land:
    /// on a second thread of the work budget when one is free, so the copy and the hash of a
    /// 230 MB train.bin overlap instead of following each other. Where no thread is free, the
    /// copy finishes first and is then hashed, as before.
    public static func copyFileHashing(from source: String, to destination: String, mode: mode_t = 0o644) throws
        -> (digest: ContentDigest, size: UInt64) {
        try replacing(destination, from: source, mode: mode) { input, output in
            let copy = HashingCopy(input: input, output: output, source: source, destination: destination)
            WorkBudget.current.parallelFor(2) { part in
                if part == 0 { copy.copy() } else { copy.hash() }
            }
            return try copy.result()
        }
    }
}

/// One copy and its hash, a producer and a consumer: `copy()` moves the bytes in 8 MiB steps
/// and publishes how many have landed; `hash()` reads the destination up to there.
private final class HashingCopy: @unchecked Sendable {
    private let input: Int32
    private let output: Int32
    private let source: String
    private let destination: String
    private let condition = NSCondition()
    private var copied = 0
    private var finished = false
    private var failure: (any Error)?
    private var outcome: (digest: ContentDigest, size: UInt64)?

    static let step = 8 << 20
    static let hashChunk = 1 << 20

    init(input: Int32, output: Int32, source: String, destination: String) {
        self.input = input
        self.output = output
        self.source = source
        self.destination = destination
    }

    func copy() {
        do {
            try FileSystem.cloneOrCopy(input: input, output: output, source: source, destination: destination, step: Self.step, landed: landed)
            condition.withLock { finished = true }
        } catch {
            condition.withLock {
                failure = failure ?? error
                finished = true
            }
        }
        condition.broadcast()
    }

    private func landed(_ n: Int) {
        condition.withLock { copied += n }
        condition.broadcast()
    }

    func hash() {
        var hasher = SHA256()
        var hashed = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.hashChunk, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            condition.lock()
            while hashed == copied && !finished && failure == nil { condition.wait() }
            let available = copied
            let done = finished
            let stop = failure != nil
            condition.unlock()
            if stop { return }
            while hashed < available {
                let n = pread(output, buffer.baseAddress, min(Self.hashChunk, available - hashed), off_t(hashed))
                if n < 0, errno == EINTR { continue }
                if n <= 0 {
                    let reason = n < 0 ? String(cString: strerror(errno)) : "the copy ended early"
                    condition.withLock { failure = failure ?? FileHashing.Failure(path: destination, reason: reason) }
                    return
                }
                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0 ..< n]))
                hashed += n
            }
            if done {
                let digest = ContentDigest(hasher.finalize())
                condition.withLock { outcome = (digest, UInt64(hashed)) }
                return
            }
        }
    }

    func result() throws -> (digest: ContentDigest, size: UInt64) {
        try condition.withLock {
            if let failure { throw failure }
            guard let outcome else { throw FileSystem.Failure("copy", destination) }
            return outcome
        }
    }
}
