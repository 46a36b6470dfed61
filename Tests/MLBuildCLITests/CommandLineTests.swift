import Foundation
import MLBuildTestSupport
import Testing

/// Global options before or after the subcommand, `-jN` joined, remote settings checked even
/// when everything is fresh, and the Mlfile's bytes taken as they are.
@Suite("command line and Mlfile bytes")
struct CommandLineTests {
    static let mlfile = """
    task a
        outputs = out/a.txt
        run = echo a > out/a.txt
    """

    @Test func globalOptionsAreAcceptedBeforeOrAfterTheSubcommand() throws {
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile)
        let other = "\(ws.path)/other-cache"
        let built = try ws.run(["--cache-dir", other, "build", "-j", "1"])
        #expect(built.status == 0, "\(built.output)")
        #expect(FileManager.default.fileExists(atPath: "\(other)/ac"), "the build used --cache-dir given before 'build'")
        #expect(!ws.exists("cache"))

        let status = try ws.run(["--cache-dir", other, "status"])
        #expect(status.status == 0, "\(status.output)")
        #expect(status.stdout == "fresh    task:a\n1 target: 1 fresh, 0 restorable, 0 stale\n")
        #expect(try ws.run(["status", "--cache-dir", other]).stdout == status.stdout)

        let gc = try ws.run(["--cache-dir", other, "cache", "gc", "--max-size", "1G"])
        #expect(gc.status == 0, "\(gc.output)")
        #expect(gc.stdout.hasPrefix("cache gc: removed 0 entries (0 B), kept 2 "))
        let stats = try ws.run(["cache", "--cache-dir", other, "stats"])
        #expect(stats.status == 0, "\(stats.output)")
        #expect(stats.stdout.hasPrefix("cache: \(other)\n"))

        let elsewhere = try ProcessRunner.run(MLBuildBinary.path, ["-C", ws.path, "--cache-dir", other, "status"],
                                              in: NSTemporaryDirectory(), environment: ["CI": "true"])
        #expect(elsewhere.stdout == status.stdout, "\(elsewhere.output)")

        // Every remote option may come first too.
        let remote = try ws.run(["--remote-timeout", "5", "build", "task:a"])
        #expect(remote.status == 0, "\(remote.output)")

        // An option the subcommand does not take is still an error, wherever it is written.
        let wrong = try ws.run(["-j", "4", "status"])
        #expect(wrong.status == 2)
        #expect(wrong.stderr.contains("Unknown option '-j'"))
    }

    @Test(arguments: [["-j1"], ["-j4"], ["build", "-j4"], ["-j4", "build"], ["-j", "2"], ["--jobs=3"]])
    func jobsAreAcceptedJoinedAsMakeUsersTypeThem(_ arguments: [String]) throws {
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile)
        let run = try ws.build(arguments)
        #expect(run.result.status == 0, "\(run.result.output)")
        #expect(run.targets("built") == ["task:a"])
    }

    @Test func aBadRemoteCacheIsAnErrorEvenWhenEverythingIsFresh() throws {
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile)
        #expect(try ws.build().targets("built") == ["task:a"])
        Thread.sleep(forTimeInterval: 0.25)  // past the no-op manifest's racy window
        #expect(try ws.build().targets("fresh") == ["task:a"])
        #expect(ws.exists(".mlbuild/noop"), "the next build would take the no-op fast path")

        let expected = "error: remote cache: remote cache URL 'ftp://cache.example' is not an absolute http:// or https:// URL with a host\n"
        let flag = try ws.run(["--remote-cache", "ftp://cache.example"])
        #expect(flag.status == 2)
        #expect(flag.stderr == expected)
        let environment = try ws.run([], environment: ["MLBUILD_REMOTE_CACHE": "ftp://cache.example"])
        #expect(environment.status == 2)
        #expect(environment.stderr == expected)
        // A valid one is not contacted when nothing needs it.
        let valid = try ws.run([], environment: ["MLBUILD_REMOTE_CACHE": "http://127.0.0.1:9"])
        #expect(valid.status == 0, "\(valid.output)")
        // A bad timeout too, with or without a remote cache, from the flag or the environment.
        let timeout = try ws.run(["--remote-timeout", "soon"])
        #expect(timeout.status == 2)
        #expect(timeout.stderr == "error: --remote-timeout must be a number of seconds between 0 and 86400, not 'soon'\n")
        let timeoutEnvironment = try ws.run([], environment: ["MLBUILD_REMOTE_TIMEOUT": "-1"])
        #expect(timeoutEnvironment.status == 2)
        #expect(timeoutEnvironment.stderr == "error: MLBUILD_REMOTE_TIMEOUT must be a number of seconds between 0 and 86400, not '-1'\n")
    }

    @Test func anMlfileWithAByteOrderMarkBuilds() throws {
        let ws = try MLBuildWorkspace()
        try ws.directory.write("Mlfile", Data([0xEF, 0xBB, 0xBF] + Array("\(Self.mlfile)\n    bogus = 1\n".utf8)))
        let bad = try ws.run([])
        #expect(bad.status == 2)
        #expect(bad.stderr.hasPrefix("Mlfile:4:5: error: unknown key 'bogus' for task targets"), "columns count from after the BOM")
        try ws.directory.write("Mlfile", Data([0xEF, 0xBB, 0xBF] + Array(Self.mlfile.utf8)))
        let run = try ws.build()
        #expect(run.result.status == 0, "\(run.result.output)")
        #expect(try ws.read("out/a.txt") == "a\n")
    }

    @Test func aNulByteInTheMlfileIsAnErrorAndNothingRuns() throws {
        let ws = try MLBuildWorkspace()
        try ws.directory.write("Mlfile", Data(Array("task a\n    outputs = a.txt\n    run = touch a.txt".utf8) + [0] + Array("; touch pwned.txt\n".utf8)))
        let run = try ws.run([])
        #expect(run.status == 2)
        #expect(run.stderr.hasPrefix("Mlfile:3:22: error: NUL byte in Mlfile: remove it (a command or value would end here)\n"))
        #expect(!ws.exists("a.txt") && !ws.exists("pwned.txt"))
    }

    @Test func invalidUTF8InTheMlfileIsAnError() throws {
        let ws = try MLBuildWorkspace()
        try ws.directory.write("Mlfile", Data(Array("task a\n    outputs = caf".utf8) + [0xE9] + Array(".txt\n    run = touch caf\u{E9}.txt\n".utf8)))
        let run = try ws.run([])
        #expect(run.status == 2)
        #expect(run.stderr.hasPrefix("Mlfile:2:18: error: invalid UTF-8 in Mlfile (byte 0xE9 does not start a valid character): save the file as UTF-8\n"))
    }
}
