import Foundation
import MLBuildTestSupport
import Testing

/// A cache directory mounted read-only (shared by CI runners): results are restored from it,
/// nothing is written to it, and a target that would have to be stored is an exit-2 error
/// saying what to do. Tests run as root, where permission bits do not stop writes, so the
/// cache is made read-only with a bind mount in a private mount namespace (`unshare -m`),
/// which disappears with the process.
@Suite("read-only cache directory")
struct ReadOnlyCacheTests {
    static let mlfile = """
    task a
        outputs = out/a.txt
        run = echo a > out/a.txt
    task b: task:a
        inputs = out/a.txt
        outputs = out/b.txt
        run = tr a-z A-Z < out/a.txt > out/b.txt
    """

    /// Whether this machine lets us make a private read-only bind mount.
    static let available: Bool = {
        guard let unshare = ProcessRunner.which("unshare"), let directory = try? TemporaryDirectory() else { return false }
        let probe = try? ProcessRunner.run(unshare, ["-m", "/bin/sh", "-c", script, "sh", directory.path, "/usr/bin/touch", "\(directory.path)/x"])
        return probe?.status != nil && probe?.status != 0 && probe?.stderr.contains("Read-only file system") == true
    }()

    /// `sh -c SCRIPT DIR CMD ARGS…`: bind-mounts DIR read-only onto itself, then runs CMD.
    static let script = #"d=$1; shift; mount --bind "$d" "$d" && mount -o remount,bind,ro "$d" && exec "$@""#

    func runReadOnly(_ ws: MLBuildWorkspace, _ arguments: [String]) throws -> ProcessResult {
        try ProcessRunner.run("/usr/bin/env", ["unshare", "-m", "/bin/sh", "-c", Self.script, "sh", ws.cacheDirectory, MLBuildBinary.path] + arguments,
                              in: ws.path, environment: ["CI": "true", "MLBUILD_CACHE_DIR": ws.cacheDirectory])
    }

    /// Every file under `directory` with its size, mode and modification time.
    func snapshot(_ directory: String) throws -> [String] {
        let result = try ProcessRunner.run("/usr/bin/find", [directory, "-printf", "%P %s %m %T@\\n"])
        return result.stdout.split(separator: "\n").map(String.init).sorted()
    }

    @Test func restoresFromAReadOnlyCacheWithoutWritingToIt() throws {
        // util-linux's unshare and mount are on every Debian machine: missing, the test fails.
        try #require(Self.available, "cannot make a private read-only bind mount (unshare -m, mount --bind)")
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile)
        #expect(try ws.build().targets("built") == ["task:a", "task:b"])
        try ws.directory.remove("out")
        try ws.directory.remove(".mlbuild")
        let before = try snapshot(ws.cacheDirectory)

        let restored = try runReadOnly(ws, ["-j", "1"])
        #expect(restored.status == 0, "\(restored.output)")
        #expect(restored.stderr.contains("mlbuild: 2 targets: 0 built, 2 restored, 0 fresh, 0 failed, 0 skipped"))
        #expect(try ws.read("out/b.txt") == "A\n")
        #expect(try snapshot(ws.cacheDirectory) == before, "no LRU touch, no builds.log line, no lock file change")

        let status = try runReadOnly(ws, ["status"])
        #expect(status.stdout.hasSuffix("2 targets: 2 fresh, 0 restorable, 0 stale\n"), "\(status.output)")

        // A target that must be built needs to store its result: exit 2, and what to do.
        try ws.write("Mlfile", Self.mlfile + "\ntask c\n    outputs = out/c.txt\n    run = echo c > out/c.txt\n")
        let build = try runReadOnly(ws, [])
        #expect(build.status == 2)
        #expect(build.stderr == "error: the cache directory \(ws.cacheDirectory) is read-only, and 1 target must be built (first: task:c); "
            + "a build stores every result in the cache: use --cache-dir with a writable directory (or make this one writable)\n")
        #expect(!ws.exists("out/c.txt"))
        #expect(try snapshot(ws.cacheDirectory) == before)

        // gc, which deletes, says so instead of failing halfway; verify checks without changing.
        let gc = try runReadOnly(ws, ["cache", "gc", "--max-size", "0"])
        #expect(gc.status == 2)
        #expect(gc.stderr == "error: cache gc: the cache directory \(ws.cacheDirectory) is read-only, and it deletes entries; "
            + "run it where the cache is writable\n")
        let verify = try runReadOnly(ws, ["cache", "verify"])
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.stdout.hasSuffix(" 0 corrupt, 0 malformed action entries\n"))
        #expect(try snapshot(ws.cacheDirectory) == before)
    }
}
