import Foundation
import MLBuildTestSupport
import Testing

/// What a task's outputs may hold (files, directories, symbolic links stored as links), and the
/// local action cache as an untrusted input: an entry is used only when it matches the target's
/// declared outputs.
@Suite("output entries: symlinks, special files, empty directories, local cache entries")
struct OutputEntriesTests {
    /// Runs `mlbuild ARGS` under `timeout`, so a regression that hangs fails instead of blocking
    /// the suite (exit status 124).
    func boundedRun(_ ws: MLBuildWorkspace, _ arguments: [String], seconds: Int = 60) throws -> ProcessResult {
        let quoted = ([MLBuildBinary.path] + arguments).map { "'\($0)'" }.joined(separator: " ")
        return try ProcessRunner.shell("timeout \(seconds) \(quoted)", in: ws.path,
                                       environment: ["CI": "true", "MLBUILD_CACHE_DIR": ws.cacheDirectory])
    }

    /// The local action cache document of `key`, as JSON.
    func localEntry(_ ws: MLBuildWorkspace, key: String) throws -> [[String: Any]] {
        let data = try #require(FileManager.default.contents(atPath: "\(ws.cacheDirectory)/ac/\(key.prefix(2))/\(key)"))
        let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(document["format"] as? Int == 2)
        return try #require(document["outputs"] as? [[String: Any]])
    }

    func readLink(_ path: String) -> String? { try? FileManager.default.destinationOfSymbolicLink(atPath: path) }

