import MLBuildBasics
import Crypto
import Foundation

/// Writes one layer blob in a single pass: libarchive produces the tar, this sink hashes it
/// (diff_id), compresses it (gzip or zstd), hashes the compressed bytes (blob digest) and hands
/// them to a target sink (the image archive, where the blob is an entry), which it never closes.
final class LayerBlobWriter: ArchiveSink {
    /// What a written blob is: its digest, diff_id and compressed size.
    struct Written {
        let digest: ContentDigest
        let diffID: ContentDigest
        let size: Int64
    }

    /// The diff_id hash; the compressor feeds it (beside its deflate blocks, for gzip).
    private final class DiffHasher {
        var hasher = SHA256()
    }
    private let diffHasher = DiffHasher()
    private var blobHasher = SHA256()
    private let compressor: any LayerCompressor
    private let target: ArchiveSink
    private(set) var compressedSize: Int64 = 0
    private(set) var diffID: ContentDigest?
    private(set) var digest: ContentDigest?

    private init(target: ArchiveSink, compression: LayerCompression, level: Int32) throws {
        let diffHasher = diffHasher
        compressor = try compression.makeCompressor(level: level) { diffHasher.hasher.update(bufferPointer: $0) }
        self.target = target
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try compressor.compress(bytes, emit: emit)
    }

    func close() throws {
        try compressor.finish(emit: emit)
        diffID = ContentDigest(diffHasher.hasher.finalize())
        digest = ContentDigest(blobHasher.finalize())
    }

    private func emit(_ chunk: UnsafeRawBufferPointer) throws {
        blobHasher.update(bufferPointer: chunk)
        try target.write(chunk)
        compressedSize += Int64(chunk.count)
    }

    /// Tars and compresses `plan` into `target`; `packed` hears each chunk of file bytes written.
    static func write(plan: LayerPlan, into target: ArchiveSink, compression: LayerCompression, level: Int32, mtime: Int64,
                      packed: ((Int64) -> Void)? = nil) throws -> Written {
        let sink = try LayerBlobWriter(target: target, compression: compression, level: level)
        let tar = try ArchiveWriter(format: .paxRestricted, mtime: mtime, sink: sink)
        for item in plan.items {
            switch item.kind {
            case .directory:
                try tar.writeDirectory(path: item.path, mode: item.mode)
            case .file:
                guard let source = item.source else { throw OCIError("layer '\(plan.name)': no source for '/\(item.path)'") }
                try writeFile(item, stamp: plan.stamps[item.path], from: source, into: tar, layer: plan.name, packed: packed)
            }
        }
        try tar.finish()
        guard let digest = sink.digest, let diffID = sink.diffID else {
            throw OCIError("layer '\(plan.name)': blob was not finalized")
        }
        return Written(digest: digest, diffID: diffID, size: sink.compressedSize)
    }

    /// Tars one file, holding it to the digest its plan promised (the layer cache key took it;
    /// an unkeyed plan promised none). A file the plan hashed itself is hashed again only when
    /// its stamp moved since; one whose digest came from the caller is always hashed.
    private static func writeFile(_ item: LayerPlan.Item, stamp: SourceStamp?, from source: URL, into tar: ArchiveWriter, layer: String,
                                  packed: ((Int64) -> Void)?) throws {
        let changed = OCIError("layer '\(layer)': '\(source.path)' changed while the layer was being written")
        var hasher: SHA256?
        let atEnd = try tar.writeFile(path: item.path, mode: item.mode, size: item.size, contentsOf: source, opened: { atOpen in
            if item.digest != nil && atOpen != stamp { hasher = SHA256() }
        }) { chunk in
            hasher?.update(bufferPointer: chunk)
            packed?(Int64(chunk.count))
        }
        guard let promised = item.digest else { return }
        if let hasher {
            guard ContentDigest(hasher.finalize()).hex == promised else { throw changed }
        } else {
            // Not hashed: the stamp held when the file was opened; it must still hold.
            guard atEnd == stamp else { throw changed }
        }
    }
}
