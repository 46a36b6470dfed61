import CZlib
import CZstd
import Foundation
import MLBuildBasics
import Testing
@testable import MLBuildOCI

/// The layer compressors: gzip in independent blocks and zstd in libzstd's multithreaded mode
/// give the same bytes whatever the thread count, and what they write decompresses to the input.
@Suite struct LayerCompressionTests {
    /// 20 MiB + a ragged tail: three gzip batches and three zstd jobs, the last ones partial.
    static let big = Fixture.bytes(count: (20 << 20) + 12_345, seed: 11)

    /// Compresses `input` fed in `chunk`-byte writes on a budget of `threads` threads.
    static func compress(_ input: [UInt8], _ compression: LayerCompression, threads: Int, chunk: Int = 10_240,
                         level: Int32? = nil, workers: Int? = nil) async throws -> (bytes: [UInt8], inspected: [UInt8], peak: Int) {
        let budget = WorkBudget(threads: threads)
        let result = try await budget.run {
            var out: [UInt8] = []
            var seen: [UInt8] = []
            let level = level ?? compression.defaultLevel
            let compressor: any LayerCompressor
            if compression == .gzip {
                compressor = try GzipCompressor(level: level) { seen.append(contentsOf: $0) }
            } else {
                compressor = try ZstdCompressor(level: level, inspect: { seen.append(contentsOf: $0) }, workers: workers)
            }
            try input.withUnsafeBytes { all in
                var offset = 0
                while offset < all.count {
                    let n = min(chunk, all.count - offset)
                    try compressor.compress(UnsafeRawBufferPointer(rebasing: all[offset..<offset + n])) { out.append(contentsOf: $0) }
                    offset += n
                }
            }
            try compressor.finish { out.append(contentsOf: $0) }
            return (out, seen)
        }
        return (result.0, result.1, budget.peakBusyThreads)
    }

    /// zlib's own gzip reader (windowBits 15 + 16), member after member, each member's CRC and
    /// ISIZE checked: the bytes and each member's uncompressed length.
    static func gunzipMembers(_ bytes: [UInt8]) throws -> (bytes: [UInt8], members: [Int]) {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { inflateEnd(stream); stream.deallocate() }
        try #require(mlbuild_inflateInit2(stream, 15 + 16) == Z_OK)
        var out: [UInt8] = []
        var members: [Int] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var input = bytes
        try input.withUnsafeMutableBufferPointer { inputBuffer in
            stream.pointee.next_in = inputBuffer.baseAddress
            stream.pointee.avail_in = UInt32(inputBuffer.count)
            repeat {
                var code: Int32 = Z_OK
                var memberStart = out.count
                while code != Z_STREAM_END {
                    let produced = buffer.withUnsafeMutableBufferPointer { out -> Int in
                        stream.pointee.next_out = out.baseAddress
                        stream.pointee.avail_out = UInt32(out.count)
                        code = inflate(stream, Z_NO_FLUSH)
                        return out.count - Int(stream.pointee.avail_out)
                    }
                    out.append(contentsOf: buffer[0..<produced])
                    try #require(code == Z_OK || code == Z_STREAM_END, "inflate failed with code \(code)")
                }
                members.append(out.count - memberStart)
                memberStart = out.count
                try #require(inflateReset(stream) == Z_OK)
            } while stream.pointee.avail_in > 0
        }
        return (out, members)
    }

    static func gunzip(_ bytes: [UInt8]) throws -> [UInt8] { try gunzipMembers(bytes).bytes }

    /// libzstd's streaming decoder; every frame checked (content checksum included).
    static func unzstd(_ bytes: [UInt8]) throws -> [UInt8] {
        let context = try #require(ZSTD_createDCtx())
        defer { ZSTD_freeDCtx(context) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: ZSTD_DStreamOutSize())
        var last = 0
        try bytes.withUnsafeBytes { all in
            var input = ZSTD_inBuffer(src: all.baseAddress, size: all.count, pos: 0)
            repeat {
                let produced = try buffer.withUnsafeMutableBytes { raw -> Int in
                    var output = ZSTD_outBuffer(dst: raw.baseAddress, size: raw.count, pos: 0)
                    last = ZSTD_decompressStream(context, &output, &input)
                    try #require(ZSTD_isError(last) == 0, "zstd: \(String(cString: ZSTD_getErrorName(last)))")
                    return output.pos
                }
                out.append(contentsOf: buffer[0..<produced])
            } while input.pos < input.size || last != 0
        }
        return out
    }

