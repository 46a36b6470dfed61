/// One layer's compressed stream. The writer hands it the uncompressed tar in order; it hands
/// back the compressed bytes in order through `emit`, which may be called on the caller's thread
/// only. The bytes depend on the input and the level, never on the number of threads.
protocol LayerCompressor: AnyObject {
    /// Takes `input` (copied or consumed before returning), passing produced chunks to `emit`.
    func compress(_ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws
    /// Flushes everything left and the trailer; the compressor cannot be used afterwards.
    func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws
}

extension LayerCompression {
    /// A compressor for one blob. `inspect` sees every uncompressed byte exactly once, in
    /// order (the diff_id hash), possibly on a worker thread of the budget while the caller
    /// waits, never two calls at the same time.
    func makeCompressor(level: Int32, inspect: @escaping (UnsafeRawBufferPointer) -> Void) throws -> any LayerCompressor {
        guard levels.contains(level) else {
            throw ArchiveError("\(rawValue) level \(level) is not in \(levels.lowerBound)...\(levels.upperBound)")
        }
        switch self {
        case .gzip: return try GzipCompressor(level: level, inspect: inspect)
        case .zstd: return try ZstdCompressor(level: level, inspect: inspect)
        }
    }
}
