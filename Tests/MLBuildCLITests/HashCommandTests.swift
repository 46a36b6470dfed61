import Foundation
import MLBuildTestSupport
import Testing

/// `mlbuild hash FILE…`: the digests mlbuild's keys are made of, in `sha256sum`'s format.
@Suite("mlbuild hash")
struct HashCommandTests {
    @Test func printsWhatSha256sumPrints() throws {
        // The tool comes with Debian's base system (coreutils): missing, the test fails.
        try #require(ProcessRunner.which("sha256sum") != nil, "needs sha256sum (coreutils)")
        let ws = try MLBuildWorkspace()
        try ws.write("a.txt", "hello\n")
        try ws.write("empty", "")
        try ws.directory.write("data/bytes.bin", Data((0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7) }))
        let files = ["a.txt", "empty", "data/bytes.bin"]
        let run = try ws.run(["hash"] + files)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.isEmpty)
        let reference = try ProcessRunner.run(try #require(ProcessRunner.which("sha256sum")), files, in: ws.path)
        #expect(run.stdout == reference.stdout)
        // Two known values, so the test does not only compare two tools.
        #expect(run.stdout.hasPrefix("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03  a.txt\n"
            + "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  empty\n"))
    }

    @Test func aFileThatCannotBeReadFailsAndTheOthersAreStillPrinted() throws {
        let ws = try MLBuildWorkspace()
        try ws.write("a.txt", "hello\n")
        let run = try ws.run(["hash", "missing.txt", "a.txt"])
        #expect(run.status == 1)
        #expect(run.stdout == "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03  a.txt\n")
        #expect(run.stderr.hasPrefix("error: "), "\(run.stderr)")
        #expect(run.stderr.contains("missing.txt"), "\(run.stderr)")
        let none = try ws.run(["hash"])
        #expect(none.status == 2)
        #expect(none.stderr.hasPrefix("Error: Missing expected argument '<FILE> ...'\n"), "\(none.stderr)")
    }
}