    @Test func gzipBytesDoNotDependOnTheThreadCount() async throws {
        let one = try await Self.compress(Self.big, .gzip, threads: 1)
        let two = try await Self.compress(Self.big, .gzip, threads: 2)
        let four = try await Self.compress(Self.big, .gzip, threads: 4, chunk: 1 << 20)
        #expect(one.bytes == two.bytes)
        #expect(one.bytes == four.bytes)
        #expect(one.peak == 1, "-j 1 compresses on one thread")
        #expect(four.peak > 1, "free threads of the budget help")
        #expect(one.inspected == Self.big, "the diff_id sees every byte, in order")
        #expect(four.inspected == Self.big)
        let (bytes, members) = try Self.gunzipMembers(one.bytes)
        #expect(bytes == Self.big)
        // One member per 128 KiB block, the last one ragged.
        let blocks = (Self.big.count + GzipCompressor.blockSize - 1) / GzipCompressor.blockSize
        #expect(members == Array(repeating: GzipCompressor.blockSize, count: blocks - 1) + [Self.big.count % GzipCompressor.blockSize])
        // Each member has the fixed header: ID1 ID2 CM=8 FLG=0 MTIME=0 XFL=0 OS=3.
        #expect(Array(one.bytes[0..<10]) == [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])
        #expect(one.bytes.count < Self.big.count * 9 / 10)
    }

    @Test(arguments: [0, 1, GzipCompressor.blockSize, GzipCompressor.blockSize + 1,
                      GzipCompressor.batchBlocks * GzipCompressor.blockSize])
    func gzipEdgeSizesRoundTripThroughZlibAndGzip(count: Int) async throws {
        let input = Fixture.bytes(count: count, seed: UInt64(count) + 5)
        let one = try await Self.compress(input, .gzip, threads: 1)
        let three = try await Self.compress(input, .gzip, threads: 3, chunk: 4096)
        #expect(one.bytes == three.bytes)
        let (bytes, members) = try Self.gunzipMembers(one.bytes)
        #expect(bytes == input)
        #expect(members.count == max(1, (count + GzipCompressor.blockSize - 1) / GzipCompressor.blockSize), "an empty layer is one empty member")
        guard let gzip = Tools.require("gzip") else { return }
        let dir = try TempDir("gzip-edge")
        defer { dir.remove() }
        let file = try dir.write("layer.gz", one.bytes)
        let test = try Tools.run(gzip, ["-t", file.path])
        #expect(test.status == 0, "gzip -t: \(test.stderr)")
    }

    @Test(arguments: [Int32(0), 1, 9])
    func gzipLevelsRoundTrip(level: Int32) async throws {
        let input = Array(Self.big[0..<(3 << 20)])
        let one = try await Self.compress(input, .gzip, threads: 1, level: level)
        let two = try await Self.compress(input, .gzip, threads: 2, level: level)
        #expect(one.bytes == two.bytes)
        #expect(try Self.gunzip(one.bytes) == input)
        #expect(one.bytes[8] == (level == 9 ? 2 : level < 2 ? 4 : 0), "XFL as zlib sets it")
    }

    @Test func zstdBytesDoNotDependOnTheWorkerCount() async throws {
        var outputs: [[UInt8]] = []
        for workers in [1, 2, 4, 8] {
            outputs.append(try await Self.compress(Self.big, .zstd, threads: 2, workers: workers).bytes)
        }
        #expect(outputs.allSatisfy { $0 == outputs[0] })
        // The budget decides the workers: -j 1 and -j 4 write the same frame too.
        let budgetOne = try await Self.compress(Self.big, .zstd, threads: 1, chunk: 1 << 20)
        let budgetFour = try await Self.compress(Self.big, .zstd, threads: 4)
        #expect(budgetOne.bytes == outputs[0])
        #expect(budgetFour.bytes == outputs[0])
        #expect(budgetOne.peak == 1)
        #expect(budgetFour.inspected == Self.big)
        #expect(try Self.unzstd(outputs[0]) == Self.big)
        #expect(Array(outputs[0][0..<4]) == [0x28, 0xb5, 0x2f, 0xfd], "zstd frame magic")
        #expect(outputs[0].count < Self.big.count * 9 / 10)
    }

