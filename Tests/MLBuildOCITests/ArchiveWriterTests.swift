import Foundation
import Testing
@testable import MLBuildOCI

@Suite struct ArchiveWriterTests {
    @Test func memoryTarRoundTripsWithNormalizedMetadata() throws {
        let dir = try TempDir("tar")
        defer { dir.remove() }
        let source = try dir.write("big.bin", Fixture.bytes(count: 200_000, seed: 7), mode: 0o600)
        let sink = MemorySink()
        let writer = try ArchiveWriter(sink: sink)
        try writer.writeDirectory(path: "a")
        try writer.writeFile(path: "a/big.bin", size: 200_000, contentsOf: source)
        try writer.writeFile(path: "a/small.txt", mode: 0o755, bytes: Array("hi\n".utf8))
        try writer.writeSymlink(path: "a/link", target: "small.txt")
        try writer.finish()
        #expect(sink.bytes.count % 10240 == 0)

        let tar = try dir.write("out.tar", sink.bytes)
        let reader = try ArchiveReader(file: tar)
        var seen: [ArchiveEntryInfo] = []
        var bigBytes: [UInt8] = []
        while let entry = try reader.next() {
            seen.append(entry)
            if entry.path == "a/big.bin" { bigBytes = try reader.readAll() }
        }
        try reader.finish()
        #expect(seen.map(\.path) == ["a/", "a/big.bin", "a/small.txt", "a/link"])
        #expect(seen.map(\.mode) == [0o755, 0o644, 0o755, 0o777])
        #expect(seen[3].linkTarget == "small.txt")
        #expect(bigBytes == Fixture.bytes(count: 200_000, seed: 7))

        // GNU tar sees uid/gid 0, no names, mtime 1970-01-01.
        let listing = try Tools.run("/usr/bin/tar", ["--numeric-owner", "--full-time", "-tvf", tar.path])
        #expect(listing.status == 0)
        let first = listing.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.hasPrefix("drwxr-xr-x 0/0"))
        #expect(first.contains("1970-01-01 00:00:00"))
    }

    @Test func sameEntriesGiveSameBytesAndLongNamesUsePax() throws {
        func make() throws -> [UInt8] {
            let sink = MemorySink()
            let writer = try ArchiveWriter(sink: sink)
            try writer.writeFile(path: "short.txt", bytes: [1, 2, 3])
            try writer.writeFile(path: String(repeating: "d", count: 120) + "/" + String(repeating: "n", count: 150), bytes: [4])
            try writer.finish()
            return sink.bytes
        }
        let first = try make()
        #expect(first == (try make()))
        // Plain ustar header for the short name (magic "ustar\0" at 257), a PAX 'x' header for the long one.
        #expect(Array(first[257..<263]) == Array("ustar\0".utf8))
        #expect(first[156] == UInt8(ascii: "0"))
        #expect(first[1024 + 156] == UInt8(ascii: "x"))
    }

    @Test func gzipHeaderHasNoNameOrTimestamp() throws {
        let dir = try TempDir("gzip")
        defer { dir.remove() }
        let compressor = try GzipCompressor(level: 6)
        var out: [UInt8] = []
        let input = Fixture.bytes(count: 100_000, seed: 3)
        try input.withUnsafeBytes { try compressor.compress($0) { out.append(contentsOf: $0) } }
        try compressor.finish { out.append(contentsOf: $0) }
        // ID1 ID2 CM=8 FLG=0 MTIME=0 XFL=0 OS=3
        #expect(Array(out[0..<10]) == [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])
        let file = try dir.write("x.gz", out)
        let round = try ArchiveReader(file: file, mode: .rawStream)
        _ = try round.next()
        #expect(try round.readAll() == input)
    }

    @Test func sinkErrorsSurfaceWithTheirMessage() throws {
        final class FailingSink: ArchiveSink {
            func write(_ bytes: UnsafeRawBufferPointer) throws { throw ArchiveError("disk full (test)") }
            func close() throws {}
        }
        let writer = try ArchiveWriter(sink: FailingSink())
        #expect(throws: ArchiveError("disk full (test)")) {
            for i in 0..<40 { try writer.writeFile(path: "f\(i)", bytes: [UInt8](repeating: 1, count: 1000)) }
            try writer.finish()
        }
    }
}
