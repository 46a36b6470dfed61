import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Arrays of hundreds of megabytes (feature matrices, data.bin's columns) allocated so that
/// the kernel may back them with 2 MiB transparent huge pages (`madvise(MADV_HUGEPAGE)`; this
/// machine kind's THP mode is "madvise"). Filling a fresh 230 MB matrix otherwise takes 56,000
/// page faults: a quarter of the features step's CPU samples here, where first touching 300 MB
/// of 4 KiB pages costs ~0.2 s and of 2 MiB pages ~0.04 s (with an occasional ~1 s stall while
/// the kernel compacts memory). The advice changes no byte; without huge pages it is ignored.
public enum LargeArray {
    /// Below this the advice is not worth a system call (and covers no whole huge page).
    static let threshold = 4 << 20
    static let hugePage = 2 << 20

    /// `count` elements, all bits zero.
    public static func zeroed<T: BitwiseCopyable>(_ type: T.Type, count: Int) -> [T] {
        uninitialized(type, count: count) { buffer in
            if let base = buffer.baseAddress { memset(base, 0, buffer.count * MemoryLayout<T>.stride) }
        }
    }

    /// `count` elements, every one of which `fill` must write.
    public static func uninitialized<T: BitwiseCopyable>(
        _ type: T.Type, count: Int, _ fill: (UnsafeMutableBufferPointer<T>) throws -> Void
    ) rethrows -> [T] {
        try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            advise(UnsafeMutableRawBufferPointer(buffer))
            try fill(buffer)
            initialized = count
        }
    }

    /// Advises huge pages for the whole 2 MiB pages inside `buffer` (before it is first touched).
    public static func advise(_ buffer: UnsafeMutableRawBufferPointer) {
        guard buffer.count >= threshold, let base = buffer.baseAddress else { return }
        let start = (Int(bitPattern: base) + hugePage - 1) / hugePage * hugePage
        let end = (Int(bitPattern: base) + buffer.count) / hugePage * hugePage
        guard end > start, let aligned = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(aligned, end - start, MADV_HUGEPAGE)
    }
}