    /// `-j 1` hands libzstd one job at a time and flushes at each job boundary: inputs that end
    /// exactly on a boundary (or just past one) still give the multithreaded frame.
    @Test(arguments: [8 << 20, 16 << 20, (8 << 20) + 1, (8 << 20) - 1])
    func zstdAtOneThreadMatchesAtJobBoundaries(count: Int) async throws {
        let input = Fixture.bytes(count: count, seed: 5)
        let one = try await Self.compress(input, .zstd, threads: 1, chunk: 3 << 20)
        let two = try await Self.compress(input, .zstd, threads: 2, workers: 2)
        #expect(one.bytes == two.bytes)
        #expect(one.peak == 1)
        #expect(try Self.unzstd(one.bytes) == input)
    }

    @Test(arguments: [0, 1, 600_000])
    func zstdSmallInputsRoundTripThroughLibzstdAndTheCommandLine(count: Int) async throws {
        let input = Fixture.bytes(count: count, seed: 3)
        let one = try await Self.compress(input, .zstd, threads: 1)
        let two = try await Self.compress(input, .zstd, threads: 2, workers: 2)
        #expect(one.bytes == two.bytes)
        #expect(try Self.unzstd(one.bytes) == input)
        guard let zstd = Tools.require("zstd") else { return }
        let dir = try TempDir("zstd-small")
        defer { dir.remove() }
        let file = try dir.write("layer.zst", one.bytes)
        let test = try Tools.run(zstd, ["-t", "-q", file.path])
        #expect(test.status == 0, "zstd -t: \(test.stderr)")
    }

    @Test func unknownLevelsAreRefused() {
        #expect(throws: ArchiveError.self) { try LayerCompression.gzip.makeCompressor(level: 10) { _ in } }
        #expect(throws: ArchiveError.self) { try LayerCompression.zstd.makeCompressor(level: 0) { _ in } }
    }

    @Test func mediaTypesAndDefaults() {
        #expect(LayerCompression.gzip.mediaType == "application/vnd.oci.image.layer.v1.tar+gzip")
        #expect(LayerCompression.zstd.mediaType == "application/vnd.oci.image.layer.v1.tar+zstd")
        #expect(LayerCompression(rawValue: "zstd") == .zstd)
        #expect(LayerCompression(rawValue: "xz") == nil)
        #expect(ImageSpec().compression == .gzip)
        #expect(ImageSpec().effectiveCompressionLevel == 6)
        #expect(ImageSpec(compression: .zstd).effectiveCompressionLevel == 3)
    }

    @Test func aZstdImageVerifiesAndNeverReusesAGzipBlob() throws {
        let dir = try TempDir("zstd-image")
        defer { dir.remove() }
        try Fixture.makeProject(in: dir)
        let cache = CountingCache(root: dir.path("cache"))
        let gzip = try OCIImageBuilder.build(spec: Fixture.spec(for: dir), layerCache: cache, output: dir.path("gzip/image.tar"))
        var spec = Fixture.spec(for: dir)
        spec.compression = .zstd
        let zstd = try OCIImageBuilder.build(spec: spec, layerCache: cache, output: dir.path("zstd/image.tar"))
        #expect(zstd.layers.map(\.origin) == [.compressed, .compressed], "a gzip blob is not a zstd layer")
        #expect(zstd.layers.map(\.diffID) == gzip.layers.map(\.diffID), "the same tars")
        #expect(zstd.layers.map(\.descriptor.mediaType) == [MediaType.layerTarZstd, MediaType.layerTarZstd])
        #expect(gzip.layers.map(\.descriptor.mediaType) == [MediaType.layerTarGzip, MediaType.layerTarGzip])
        let again = try OCIImageBuilder.build(spec: spec, layerCache: cache, output: dir.path("zstd2/image.tar"))
        #expect(again.layers.map(\.origin) == [.cache, .cache])
        #expect(again.manifestDigest == zstd.manifestDigest)

        // The verifier decompresses the zstd layers for their diff_ids (libarchive reads zstd).
        let report = try OCIArchiveVerifier.verify(dir.path("zstd/image.tar"))
        #expect(report.images.first?.layers.map(\.diffID) == zstd.layers.map(\.diffID))
        let entries = try TarSurgery.read(dir.path("zstd/image.tar"))
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(TarSurgery.blob(entries, zstd.manifestDigest)))
        #expect(manifest.layers.map(\.mediaType) == [MediaType.layerTarZstd, MediaType.layerTarZstd])
        let layer = dir.path("files.tar.zst")
        try Data(TarSurgery.blob(entries, zstd.layers[1].descriptor.digest)).write(to: layer)
        #expect(try TarSurgery.read(layer).map(\.info.path) == ["etc/", "etc/app/", "etc/app/settings.toml", "srv/", "srv/serve.sh"])
    }
}
