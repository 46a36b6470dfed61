import MLBuildCore
import MLBuildTestSupport
import Testing

/// The fake disk behaves as the engine expects a disk to.
@Suite struct InMemoryDiskTests {
    @Test func writesListsAndStamps() throws {
        let disk = InMemoryDisk(workingDirectory: "/w")
        disk.write("d/x.txt", "x")
        let before = try #require(disk.stat("d"))
        disk.write("d/y.txt", "yy")
        #expect(try disk.listDirectory("d") == ["x.txt", "y.txt"])
        #expect(disk.stat("/w/d/y.txt")?.size == 2)
        // Adding an entry moves the directory's mtime (what a glob's witness relies on).
        #expect((disk.stat("d")?.mtimeNanoseconds ?? 0) > before.mtimeNanoseconds)
        let x1 = try #require(disk.stat("d/x.txt"))
        disk.write("d/x.txt", "x")
        let x2 = try #require(disk.stat("d/x.txt"))
        #expect(x1 != x2)  // same bytes, new stat: a rewrite is never invisible
        try disk.removeTree("d")
        #expect(!disk.exists("d/x.txt") && !disk.exists("d"))
    }

    @Test func followsSymbolicLinks() throws {
        let disk = InMemoryDisk(workingDirectory: "/w")
        disk.write("real/f.txt", "f")
        try disk.createSymbolicLink(at: "link", target: "real")
        #expect(disk.contents("link/f.txt") == "f")
        #expect(disk.stat("link", followLinks: false)?.isSymbolicLink == true)
        #expect(disk.stat("link")?.isDirectory == true)
        #expect(try disk.readLink("link") == "real")
        try disk.createSymbolicLink(at: "loop", target: "loop")
        #expect(disk.stat("loop") == nil)
        #expect(disk.stat("loop", followLinks: false)?.isSymbolicLink == true)
        #expect(throws: FileHashing.Failure.self) { try disk.digest(ofFileAt: "real") }
    }
}
