import Foundation
import MLBuildBasics
import MLBuildCore
import MLBuildTestSupport
import Testing

@Suite("digests, stable hashing, files and the graph")
struct HashingAndGraphTests {
    @Test func sha256MatchesKnownVectors() throws {
        #expect(ContentDigest.of("abc").hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(ContentDigest.empty.hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let dir = try TemporaryDirectory()
        try dir.write("f", String(repeating: "a", count: 3_000_000))
        let (digest, size) = try FileHashing.digest(ofFileAt: "\(dir.path)/f")
        #expect(size == 3_000_000)
        #expect(digest == ContentDigest.of(Array(repeating: UInt8(ascii: "a"), count: 3_000_000)))
        #expect(ContentDigest(hex: digest.hex) == digest)
        #expect(ContentDigest(hex: "xyz") == nil)
    }

    @Test func stableHashingSeparatesFieldBoundaries() {
        var a = StableHasher(domain: "t")
        a.append("ab")
        a.append("c")
        var b = StableHasher(domain: "t")
        b.append("a")
        b.append("bc")
        #expect(a.finalize() != b.finalize())
        var c = StableHasher(domain: "t")
        c.append("ab")
        c.append("c")
        #expect(a.finalize() == c.finalize())
    }

    @Test func atomicWritesAndCopies() throws {
        let dir = try TemporaryDirectory()
        try FileSystem.writeAtomically("one", to: "\(dir.path)/deep/x.txt")
        try FileSystem.writeAtomically("two", to: "\(dir.path)/deep/x.txt")
        #expect(try dir.read("deep/x.txt") == "two")
        try FileSystem.copyFile(from: "\(dir.path)/deep/x.txt", to: "\(dir.path)/copy/y.txt")
        #expect(try dir.read("copy/y.txt") == "two")
        #expect(try FileSystem.listDirectory("\(dir.path)/deep") == ["x.txt"], "no temp files left behind")
        try FileSystem.removeTree("\(dir.path)/deep")
        #expect(!dir.exists("deep"))
    }

    /// The copy that hashes as it copies (the content store's insert and restore): the digest
    /// and size of the bytes that landed, with the producer and the hasher on one thread or two,
    /// across several 8 MiB steps with a ragged end, for an empty file, and no temp left over.
    @Test(arguments: [1, 2])
    func copyFileHashingReturnsTheCopysDigest(threads: Int) async throws {
        let dir = try TemporaryDirectory()
        var bytes = [UInt8](repeating: 0, count: (20 << 20) + 4_321)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 13) }
        try Data(bytes).write(to: URL(fileURLWithPath: "\(dir.path)/big"))
        try dir.write("empty", "")
        let budget = WorkBudget(threads: threads)
        let (big, empty) = try await budget.run {
            (try FileSystem.copyFileHashing(from: "\(dir.path)/big", to: "\(dir.path)/out/big.copy", mode: 0o640),
             try FileSystem.copyFileHashing(from: "\(dir.path)/empty", to: "\(dir.path)/out/empty.copy"))
        }
        #expect(big.digest == ContentDigest.of(bytes))
        #expect(big.size == UInt64(bytes.count))
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: "\(dir.path)/out/big.copy"))) == bytes)
        #expect(FileStat.of("\(dir.path)/out/big.copy", followLinks: false).map { $0.mode & 0o777 } == 0o640)
        #expect(empty.digest == ContentDigest.empty)
        #expect(empty.size == 0)
        #expect(try FileSystem.listDirectory("\(dir.path)/out") == ["big.copy", "empty.copy"], "no temp files left behind")
        #expect(throws: FileSystem.Failure.self) {
            _ = try FileSystem.copyFileHashing(from: "\(dir.path)/missing", to: "\(dir.path)/out/missing.copy")
        }
        #expect(try FileSystem.listDirectory("\(dir.path)/out") == ["big.copy", "empty.copy"])
    }

    @Test func graphFindsCyclesAndOrdersDependenciesFirst() {
        func ref(_ s: String) -> TargetReference { TargetReference(kind: "task", name: s) }
        let here = SourceLocation(file: "Mlfile", line: 1, column: 1)
        var graph = BuildGraph()
        for n in ["a", "b", "c", "d"] { graph.addNode(ref(n)) }
        graph.addEdge(from: ref("d"), to: LocatedReference(ref("b"), at: here))
        graph.addEdge(from: ref("d"), to: LocatedReference(ref("c"), at: here))
        graph.addEdge(from: ref("b"), to: LocatedReference(ref("a"), at: here))
        #expect(graph.findCycle() == nil)
        #expect(graph.closure(of: [ref("d")]).map(\.name) == ["a", "b", "c", "d"])
        graph.addEdge(from: ref("a"), to: LocatedReference(ref("d"), at: here))
        #expect(graph.findCycle()?.path.map(\.name) == ["a", "d", "b", "a"])
    }
}