    @Test(.timeLimit(.minutes(2)))
    func aSymlinkLoopInAnOutputIsStoredAsOneLinkAndRestoredAsALink() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task tree
            outputs = out/tree
            run = mkdir -p out/tree/sub && echo a > out/tree/a.txt && ln -s . out/tree/loop && ln -s ../a.txt out/tree/sub/up
        """)
        let first = try ws.build()
        #expect(first.result.status == 0, "\(first.result.output)")
        let key = try #require(first.keys["task:tree"])
        let entries = try localEntry(ws, key: key)
        let paths: [String] = entries.compactMap { $0["path"] as? String }
        #expect(paths == ["out/tree/a.txt", "out/tree/loop", "out/tree/sub/up"], "no nested copies through the loop")
        #expect(entries.first { $0["path"] as? String == "out/tree/loop" }?["symlink"] as? String == ".")
        #expect(entries.first { $0["path"] as? String == "out/tree/loop" }?["digest"] == nil)

        #expect(try ws.run(["clean"]).status == 0)
        let restored = try ws.build()
        #expect(restored.statuses["task:tree"] == "restored", "\(restored.result.output)")
        #expect(readLink("\(ws.path)/out/tree/loop") == ".")
        #expect(readLink("\(ws.path)/out/tree/sub/up") == "../a.txt")
        #expect(try ws.read("out/tree/a.txt") == "a\n")
        #expect(try ws.build().statuses["task:tree"] == "fresh")

        // A retargeted link is a modified output: the next build puts the recorded one back.
        try FileManager.default.removeItem(atPath: "\(ws.path)/out/tree/loop")
        try FileManager.default.createSymbolicLink(atPath: "\(ws.path)/out/tree/loop", withDestinationPath: "sub")
        let repaired = try ws.build()
        #expect(repaired.statuses["task:tree"] == "restored")
        #expect(readLink("\(ws.path)/out/tree/loop") == ".")
    }

    @Test(arguments: [
        ("ln -s /etc out/tree/abs", "output 'out/tree/abs' of task:tree is a symbolic link to an absolute path ('/etc')"),
        ("ln -s ../../.. out/tree/up", "output 'out/tree/up' of task:tree is a symbolic link that leaves the workspace ('../../..')"),
        ("mkfifo out/tree/pipe", "output 'out/tree/pipe' of task:tree is a FIFO (named pipe): outputs must be regular files, directories or symbolic links"),
    ])
    func anOutputThatIsNeitherFileDirectoryNorInsideLinkFailsNamingIt(command: String, message: String) throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task tree
            outputs = out/tree
            run = mkdir -p out/tree && echo a > out/tree/a.txt && \(command)
        """)
        let run = try boundedRun(ws, [])
        #expect(run.status == 1, "\(run.output)")
        #expect(run.stderr.contains(message), "\(run.stderr)")
        #expect(!ws.exists("out/tree"), "a failed target's outputs are removed")
    }

    @Test func aDeclaredOutputThatIsAFifoFailsInsteadOfHanging() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task pipe
            outputs = p
            run = mkfifo p
        """)
        let run = try boundedRun(ws, [])
        #expect(run.status == 1, "\(run.output)")
        #expect(run.stderr.contains("output 'p' of task:pipe is a FIFO (named pipe)"), "\(run.stderr)")
    }

    @Test func anEmptyOutputDirectoryIsRecordedAndRestored() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task empty
            outputs = out/empty
            run = mkdir -p out/empty/inner
        """)
        let first = try ws.build()
        #expect(first.statuses["task:empty"] == "built", "\(first.result.output)")
        let key = try #require(first.keys["task:empty"])
        let entries = try localEntry(ws, key: key)
        #expect(entries.count == 1)
        #expect(entries.first?["path"] as? String == "out/empty/inner")
        #expect(entries.first?["directory"] as? Bool == true)
        try ws.run(["clean"])
        let restored = try ws.build()
        #expect(restored.statuses["task:empty"] == "restored")
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: "\(ws.path)/out/empty/inner", isDirectory: &isDirectory) && isDirectory.boolValue)
        #expect(try ws.build().statuses["task:empty"] == "fresh")
    }

    /// Rewrites the local action cache entry of `key` (and stores `blobs` in the local CAS).
    func poisonLocalEntry(_ ws: MLBuildWorkspace, key: String, outputs: [[String: Any]], blobs: [Data] = []) throws {
        for blob in blobs {
            let digest = HostileCacheServer.digest(of: blob)
            let directory = "\(ws.cacheDirectory)/cas/\(digest.prefix(2))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: "\(directory)/\(digest)", contents: blob))
        }
        let path = "\(ws.cacheDirectory)/ac/\(key.prefix(2))/\(key)"
        let document: [String: Any] = ["format": 1, "outputs": outputs]
        try? FileManager.default.removeItem(atPath: path)
        try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
            .write(to: URL(fileURLWithPath: path))
    }

    static let single = """
    task gen
        inputs = src/in.txt
        outputs = out/gen.txt
        run = tr a-z A-Z < src/in.txt > out/gen.txt
    """

    @Test func aLocalEntryNamingAnUndeclaredPathIsNeverRestored() throws {
        let ws = try MLBuildWorkspace(mlfile: Self.single)
        try ws.write("src/in.txt", "hello\n")
        let first = try ws.build()
        let key = try #require(first.keys["task:gen"])
        var outputs = try localEntry(ws, key: key)
        let hook = Data("#!/bin/sh\necho pwned\n".utf8)
        outputs.append(["path": ".git/hooks/pre-commit", "digest": HostileCacheServer.digest(of: hook), "size": hook.count, "executable": true])
        try ws.run(["clean"])
        try poisonLocalEntry(ws, key: key, outputs: outputs, blobs: [hook])
        let run = try ws.build()
        #expect(run.statuses["task:gen"] == "built", "\(run.result.output)")
        #expect(!ws.exists(".git/hooks/pre-commit"))
        #expect(run.result.stderr.contains(
            "warning: local cache entry ac/\(key) does not match task:gen's declared outputs ('.git/hooks/pre-commit' is not a declared output); building locally"),
            "\(run.result.stderr)")
        #expect(try localEntry(ws, key: key).compactMap { $0["path"] as? String } == ["out/gen.txt"], "the local build replaced the entry")
        let again = try ws.build()
        #expect(again.statuses["task:gen"] == "fresh")
        #expect(!again.result.stderr.contains("warning"))
    }

    @Test func aLocalEntryWithNoOutputsIsAMissNotAnEmptyRestore() throws {
        let ws = try MLBuildWorkspace(mlfile: Self.single)
        try ws.write("src/in.txt", "hello\n")
        let key = try #require(try ws.build().keys["task:gen"])
        try ws.run(["clean"])
        try poisonLocalEntry(ws, key: key, outputs: [])
        let run = try ws.build()
        #expect(run.statuses["task:gen"] == "built", "\(run.result.output)")
        #expect(run.result.stderr.contains("declared output 'out/gen.txt' is missing"), "\(run.result.stderr)")
        #expect(try ws.read("out/gen.txt") == "HELLO\n")
        let again = try ws.build()
        #expect(again.statuses["task:gen"] == "fresh")
        #expect(try ws.read("out/gen.txt") == "HELLO\n")
    }

    @Test func aQuarantinedBlobPrintsExactlyOneWarning() throws {
        // Two targets whose outputs are the same bytes share one blob.
        let ws = try MLBuildWorkspace(mlfile: """
        task one
            outputs = one.txt
            run = echo same > one.txt
        task two
            outputs = two.txt
            run = echo same > two.txt
        """)
        #expect(try ws.build().result.status == 0)
        try ws.run(["clean"])
        let digest = HostileCacheServer.digest(of: Data("same\n".utf8))
        let blob = "\(ws.cacheDirectory)/cas/\(digest.prefix(2))/\(digest)"
        try ProcessRunner.shell("chmod u+w '\(blob)' && printf 'SAME\\n' > '\(blob)'")
        let run = try ws.build()
        #expect(run.result.status == 0)
        // Both restores may find the bad blob at once (both targets built, one warning between
        // them), or the second may start after the first target was rebuilt and restore the
        // good blob that build stored: which of the two happens depends on timing, not on mlbuild.
        #expect(run.statuses.values.contains("built"), "\(run.result.output)")
        #expect(Set(run.statuses.values).isSubset(of: ["built", "restored"]), "\(run.result.output)")
        let warnings = run.result.stderr.split(separator: "\n").filter { $0.hasPrefix("warning:") }
        #expect(warnings.count == 1, "\(run.result.stderr)")
        #expect(warnings.first?.contains("cache blob \(digest) is corrupt") == true, "\(warnings)")
        #expect(warnings.first?.contains("quarantined") == true)
        #expect(FileManager.default.fileExists(atPath: "\(ws.cacheDirectory)/quarantine/\(digest)"))
        #expect(try ws.read("one.txt") == "same\n")
        #expect(try ws.read("two.txt") == "same\n")
    }
}
