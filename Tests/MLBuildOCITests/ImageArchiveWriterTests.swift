import Foundation
import MLBuildBasics
import Testing
@testable import MLBuildOCI

/// The image archive's own tar writer: the same bytes as libarchive's pax-restricted writer for
/// the entries of an image, a streamed entry whose header is written last, and the layer blob
/// written once, straight into the archive.
@Suite struct ImageArchiveWriterTests {
    static let blobName = "blobs/sha256/" + ContentDigest.of("blob").hex

    /// The entries of a small image, through libarchive (`ArchiveWriter`) and through
    /// `ImageArchiveWriter`, the 1,000-byte blob either copied from a file or streamed.
    @Test(arguments: [false, true])
    func writesWhatLibarchiveWritesByteForByte(streamed: Bool) throws {
        let dir = try TempDir("image-archive")
        defer { dir.remove() }
        let blob = Fixture.bytes(count: 1000, seed: 9)
        let blobFile = try dir.write("blob", blob)
        let exact = Fixture.bytes(count: 512, seed: 4)

        let reference = MemorySink()
        let libarchive = try ArchiveWriter(format: .paxRestricted, mtime: 0, sink: reference)
        try libarchive.writeDirectory(path: "blobs")
        try libarchive.writeDirectory(path: "blobs/sha256")
        try libarchive.writeFile(path: Self.blobName, bytes: blob)
        try libarchive.writeFile(path: "blobs/sha256/" + ContentDigest.of(exact).hex, bytes: exact)
        try libarchive.writeFile(path: "empty", bytes: [])
        try libarchive.writeFile(path: "oci-layout", bytes: Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))
        try libarchive.finish()

