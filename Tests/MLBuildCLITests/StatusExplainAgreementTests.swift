import Foundation
import MLBuildTestSupport
import Testing

/// `status` and `build --explain` compute reasons with the same code (issue 11, item 9): for the
/// same change they print the same words; `status` counts restorable targets as restorable; a
/// changed parameter reads with its old and new values, never a secret's.
@Suite("status and --explain agree", .serialized)
struct StatusExplainAgreementTests {
    /// target → reason, from `status` lines (`stale    T: R`, `cached   T: R`).
    static func statusReasons(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("stale    ") || line.hasPrefix("cached   ") {
            let rest = line.dropFirst(9)
            guard let colon = rest.range(of: ": ") else { continue }
            out[String(rest[..<colon.lowerBound])] = String(rest[colon.upperBound...])
        }
        return out
    }

    /// target → the last reason `--explain` told for it.
    static func explainReasons(_ stderr: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in stderr.split(separator: "\n") where line.hasPrefix("explain: ") {
            let rest = line.dropFirst(9)
            guard let colon = rest.range(of: ": ") else { continue }
            out[String(rest[..<colon.lowerBound])] = String(rest[colon.upperBound...])
        }
        return out
    }

    /// Runs `status`, then `build --explain`; every reason `status` could know (not "waiting
    /// for dependency …") reads the same in both. Returns (status output, build).
    @discardableResult
    func expectAgreement(_ ws: MLBuildWorkspace, _ arguments: [String] = [], environment: [String: String?] = [:],
                         sourceLocation: SourceLocation = #_sourceLocation) throws -> (status: String, build: BuildRun) {
        let status = try ws.run(["status"] + arguments, environment: environment)
        #expect(status.status == 0, "\(status.output)", sourceLocation: sourceLocation)
        let build = try ws.build(["--explain", "-j", "1"] + arguments, environment: environment)
        #expect(build.result.status == 0, "\(build.result.output)", sourceLocation: sourceLocation)
        let told = Self.explainReasons(build.result.stderr)
        let known = Self.statusReasons(status.stdout).filter { !$0.value.hasPrefix("waiting for dependency") }
        #expect(!known.isEmpty, "\(status.stdout)", sourceLocation: sourceLocation)
        for (target, reason) in known {
            #expect(told[target] == reason, "\(target): status says '\(reason)', --explain '\(told[target] ?? "nothing")'",
                    sourceLocation: sourceLocation)
            let event = build.events.first { $0["type"] as? String == "target" && $0["target"] as? String == target }
            #expect(event?["reason"] as? String == reason, sourceLocation: sourceLocation)
        }
        return (status.stdout, build)
    }

    @Test func aParameterChangeReadsTheSameWithItsOldAndNewValues() throws {
        let ws = try Fixtures.diamondWorkspace()
        try ws.build(["task:d"])
        try ws.write("Mlfile", Fixtures.diamond.replacingOccurrences(of: "run = cat src/c.txt > out/c.txt",
                                                                     with: "run = cat src/c.txt src/c.txt > out/c.txt"))
        let (status, build) = try expectAgreement(ws)
        #expect(status.contains("stale    task:c: parameter run changed: cat src/c.txt > out/c.txt → cat src/c.txt src/c.txt > out/c.txt\n"),
                "\(status)")
        #expect(status.hasSuffix("4 targets: 2 fresh, 0 restorable, 2 stale\n"), "\(status)")
        #expect(build.result.stderr.contains("explain: task:d: dependency task:c produced new output\n"))
        // Back to the first value: the old result is restorable, with both values the other way.
        try ws.write("Mlfile", Fixtures.diamond)
        let (again, _) = try expectAgreement(ws)
        #expect(again.contains("cached   task:c: parameter run changed: cat src/c.txt src/c.txt > out/c.txt → cat src/c.txt > out/c.txt; restorable from the local cache\n"),
                "\(again)")
        #expect(again.contains("cached   task:d: dependency task:c produced new output; restorable from the local cache\n"), "\(again)")
        #expect(again.hasSuffix("4 targets: 2 fresh, 2 restorable, 0 stale\n"), "\(again)")
    }

    @Test func anInputChangeAndARestorableDependencyReadTheSame() throws {
        let ws = try Fixtures.diamondWorkspace()
        try ws.build(["task:d"])
        try ws.write("src/c.txt", "there\n")
        let (first, _) = try expectAgreement(ws)
        #expect(first.contains("stale    task:c: input src/c.txt changed\n"), "\(first)")
        // Back: task:c and task:d (whose dependency now produces the old output) are restorable.
        try ws.write("src/c.txt", "world\n")
        let (status, build) = try expectAgreement(ws)
        #expect(status == """
            fresh    task:a
            fresh    task:b
            cached   task:c: input src/c.txt changed; restorable from the local cache
            cached   task:d: dependency task:c produced new output; restorable from the local cache
            4 targets: 2 fresh, 2 restorable, 0 stale

            """, "\(status)")
        #expect(build.statuses == ["task:a": "fresh", "task:b": "fresh", "task:c": "restored", "task:d": "restored"])
    }

    @Test func aSeedChangeReadsTheSame() throws {
        let ws = try Fixtures.diamondWorkspace()
        try ws.build(["task:d"])
        let (status, _) = try expectAgreement(ws, ["--seed", "9"])
        #expect(status.contains("stale    task:a: seed changed\n"), "\(status)")
    }

    @Test func aMissingBlobReadsAsTheBuildThatFollowsAndCountsStale() throws {
        let ws = try Fixtures.diamondWorkspace()
        try ws.build(["task:d"])
        try ws.run(["clean"])
        let hex = try ProcessRunner.shell("printf 'hello\\n' | sha256sum | cut -d' ' -f1").stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try FileManager.default.removeItem(atPath: "\(ws.cacheDirectory)/cas/\(hex.prefix(2))/\(hex)")
        let (status, build) = try expectAgreement(ws)
        #expect(status.contains("stale    task:a: restore failed (blob sha256:\(hex) missing from the local cache); building\n"), "\(status)")
        #expect(status.contains("cached   task:c: outputs missing; restorable from the local cache\n"), "\(status)")
        #expect(status.hasSuffix("4 targets: 0 fresh, 1 restorable, 3 stale\n"), "\(status)")
        #expect(build.statuses["task:a"] == "built")
    }

    @Test func aSecretIsNeverShownAsAnOldOrNewValue() throws {
        func mlfile(_ word: String) -> String {
            """
            task s
                outputs = out/s.txt
                run = echo "${secret:TOKEN} \(word)" > /dev/null; echo \(word) > out/s.txt
            """
        }
        let ws = try MLBuildWorkspace(mlfile: mlfile("one"))
        let environment: [String: String?] = ["TOKEN": "hunter2-value"]
        #expect(try ws.build([], environment: environment).result.status == 0)
        try ws.write("Mlfile", mlfile("two"))
        let (status, build) = try expectAgreement(ws, environment: environment)
        #expect(status.contains("stale    task:s: parameter run changed\n"), "\(status)")
        for text in [status, build.result.output, build.eventsText] {
            #expect(!text.contains("hunter2"), "\(text)")
            #expect(!text.contains("TOKEN"), "no secret's name either: \(text)")
            #expect(!text.contains("echo one"), "\(text)")
        }
        // Nor is the value kept in the state file.
        let state = try Data(contentsOf: URL(fileURLWithPath: "\(ws.path)/.mlbuild/state"))
        #expect(state.range(of: Data("TOKEN".utf8)) == nil)
        #expect(state.range(of: Data("hunter2".utf8)) == nil)
    }

    /// The case of issue 11: a container's `derived.revision` (git) is read when its key is
    /// computed, after its dependency was restored in a build, before in `status`. The output
    /// is tracked by git, so restoring it turns the revision from `-dirty` to clean: the build
    /// sees the revision and the dependency changed, `status` only the dependency. Both name
    /// the dependency (it used to be "parameter derived.revision changed" in the build).
    @Test func aDerivedParameterThatARestoreChangesReadsTheSame() throws {
        let ws = try MLBuildWorkspace(mlfile: """
            task gen
                inputs = src/in.txt
                outputs = out/gen.txt
                run = cp src/in.txt out/gen.txt

            container img: task:gen
            """)
        let env: [String: String?] = ["GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"]
        func git(_ command: String) throws {
            let result = try ProcessRunner.shell(command, in: ws.path, environment: env)
            try #require(result.status == 0, "\(result.output)")
        }
        try ws.write(".gitignore", "build/\ncache/\n.mlbuild/\nsrc/\n.events-*\n")
        try ws.write("src/in.txt", "one\n")
        try git("git init -q && git add -A && git commit -q -m mlfile")
        #expect(try ws.build([]).result.status == 0)
        try git("git add out/gen.txt && git commit -q -m output")
        try ws.write("src/in.txt", "two\n")
        // out/gen.txt now differs from the commit: the revision is -dirty.
        #expect(try ws.build([]).statuses == ["task:gen": "built", "container:img": "built"])
        try ws.write("src/in.txt", "one\n")
        let (status, build) = try expectAgreement(ws)
        #expect(status == """
            cached   task:gen: input src/in.txt changed; restorable from the local cache
            stale    container:img: dependency task:gen produced new output
            2 targets: 0 fresh, 1 restorable, 1 stale

            """, "\(status)")
        #expect(!build.result.stderr.contains("derived.revision"), "\(build.result.stderr)")
    }

    @Test func dryRunAndStatusSayTheSameOfEveryTarget() throws {
        let ws = try Fixtures.diamondWorkspace()
        try ws.build(["task:d"])
        try ws.write("src/a.txt", "HELLO\n")
        let status = try ws.run(["status"]).stdout
        let dry = try ws.run(["-n"]).stdout
        #expect(Self.statusReasons(status).values.sorted() == Self.statusReasons(dry.replacingOccurrences(of: "build    ", with: "stale    ")
            .replacingOccurrences(of: "restore  ", with: "cached   ")).values.sorted(), "\(status)\n\(dry)")
    }
}
