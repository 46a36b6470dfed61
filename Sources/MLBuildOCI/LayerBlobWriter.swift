import MLBuildBasics
import Crypto
import Foundation

/// Writes one layer blob in a single pass: libarchive produces the tar, this sink hashes it
/// (diff_id), compresses it (gzip or zstd), hashes the compressed bytes (blob digest) and writes
/// them to a file.
final class LayerBlobWriter: ArchiveSink {
    /// The diff_id hash; the compressor feeds it (beside its deflate blocks, for gzip).
    private final class DiffHasher {
        var hasher = SHA256()
    }
    private let diffHasher = DiffHasher()
    private var blobHasher = SHA256()
    private let compressor: any LayerCompressor
    private let file: FileSink
    private(set) var compressedSize: Int64 = 0
    private(set) var diffID: ContentDigest?
    private(set) var digest: ContentDigest?

    private init(url: URL, compression: LayerCompression, level: Int32) throws {
        let diffHasher = diffHasher
        compressor = try compression.makeCompressor(level: level) { diffHasher.hasher.update(bufferPointer: $0) }
        file = try FileSink(url: url)
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try compressor.compress(bytes, emit: emit)
    }

    func close() throws {
        try compressor.finish(emit: emit)
        try file.close()
        diffID = ContentDigest(diffHasher.hasher.finalize())
        digest = ContentDigest(blobHasher.finalize())
    }

    private func emit(_ chunk: UnsafeRawBufferPointer) throws {
        blobHasher.update(bufferPointer: chunk)
        try file.write(chunk)
        compressedSize += Int64(chunk.count)
    }

    /// Tars and compresses `plan` into `url`; `packed` hears each chunk of file bytes written.
    static func write(plan: LayerPlan, to url: URL, compression: LayerCompression, level: Int32, mtime: Int64,
                      packed: ((Int64) -> Void)? = nil) throws -> CachedLayerBlob {
        let sink = try LayerBlobWriter(url: url, compression: compression, level: level)
        let tar = try ArchiveWriter(format: .paxRestricted, mtime: mtime, sink: sink)
        for item in plan.items {
            switch item.kind {
            case .directory:
                try tar.writeDirectory(path: item.path, mode: item.mode)
            case .file:
                guard let source = item.source else { throw OCIError("layer '\(plan.name)': no source for '/\(item.path)'") }
                var hasher = SHA256()
                try tar.writeFile(path: item.path, mode: item.mode, size: item.size, contentsOf: source) {
                    hasher.update(bufferPointer: $0)
                    packed?(Int64($0.count))
                }
                // The cache key promised this content; a file edited since planning would lie.
                guard ContentDigest(hasher.finalize()).hex == item.digest else {
                    throw OCIError("layer '\(plan.name)': '\(source.path)' changed while the layer was being written")
                }
            }
        }
        try tar.finish()
        guard let digest = sink.digest, let diffID = sink.diffID else {
            throw OCIError("layer '\(plan.name)': blob was not finalized")
        }
        return CachedLayerBlob(url: url, digest: digest, diffID: diffID, size: sink.compressedSize)
    }
}
