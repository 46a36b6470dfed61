import Foundation
import MLBuildTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Disk full, a read-only cache directory, an unreadable input: each must fail with an error
/// naming the path, exit non-zero, and corrupt nothing (the next good run works and
/// `cache verify` is clean).
///
/// How each fault is made here (tests run as root, and root ignores file modes):
/// - disk full: a real tmpfs of a few hundred KiB (`mount -t tmpfs -o size=…`), needs root;
/// - read-only cache: a read-only bind mount of the cache directory, needs root;
/// - unreadable input: `chmod 000` plus running mlbuild without CAP_DAC_OVERRIDE and
///   CAP_DAC_READ_SEARCH (`setpriv --bounding-set`), so that root obeys the mode; as non-root
///   `chmod 000` is enough.
@Suite("faults: disk full, read-only cache, unreadable input", .serialized)
struct FaultTests {
    /// Whether this process may mount (root in a container that allows it): probed once.
    static let canMount: Bool = {
        guard getuid() == 0, let dir = try? TemporaryDirectory(prefix: "mlbuild-mount-probe") else { return false }
        guard (try? ProcessRunner.run("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir.path]))?.status == 0 else { return false }
        _ = try? ProcessRunner.run("/bin/umount", [dir.path])
        return true
    }()

    static let mountReason: Comment = "needs root and permission to mount (tmpfs, bind mounts); not available here"

    /// A mount that is undone when the value goes away.
    final class Mount {
        let path: String
        init(tmpfsAt path: String, size: String) throws {
            self.path = path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let result = try ProcessRunner.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path])
            guard result.status == 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path]) }
        }
        init(readOnlyBindOf path: String) throws {
            self.path = path
            let bind = try ProcessRunner.run("/bin/mount", ["--bind", path, path])
            let ro = try ProcessRunner.run("/bin/mount", ["-o", "remount,ro,bind", path])
            guard bind.status == 0, ro.status == 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path]) }
        }
        func resize(_ size: String) throws {
            let result = try ProcessRunner.run("/bin/mount", ["-o", "remount,size=\(size)", path])
            #expect(result.status == 0, "\(result.output)")
        }
        deinit { _ = try? ProcessRunner.run("/bin/umount", ["-l", path]) }
    }

    static func verifyClean(_ ws: MLBuildWorkspace, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let verify = try ws.run(["cache", "verify"])
        #expect(verify.status == 0, "\(verify.output)", sourceLocation: sourceLocation)
        #expect(verify.stdout.contains(" 0 corrupt, 0 malformed action entries"), "\(verify.output)", sourceLocation: sourceLocation)
    }

    // MARK: - Disk full

    /// Two targets whose outputs (300 KiB each) do not both fit in a 512 KiB cache.
    static let twoBlobs = """
    task small
        outputs = out/small.bin
        run = head -c 307200 /dev/zero | tr '\\0' 's' > out/small.bin
    task big: task:small
        outputs = out/big.bin
        run = head -c 307200 /dev/zero | tr '\\0' 'b' > out/big.bin
    """

    @Test
    func aFullCacheDiskFailsClearlyAndCorruptsNothing() throws {
        // The tool comes with Debian's base system: missing, the test fails rather than skips.
        try #require(Self.canMount, Self.mountReason)
        let cacheMount = try TemporaryDirectory(prefix: "mlbuild-full-cache")
        let ws = try MLBuildWorkspace(mlfile: Self.twoBlobs, cacheDirectory: "\(cacheMount.path)/cache")
        try FileManager.default.createDirectory(atPath: ws.path + "/out", withIntermediateDirectories: true)
        let mount = try Mount(tmpfsAt: cacheMount.path, size: "512k")

        let full = try ws.build(["-j", "1"])
        #expect(full.result.status != 0)
        #expect(full.result.output.contains(cacheMount.path), "the error names the cache path: \(full.result.output)")
        #expect(full.result.output.contains("No space left on device"), "\(full.result.output)")
        #expect(!full.result.output.contains("Fatal error"), "\(full.result.output)")
        try Self.verifyClean(ws)

        // Room again: the same workspace and cache build correctly, then are fresh.
        try mount.resize("8m")
        let good = try ws.build(["-j", "1"])
        #expect(good.result.status == 0, "\(good.result.output)")
        #expect(try ws.read("out/big.bin") == String(repeating: "b", count: 307_200))
        #expect(try ws.read("out/small.bin") == String(repeating: "s", count: 307_200))
        #expect(try ws.build().targets("fresh") == ["task:big", "task:small"])
        try Self.verifyClean(ws)
    }

    @Test
    func aFullWorkspaceDiskFailsTheTargetAndTheNextRunRecovers() throws {
        // The tool comes with Debian's base system: missing, the test fails rather than skips.
        try #require(Self.canMount, Self.mountReason)
        let ws = try MLBuildWorkspace(mlfile: Self.twoBlobs)
        let mount = try Mount(tmpfsAt: ws.path + "/out", size: "400k")

        let full = try ws.build(["-j", "1"])
        #expect(full.result.status == 1, "\(full.result.output)")
        #expect(full.statuses["task:small"] == "built")
        #expect(full.statuses["task:big"] == "failed", "\(full.statuses)")
        #expect(full.result.output.contains("task:big"), "\(full.result.output)")
        try Self.verifyClean(ws)

        try mount.resize("4m")
        let good = try ws.build(["-j", "1"])
        #expect(good.result.status == 0, "\(good.result.output)")
        #expect(good.statuses == ["task:small": "fresh", "task:big": "built"])
        #expect(try ws.read("out/big.bin") == String(repeating: "b", count: 307_200))
        try Self.verifyClean(ws)
    }

    // MARK: - Read-only cache

    @Test
    func aReadOnlyCacheDirectoryFailsClearlyAndCorruptsNothing() throws {
        // The tool comes with Debian's base system: missing, the test fails rather than skips.
        try #require(Self.canMount, Self.mountReason)
        let ws = try Fixtures.diamondWorkspace()
        // A first build fills the cache; then it becomes read-only and a source changes.
        #expect(try ws.build(["task:d"]).result.status == 0)
        try ws.write("src/c.txt", "changed\n")
        var mount: Mount? = try Mount(readOnlyBindOf: ws.cacheDirectory)

        // Restoring needs no writes, but task:c (and so task:d) must be built and stored: exit 2
        // before anything runs, naming the cache and what to do.
        let readOnly = try ws.build(["task:d"])
        #expect(readOnly.result.status == 2)
        #expect(readOnly.result.output == "error: the cache directory \(ws.cacheDirectory) is read-only, and 2 targets must be built "
            + "(first: task:c); a build stores every result in the cache: use --cache-dir with a writable directory "
            + "(or make this one writable)\n")
        try Self.verifyClean(ws)

        mount = nil
        _ = mount
        let good = try ws.build(["task:d"])
        #expect(good.result.status == 0, "\(good.result.output)")
        #expect(try ws.read("out/d.txt") == "HELLO\nchanged\n")
        #expect(try ws.build(["task:d"]).targets("fresh").count == 4)
        try Self.verifyClean(ws)
    }

    // MARK: - Unreadable input

    /// Runs mlbuild so that file modes bind it: as is when not root, else without the two
    /// capabilities that let root read and search anything.
    static let modeBindingPrefix: [String]? = {
        if getuid() != 0 { return [] }
        guard let setpriv = ProcessRunner.which("setpriv") else { return nil }
        let probe = try? ProcessRunner.run(setpriv, ["--bounding-set", "-dac_override,-dac_read_search", "--", "/bin/true"])
        return probe?.status == 0 ? [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--"] : nil
    }()

    @Test
    func anUnreadableInputFailsWithItsPathAndTheNextRunRecovers() throws {
        // The tool comes with Debian's base system: missing, the test fails rather than skips.
        try #require(Self.modeBindingPrefix != nil, "running as root without setpriv: root reads any file whatever its mode")
        let prefix = try #require(Self.modeBindingPrefix)
        let ws = try Fixtures.diamondWorkspace()
        try ProcessRunner.run("/bin/chmod", ["000", ws.path + "/src/c.txt"])
        defer { _ = try? ProcessRunner.run("/bin/chmod", ["644", ws.path + "/src/c.txt"]) }

        let argv = prefix + [MLBuildBinary.path, "task:d", "-j", "1"]
        let denied = try ProcessRunner.run(argv[0], Array(argv.dropFirst()), in: ws.path,
                                           environment: ["CI": "true", "MLBUILD_CACHE_DIR": ws.cacheDirectory])
        #expect(denied.status != 0)
        #expect(denied.output.contains("src/c.txt"), "the error names the input: \(denied.output)")
        #expect(denied.output.contains("Permission denied"), "\(denied.output)")
        #expect(!ws.exists("out/d.txt"))
        try Self.verifyClean(ws)

        try ProcessRunner.run("/bin/chmod", ["644", ws.path + "/src/c.txt"])
        let good = try ws.build(["task:d"])
        #expect(good.result.status == 0, "\(good.result.output)")
        #expect(try ws.read("out/d.txt") == "HELLO\nworld\n")
        try Self.verifyClean(ws)
    }
}
