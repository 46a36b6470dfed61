import Foundation
import MLBuildTestSupport
import Testing

@Suite("failures, Mlfile errors and exit codes")
struct FailureAndErrorTests {
    static let failing = """
    task ok
        outputs = ok.txt
        run = echo ok > ok.txt

    task bad
        outputs = bad.txt
        run = echo partial > bad.txt; echo "boom on stderr" >&2; exit 3

    task after_bad: task:bad
        outputs = after.txt
        run = cat bad.txt > after.txt

    task lazy
        outputs = never.txt
        run = true
    """

    @Test func aFailingTaskLeavesNothingFreshAndSkipsItsDependents() throws {
        let ws = try MLBuildWorkspace(mlfile: Self.failing)
        let run = try ws.build(["task:after_bad", "-j", "1"])
        #expect(run.result.status == 1)
        #expect(run.statuses["task:bad"] == "failed")
        #expect(run.statuses["task:after_bad"] == "skipped")
        #expect(run.result.stderr.contains("boom on stderr"))
        #expect(run.result.stderr.contains("command exited with status 3"))
        #expect(!ws.exists("bad.txt"), "a failed target's outputs are removed")
        let again = try ws.build(["task:bad"])
        #expect(again.statuses["task:bad"] == "failed", "a failed target is never fresh")
        let summary = try #require(again.summary)
        #expect(summary["failed"] as? Int == 1)
    }

    @Test func keepGoingBuildsWhatDoesNotDependOnTheFailure() throws {
        let ws = try MLBuildWorkspace(mlfile: Self.failing)
        let stopped = try ws.build(["task:after_bad", "task:ok", "-j", "1"])
        #expect(stopped.result.status == 1)
        #expect(stopped.statuses["task:ok"] == "skipped", "without -k the build stops at the first failure")
        let run = try ws.build(["task:bad", "task:after_bad", "task:ok", "-k", "-j", "1"])
        #expect(run.result.status == 1)
        #expect(run.statuses["task:ok"] == "built" || run.statuses["task:ok"] == "fresh")
        #expect(run.statuses["task:after_bad"] == "skipped")
        #expect(try ws.read("ok.txt") == "ok\n")
    }

    @Test func aMissingDeclaredOutputFailsTheTarget() throws {
        let ws = try MLBuildWorkspace(mlfile: Self.failing)
        let run = try ws.build(["task:lazy"])
        #expect(run.result.status == 1)
        #expect(run.result.stderr.contains("task:lazy did not produce its output 'never.txt'"))
    }