        let out = dir.path("image.tar")
        let sink = try FileSink(url: out)
        let archive = ImageArchiveWriter(sink: sink)
        try archive.directory("blobs")
        try archive.directory("blobs/sha256")
        if streamed {
            let entry = try archive.beginStreamedEntry()
            try blob.withUnsafeBytes { try sink.write($0) }
            try archive.endStreamedEntry(entry, path: Self.blobName)
        } else {
            try archive.file(Self.blobName, size: Int64(blob.count), contentsOf: blobFile)
        }
        try archive.file("blobs/sha256/" + ContentDigest.of(exact).hex, bytes: exact)
        try archive.file("empty", bytes: [])
        try archive.file("oci-layout", bytes: Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))
        try archive.finish()

        let ours = try [UInt8](Data(contentsOf: out))
        #expect(ours.count == reference.bytes.count)
        #expect(ours.count % 10240 == 0, "padded to libarchive's 10240-byte records")
        #expect(ours == reference.bytes)
        #expect(sink.bytesWritten == Int64(ours.count))
    }

    /// Every place the end can fall in a 10240-byte record: the end blocks and the padding
    /// together are up to 11,263 bytes, and the bytes still match libarchive's.
    @Test func everyRecordResidueEndsLikeLibarchive() throws {
        let dir = try TempDir("image-archive-end")
        defer { dir.remove() }
        for blocks in 0..<21 {
            let bytes = [UInt8](repeating: 7, count: blocks * 512)
            let reference = MemorySink()
            let libarchive = try ArchiveWriter(format: .paxRestricted, mtime: 0, sink: reference)
            try libarchive.writeFile(path: "f", bytes: bytes)
            try libarchive.finish()
            let out = dir.path("end-\(blocks).tar")
            let archive = ImageArchiveWriter(sink: try FileSink(url: out))
            try archive.file("f", bytes: bytes)
            try archive.finish()
            #expect(try [UInt8](Data(contentsOf: out)) == reference.bytes, "\(blocks) data blocks")
        }
    }

    @Test func aDiscardedStreamedEntryLeavesNoTrace() throws {
        let dir = try TempDir("image-archive-discard")
        defer { dir.remove() }
        func archive(discarding: Bool) throws -> [UInt8] {
            let out = dir.path("image-\(discarding).tar")
            let sink = try FileSink(url: out)
            let archive = ImageArchiveWriter(sink: sink)
            try archive.directory("blobs")
            if discarding {
                let entry = try archive.beginStreamedEntry()
                // More than FileSink buffers, so part of it is on disk when it is dropped.
                try Fixture.bytes(count: (1 << 20) + 3000, seed: 2).withUnsafeBytes { try sink.write($0) }
                try archive.discardStreamedEntry(entry)
            }
            try archive.file("index.json", bytes: Array("{}".utf8))
            try archive.finish()
            return try [UInt8](Data(contentsOf: out))
        }
        #expect(try archive(discarding: true) == archive(discarding: false))
    }

    @Test func copyRangeExtractsAnEntrysBytes() throws {
        let dir = try TempDir("image-archive-copy")
        defer { dir.remove() }
        let sink = try FileSink(url: dir.path("image.tar"))
        let archive = ImageArchiveWriter(sink: sink)
        try archive.directory("blobs")
        let entry = try archive.beginStreamedEntry()
        let blob = Fixture.bytes(count: (3 << 20) + 17, seed: 6)
        try blob.withUnsafeBytes { try sink.write($0) }
        try archive.endStreamedEntry(entry, path: Self.blobName)
        // Before finish: the copy flushes what the sink still buffers.
        try sink.copyRange(offset: entry.dataOffset, count: Int64(blob.count), to: dir.path("blob"))
        #expect(try [UInt8](Data(contentsOf: dir.path("blob"))) == blob)
        #expect(throws: ArchiveError.self) { try sink.copyRange(offset: entry.dataOffset, count: 1 << 30, to: dir.path("x")) }
        try archive.finish()
        let entries = try TarSurgery.read(dir.path("image.tar"))
        #expect(entries.map(\.info.path) == ["blobs/", Self.blobName])
        #expect(entries[1].bytes == blob)
    }

    @Test func sizesPastUstarsOctalFieldUseBase256() throws {
        let nineGiB: Int64 = 9 << 30
        let header = try ImageArchiveWriter.header(path: Self.blobName, directory: false, mode: 0o644, size: nineGiB)
        #expect(Array(header[124..<136]) == [0x80, 0, 0, 0, 0, 0, 0, 2, 0x40, 0, 0, 0])
        // The checksum covers the binary field like any other.
        let sum = header.enumerated().reduce(0) { $0 + (148..<156 ~= $1.offset ? 0x20 : Int($1.element)) }
        #expect(String(decoding: header[148..<154], as: UTF8.self) == String(sum, radix: 8).leftPadded(to: 6))
        let largest = try ImageArchiveWriter.header(path: "a", directory: false, mode: 0o644, size: ImageArchiveWriter.maxOctalSize)
        #expect(String(decoding: largest[124..<136], as: UTF8.self) == "77777777777 ")
    }

    @Test(arguments: [String(repeating: "a", count: 101), "blobs/é", "", "a\u{0}b"])
    func namesUstarCannotHoldAreRefused(name: String) {
        #expect(throws: ArchiveError.self) { try ImageArchiveWriter.header(path: name, directory: false, mode: 0o644, size: 1) }
    }

    /// Two layers with the same content: without a layer cache both are compressed and the
    /// second copy is dropped from the archive; with one, the second is a hit on the first's key.
    /// Either way the archive holds the blob once, and the blob the cache keeps is the
    /// archive's bytes.
    @Test(arguments: [false, true])
    func aBlobSharedByTwoLayersIsArchivedOnce(cached: Bool) throws {
        let dir = try TempDir("image-archive-shared")
        defer { dir.remove() }
        try Fixture.makeProject(in: dir)
        var spec = Fixture.spec(for: dir)
        spec.layers = [
            LayerSpec(name: "one", entries: [LayerEntry(imagePath: "/model", source: dir.path("model"))]),
            LayerSpec(name: "two", entries: [LayerEntry(imagePath: "/model", source: dir.path("model"))]),
        ]
        let cache = CountingCache(root: dir.path("cache"))
        let built = try OCIImageBuilder.build(spec: spec, layerCache: cached ? cache : nil, output: dir.path("image.tar"))
        #expect(built.layers[0].descriptor == built.layers[1].descriptor)
        #expect(built.layers.map(\.origin) == (cached ? [.compressed, .cache] : [.compressed, .compressed]))
        let entries = try TarSurgery.read(dir.path("image.tar"))
        let layerPath = "blobs/sha256/" + built.layers[0].descriptor.digest.hex
        #expect(entries.filter { $0.info.path == layerPath }.count == 1)
        #expect(entries.count == 2 + 1 + 2 + 2, "directories, the layer, config and manifest, index.json and oci-layout")
        _ = try OCIArchiveVerifier.verify(dir.path("image.tar"))
        guard cached else { return }
        #expect(cache.stores == 1)
        let key = try #require(try LayerPlan(spec: spec.layers[1], compression: spec.compression,
                                             compressionLevel: spec.effectiveCompressionLevel).cacheKey)
        let blob = try #require(try cache.lookup(key: key))
        #expect(try [UInt8](Data(contentsOf: blob.url)) == TarSurgery.blob(entries, blob.digest))
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
