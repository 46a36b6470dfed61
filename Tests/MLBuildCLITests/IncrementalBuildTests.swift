import Foundation
import MLBuildTestSupport
import Testing

@Suite("incremental builds through the real binary")
struct IncrementalBuildTests {
    @Test func firstBuildRunsEverythingAndSecondIsAllFresh() throws {
        let ws = try Fixtures.diamondWorkspace()
        let first = try ws.build(["task:d"])
        #expect(first.result.status == 0, "\(first.result.output)")
        #expect(first.targets("built") == ["task:a", "task:b", "task:c", "task:d"])
        #expect(try ws.read("out/d.txt") == "HELLO\nworld\n")
        let second = try ws.build(["task:d"])
        #expect(second.result.status == 0)
        #expect(second.targets("fresh") == ["task:a", "task:b", "task:c", "task:d"])
        #expect(second.result.stderr.contains("0 built, 0 restored, 4 fresh, 0 failed, 0 skipped"))
    }

    @Test func touchingAnInputWithoutChangingItRebuildsNothing() throws {
        let ws = try Fixtures.diamondWorkspace()
        try ws.build(["task:d"])
        // Rewrite with identical bytes: new mtime, ctime and possibly inode.
        try ws.write("src/a.txt", "hello\n")
        try ProcessRunner.shell("touch -d '2030-01-01' src/c.txt", in: ws.path)
        let run = try ws.build(["task:d"])
        #expect(run.targets("fresh") == ["task:a", "task:b", "task:c", "task:d"])
    }

    @Test func changingOneInputRebuildsExactlyItsDownstream() throws {
        let ws = try Fixtures.diamondWorkspace()
        try ws.build(["task:d"])
        try ws.write("src/c.txt", "there\n")
        let run = try ws.build(["task:d", "--explain"])
        #expect(run.targets("built") == ["task:c", "task:d"])
        #expect(run.targets("fresh") == ["task:a", "task:b"])
        #expect(run.result.stderr.contains("explain: task:c: input src/c.txt changed"))
        #expect(run.result.stderr.contains("explain: task:d: dependency task:c produced new output"))
        #expect(try ws.read("out/d.txt") == "HELLO\nthere\n")
    }

    @Test func aRebuildWithIdenticalOutputStopsThere() throws {
        let ws = try Fixtures.diamondWorkspace()
        try ws.build(["task:d"])
        try ws.write("src/a.txt", "HeLLo\n")  // b upper-cases it: same bytes as before
        let run = try ws.build(["task:d"])
        #expect(run.targets("built") == ["task:a", "task:b"])
        #expect(run.targets("fresh") == ["task:c", "task:d"])
    }

    @Test func revertingAChangeRestoresFromTheCacheWithoutRunning() throws {
        let ws = try Fixtures.diamondWorkspace()
        try ws.build(["task:d"])
        try ws.write("src/c.txt", "changed\n")
        try ws.build(["task:d"])
        try ws.write("src/c.txt", "world\n")
        let run = try ws.build(["task:d"])
        #expect(run.targets("restored") == ["task:c", "task:d"])
        #expect(run.targets("built").isEmpty)
        #expect(try ws.read("out/d.txt") == "HELLO\nworld\n")
    }

    @Test func deletingOrEditingAnOutputRestoresIt() throws {
        let ws = try Fixtures.diamondWorkspace()
        try ws.build(["task:d"])
        try FileManager.default.removeItem(atPath: "\(ws.path)/out/d.txt")
        try ws.write("out/b.txt", "tampered\n")
        let run = try ws.build(["task:d", "--explain"])
        #expect(run.targets("restored") == ["task:b", "task:d"])
        #expect(run.result.stderr.contains("explain: task:d: output out/d.txt missing or modified"))
        #expect(try ws.read("out/d.txt") == "HELLO\nworld\n")
        #expect(try ws.read("out/b.txt") == "HELLO\n")
    }

    @Test func editingARestoredFileNeverCorruptsTheCache() throws {
        let ws = try Fixtures.diamondWorkspace()
        try ws.build(["task:d"])
        try ws.run(["clean"])
        try ws.build(["task:d"])
        // Edit the restored file in place (same inode), then clean and restore again.
        let handle = try #require(FileHandle(forWritingAtPath: "\(ws.path)/out/d.txt"))
        handle.write(Data("XX".utf8))
        try handle.close()
        try ws.run(["clean"])
        let run = try ws.build(["task:d"])
        #expect(run.targets("restored").contains("task:d"))
        #expect(try ws.read("out/d.txt") == "HELLO\nworld\n")
        let verify = try ws.run(["cache", "verify"])
        #expect(verify.status == 0, "\(verify.output)")
    }