    @Test func unknownKeyIsReportedWithLineColumnCaretAndSuggestion() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task a
            outptus = a.txt
            run = touch a.txt
        """)
        let run = try ws.run(["task:a"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("Mlfile:2:5: error: unknown key 'outptus' for task targets (did you mean 'outputs'?)"))
        #expect(run.stderr.contains("    outptus = a.txt\n        ^"))
        #expect(!ws.exists("a.txt"))
    }

    @Test func aCycleIsReportedWithItsFullPath() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task a: task:c
            run = true
        task b: task:a
            run = true
        task c: task:b
            run = true
        """)
        let run = try ws.run(["task:a"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("error: dependency cycle: task:a -> task:c -> task:b -> task:a"), "\(run.stderr)")
        #expect(run.stderr.contains("Mlfile:3:9:"), "points at the edge that closes the cycle")
    }

    @Test func severalErrorsAreReportedAtOnce() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task a: task:missing
            run = true
        task a
            run = true
        tsk b
            run = true
        task c
            outputs = c.txt
        task d
            run = echo ${undefined_var}
        """)
        let run = try ws.run([])
        #expect(run.status == 2)
        #expect(run.stderr.contains("Mlfile:3:6: error: duplicate target 'task:a'"))
        #expect(run.stderr.contains("Mlfile:5:1: error: unknown target kind 'tsk' (did you mean 'task'?)"))
        #expect(run.stderr.contains("error: task:c is missing the required key 'run'"))
        #expect(run.stderr.contains("Mlfile:10:16: error: unknown variable 'undefined_var'"))
    }

    @Test func unknownDependencyGetsASuggestion() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task fetch
            run = true
        task clean: task:fetc
            run = true
        """)
        let run = try ws.run([])
        #expect(run.status == 2)
        #expect(run.stderr.contains("Mlfile:3:13: error: unknown target 'task:fetc' (did you mean 'task:fetch'?)"))
    }

    @Test func syntaxErrorsPointAtTheSpot() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task a: nocolon
            run = "unterminated
        task b
            just words here
        """)
        let run = try ws.run([])
        #expect(run.status == 2)
        #expect(run.stderr.contains("Mlfile:1:9: error: dependency 'nocolon' is not of the form KIND:NAME"))
        #expect(run.stderr.contains("Mlfile:4:10: error: expected 'key = value' in a target body"))
    }

    @Test func exitCodesForCommandLineMistakes() throws {
        let ws = try Fixtures.diamondWorkspace()
        #expect(try ws.run(["task:nope"]).status == 2)
        #expect(try ws.run(["--no-such-flag"]).status == 2)
        #expect(try ws.run(["-f", "Missing.mlfile"]).status == 2)
        let help = try ws.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("USAGE"))
    }

    @Test func aSecretOutsideRunAndEnvIsAnMlfileErrorAtItsValue() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task leak
            outputs = ${secret:API_TOKEN}.txt
            description = token ${secret:API_TOKEN}
            run = echo > API_TOKEN.txt
        container img: task:leak
            entrypoint = ${secret:API_TOKEN}
        """)
        let run = try ws.run([], environment: ["API_TOKEN": "s3cret-value"])
        #expect(run.status == 2)
        let message = "cannot hold a secret: ${secret:…} is allowed only in a task's 'run' and 'env', "
            + "where its value reaches the command at run time and nothing else, and in a dataset's 'pseudonymize_key'"
        #expect(run.stderr.contains("Mlfile:2:15: error: 'outputs' \(message)"), "\(run.stderr)")
        #expect(run.stderr.contains("Mlfile:3:19: error: 'description' \(message)"), "\(run.stderr)")
        #expect(run.stderr.contains("Mlfile:6:18: error: 'entrypoint' \(message)"), "\(run.stderr)")
        #expect(!ws.exists("API_TOKEN.txt"), "nothing ran")
        #expect(!run.output.contains("s3cret-value"))
    }

    @Test func secretsNeverReachKeysEventsOrOutput() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task call
            outputs = called.txt
            env = TOKEN=${secret:API_TOKEN}
            run = test -n "$$TOKEN" && echo "token is $$TOKEN and ${secret:API_TOKEN}" && echo done > called.txt
        """)
        let first = try ws.build(["--explain"], environment: ["API_TOKEN": "s3cr3t-value"])
        #expect(first.result.status == 0, "\(first.result.output)")
        #expect(!first.result.output.contains("s3cr3t-value"))
        #expect(first.result.stderr.contains("token is *** and ***"))
        #expect(!first.eventsText.contains("s3cr3t-value"))
        let rotated = try ws.build([], environment: ["API_TOKEN": "another-secret"])
        #expect(rotated.targets("fresh") == ["task:call"], "a secret's value is not part of the key")
        #expect(!rotated.result.output.contains("another-secret") && !rotated.eventsText.contains("another-secret"))

        // Everything the builds left on disk, while it still holds their entries: the cache (the
        // action result and the blob of called.txt), .mlbuild/ (state, stat cache, no-op
        // manifest) and the output. The positive check shows the search does find what is there.
        let written = ["cache", ".mlbuild", "called.txt"]
        for path in written { #expect(ws.exists(path), "\(path) was written") }
        let grep = try #require(ProcessRunner.which("grep"))
        let found = try ProcessRunner.run(grep, ["-r", "-l", "-a", "-e", "done", "--"] + written, in: ws.path)
        #expect(found.stdout.contains("cache/cas/"), "the output's blob is in the cache: \(found.output)")
        for secret in ["s3cr3t-value", "another-secret"] {
            let leaked = try ProcessRunner.run(grep, ["-r", "-l", "-a", "-F", "-e", secret, "--"] + written, in: ws.path)
            #expect(leaked.status == 1 && leaked.stdout.isEmpty, "\(secret) was written to \(leaked.output)")
        }

        try ws.run(["clean"])
        try ProcessRunner.shell("rm -rf cache", in: ws.path)
        let missing = try ws.build([], environment: ["API_TOKEN": nil])
        #expect(missing.result.status == 1)
        #expect(missing.result.stderr.contains("secret 'API_TOKEN' is not set in the environment"))
    }

    @Test func eventsHaveTheDocumentedShape() throws {
        let ws = try Fixtures.diamondWorkspace()
        let run = try ws.build(["task:d"])
        let first = try #require(run.events.first)
        #expect(first["type"] as? String == "target")
        #expect((first["key"] as? String)?.count == 64)
        #expect(first["seconds"] is Double || first["seconds"] is Int)
        let summary = try #require(run.summary)
        #expect(summary["built"] as? Int == 4)
        #expect(summary["restored"] as? Int == 0)
        #expect(summary["fresh"] as? Int == 0)
        #expect(summary["failed"] as? Int == 0)
        #expect(summary["skipped"] as? Int == 0)
        let line = try #require(run.eventsText.split(separator: "\n").first)
        #expect(line.hasPrefix("{\"type\":\"target\",\"target\":\"task:"))
    }
}
