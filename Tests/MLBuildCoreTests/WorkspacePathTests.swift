import Foundation
import MLBuildCore
import MLBuildTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("workspace paths, unsafe parents, stale temp files, special files")
struct WorkspacePathTests {
    @Test(arguments: [
        ("out/a.txt", nil),
        ("a", nil),
        ("..a/b..", nil),
        ("", "is empty"),
        (".", "names the workspace root"),
        ("./", "names the workspace root"),
        ("a/..", "names the workspace root"),
        ("./x", "has a '.' component (write 'x')"),
        ("a/./b", "has a '.' component (write 'a/b')"),
        ("a//b", "has an empty component (write 'a/b')"),
        ("a/b/", "ends with '/' (write 'a/b')"),
        ("a/b/.", "has a '.' component (write 'a/b')"),
        ("a/../b", "has a '..' component (write 'b')"),
        ("../x", "leaves the workspace ('..')"),
        ("a/../../x", "leaves the workspace ('..')"),
        ("/etc/passwd", "is absolute: it must be a path inside the workspace"),
    ] as [(String, String?)])
    func workspacePathsMustBeCanonical(path: String, problem: String?) {
        #expect(WorkspacePath.problem(path) == problem, "\(path)")
    }

    @Test func inputsMayLeaveTheWorkspaceButStillSpellPathsCanonically() {
        #expect(WorkspacePath.problem("/dev/zero", absolute: true) == nil)
        #expect(WorkspacePath.problem("../shared/x.csv", leadingParent: true) == nil)
        #expect(WorkspacePath.problem("/a//b", absolute: true) == "has an empty component (write '/a/b')")
        #expect(WorkspacePath.problem("a/../../x", leadingParent: true) == "has a '..' component (write '../x')")
        #expect(WorkspacePath.problem("/a/../b", absolute: true) == "has a '..' component (write '/b')")
    }

    @Test func writingThroughASymbolicLinkedParentIsRefusedNamingTheLink() throws {
        let dir = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: "\(dir.path)/real/sub", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(dir.path)/real/link", withDestinationPath: "/tmp")
        try dir.write("file", "x")
        func checkParents(of path: String) throws { try WorkspacePath.checkParents(of: path, in: dir.path) }
        try checkParents(of: "real/sub/a.txt")
        try checkParents(of: "missing/dir/a.txt")
        try checkParents(of: "real/link")  // the link itself may be replaced
        #expect(throws: WorkspacePath.UnsafePath.self) { try checkParents(of: "real/link/a.txt") }
        do {
            try checkParents(of: "real/link/x/a.txt")
            Issue.record("a linked parent was accepted")
        } catch {
            #expect("\(error)" == "output 'real/link/x/a.txt': 'real/link' is a symbolic link to '/tmp', and mlbuild never writes or removes through one")
        }
        do {
            try checkParents(of: "file/a.txt")
            Issue.record("a file as a parent was accepted")
        } catch {
            #expect("\(error)" == "output 'file/a.txt': 'file' is not a directory")
        }
        #expect(throws: WorkspacePath.UnsafePath.self) { try checkParents(of: "a/../../etc/x") }
    }

    @Test func staleTemporaryNamesAreRecognizedOnlyInMlbuildsOwnPatterns() throws {
        let dir = try TemporaryDirectory()
        let temp = FileSystem.temporaryPath(near: "\(dir.path)/out.tar.gz")
        #expect(StaleTemporaryFiles.writerProcess(of: FileSystem.lastComponent(of: temp)) == getpid())
        #expect(StaleTemporaryFiles.writerProcess(of: ".image.tar.staging-4242-17") == 4242)
        #expect(StaleTemporaryFiles.writerProcess(of: ".data.bin.tmp-4242-17") == 4242)
        #expect(StaleTemporaryFiles.writerProcess(of: ".tmp-a.b.c.4242.99") == 4242)
        #expect(StaleTemporaryFiles.writerProcess(of: "remote.4242.1", cacheTemporary: true) == 4242)
        for name in ["remote.4242.1", "image.tar.staging-4242-1", ".tmp-4242.1", ".tmp-a.4242.x", ".staging-4242-1",
                     ".a.tmp-4242", ".a.tmp-x-1", ".a.tmp-0-1", "notes.txt", ".tmp-readme"] {
            #expect(StaleTemporaryFiles.writerProcess(of: name) == nil, "\(name)")
        }
        #expect(StaleTemporaryFiles.writerProcess(of: "other.4242.1", cacheTemporary: true) == nil)
        #expect(!StaleTemporaryFiles.isGone(getpid()))
    }

    /// A hang detector only: the limit counts time spent waiting for a thread behind the
    /// CPU-bound fuzz tests, so it is generous.
    @Test(.timeLimit(.minutes(5)))
    func hashingRefusesAFIFOWithoutBlocking() throws {
        let dir = try TemporaryDirectory()
        #expect(mkfifo("\(dir.path)/pipe", 0o644) == 0)
        #expect(throws: FileHashing.Failure.self) { try FileHashing.digest(ofFileAt: "\(dir.path)/pipe") }
        do {
            _ = try FileHashing.digest(ofFileAt: "/dev/zero")
            Issue.record("/dev/zero was hashed")
        } catch {
            #expect("\(error)" == "cannot read '/dev/zero': it is a character device, not a regular file")
        }
    }
}