    @Test func reformattingTheMlfileRebuildsNothing() throws {
        let ws = try Fixtures.diamondWorkspace()
        try ws.build(["task:d"])
        try ws.write("Mlfile", Fixtures.diamondReformatted)
        let run = try ws.build(["task:d"])
        #expect(run.result.status == 0, "\(run.result.output)")
        #expect(run.targets("fresh") == ["task:a", "task:b", "task:c", "task:d"])
    }

    @Test func aParameterChangeRebuildsThatTarget() throws {
        let ws = try Fixtures.diamondWorkspace()
        try ws.build(["task:d"])
        try ws.write("Mlfile", Fixtures.diamond.replacingOccurrences(of: "cat src/c.txt > out/c.txt", with: "cat src/c.txt src/c.txt > out/c.txt"))
        let run = try ws.build(["task:d", "--explain"])
        #expect(run.targets("built") == ["task:c", "task:d"])
        #expect(run.result.stderr.contains("explain: task:c: parameter run changed"))
    }

    @Test func seedEntersTheKeyAndTheEnvironment() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        seed = 1
        task s
            outputs = seed.txt
            run = echo "$$MLBUILD_SEED $$MLBUILD_TARGET" > seed.txt
        """)
        try ws.build()
        #expect(try ws.read("seed.txt") == "1 task:s\n")
        let run = try ws.build(["--seed", "5", "--explain"])
        #expect(run.targets("built") == ["task:s"])
        #expect(run.result.stderr.contains("seed changed"))
        #expect(try ws.read("seed.txt") == "5 task:s\n")
    }

    @Test func jobsDoNotChangeKeysOrBytesAndCheckoutsAtDifferentPathsShareKeys() throws {
        let one = try Fixtures.diamondWorkspace()
        let eight = try Fixtures.diamondWorkspace()
        let serial = try one.build(["task:d", "-j", "1"])
        let parallel = try eight.build(["task:d", "-j", "8"])
        #expect(serial.keys.count == 4)
        #expect(serial.keys == parallel.keys)
        for file in ["out/a.txt", "out/b.txt", "out/c.txt", "out/d.txt"] {
            #expect(try one.read(file) == eight.read(file))
        }
    }

    @Test func aSecondCheckoutRestoresEverythingFromASharedCache() throws {
        let shared = try TemporaryDirectory()
        let first = try Fixtures.diamondWorkspace(cacheDirectory: shared.path)
        let second = try Fixtures.diamondWorkspace(cacheDirectory: shared.path)
        try first.build(["task:d"])
        let run = try second.build(["task:d"])
        #expect(run.targets("restored") == ["task:a", "task:b", "task:c", "task:d"])
        #expect(try second.read("out/d.txt") == "HELLO\nworld\n")
    }

    @Test func environmentPassThroughEntersTheKey() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task greet
            outputs = greeting.txt
            env = GREETING
            run = echo "$$GREETING $${HOME:-nohome}" > greeting.txt
        """)
        try ws.build([], environment: ["GREETING": "hi"])
        #expect(try ws.read("greeting.txt") == "hi nohome\n")
        let same = try ws.build([], environment: ["GREETING": "hi"])
        #expect(same.targets("fresh") == ["task:greet"])
        let changed = try ws.build(["--explain"], environment: ["GREETING": "hello"])
        #expect(changed.targets("built") == ["task:greet"])
        #expect(changed.result.stderr.contains("environment variable GREETING changed"))
    }

    @Test func inputsMayBeGlobsAndDirectories() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task count
            inputs = data/**/*.csv, conf
            outputs = count.txt
            run = cat data/*.csv data/sub/*.csv conf/* | wc -l > count.txt
        """)
        try ws.write("data/x.csv", "1\n")
        try ws.write("data/sub/y.csv", "2\n")
        try ws.write("data/notes.txt", "ignored\n")
        try ws.write("conf/settings", "s\n")
        try ws.build()
        try ws.write("data/notes.txt", "still ignored\n")
        #expect(try ws.build().targets("fresh") == ["task:count"])
        try ws.write("data/sub/y.csv", "3\n")
        #expect(try ws.build().targets("built") == ["task:count"])
        try ws.write("conf/more", "m\n")
        #expect(try ws.build(["--explain"]).result.stderr.contains("input conf/more changed"))
    }
}
