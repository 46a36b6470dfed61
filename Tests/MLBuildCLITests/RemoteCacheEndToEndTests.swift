import Foundation
import MLBuildTestSupport
import Testing

/// The remote cache through the real binary and a real nginx (WebDAV PUT) on loopback.
@Suite("remote cache end to end", .serialized)
struct RemoteCacheEndToEndTests {
    /// Two checkouts with separate local caches.
    func twoRunners() throws -> (MLBuildWorkspace, MLBuildWorkspace) {
        (try Fixtures.diamondWorkspace(), try Fixtures.diamondWorkspace())
    }

    @Test func aSecondRunnerRestoresEverythingFromTheServerWithoutRunningAnything() throws {
        let server = try NginxServer()
        defer { server.stop() }
        let (a, b) = try twoRunners()
        let first = try a.build(["task:d", "--remote-cache", server.baseURL.absoluteString])
        #expect(first.result.status == 0, "\(first.result.output)")
        #expect(first.targets("built").count == 4)
        let uploaded = try #require(first.summary?["bytes_up"] as? Int)
        #expect(uploaded > 0)
        #expect(server.requests(method: "PUT").count == 8, "4 blobs + 4 action results")

        let second = try b.build(["task:d", "--remote-cache", server.baseURL.absoluteString])
        #expect(second.result.status == 0, "\(second.result.output)")
        #expect(second.targets("restored") == ["task:a", "task:b", "task:c", "task:d"])
        #expect(second.targets("built").isEmpty)
        #expect(second.events.filter { $0["from"] as? String == "remote" }.count == 4)
        #expect((second.summary?["bytes_down"] as? Int ?? 0) > 0)
        #expect(second.keys == first.keys)
        #expect(try b.read("out/d.txt") == a.read("out/d.txt"))
        #expect(second.result.stderr.contains("(from remote cache)"))
    }

    @Test func readOnlyModeUploadsNothing() throws {
        let server = try NginxServer()
        defer { server.stop() }
        let ws = try Fixtures.diamondWorkspace()
        let run = try ws.build(["task:d", "--remote-cache", server.baseURL.absoluteString, "--remote-upload=false"])
        #expect(run.result.status == 0)
        #expect(server.requests(method: "PUT").isEmpty)
        let viaEnvironment = try Fixtures.diamondWorkspace()
        try viaEnvironment.build(["task:d"], environment: ["MLBUILD_REMOTE_CACHE": server.baseURL.absoluteString, "MLBUILD_REMOTE_UPLOAD": "false"])
        #expect(server.requests(method: "PUT").isEmpty)
        #expect(!server.requests(method: "GET").isEmpty, "read-only still reads")
    }

    @Test func aBlobCorruptedOnTheServerIsCaughtAndTheTargetBuiltLocally() throws {
        let server = try NginxServer()
        defer { server.stop() }
        let (a, b) = try twoRunners()
        let first = try a.build(["task:c", "--remote-cache", server.baseURL.absoluteString])
        #expect(first.result.status == 0)
        // Find the blob holding "world\n" and flip its content on the server.
        let digest = try ProcessRunner.shell("printf 'world\\n' | sha256sum | cut -d' ' -f1").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let path = server.blobPath("cas", digest).path
        #expect(FileManager.default.fileExists(atPath: path))
        try Data("WORLD\n".utf8).write(to: URL(fileURLWithPath: path))
        let second = try b.build(["task:c", "--remote-cache", server.baseURL.absoluteString])
        #expect(second.result.status == 0, "\(second.result.output)")
        #expect(second.targets("built") == ["task:c"])
        #expect(try b.read("out/c.txt") == "world\n")
        #expect(second.result.stderr.contains(digest))
    }

    @Test func anUnreachableServerGivesOneWarningAndACorrectBuild() throws {
        let ws = try Fixtures.diamondWorkspace()
        // Port 1 (tcpmux): nothing listens there on a build machine, so connections are refused.
        let port = 1
        let started = Date()
        let run = try ws.build(["task:d", "--remote-cache", "http://127.0.0.1:\(port)"])
        #expect(run.result.status == 0, "\(run.result.output)")
        #expect(run.targets("built").count == 4)
        #expect(run.result.stderr.components(separatedBy: "warning: remote cache").count - 1 == 1, "\(run.result.stderr)")
        #expect(Date().timeIntervalSince(started) < 25)  // a hang detector: far below the 30 s request timeout
        #expect(try ws.read("out/d.txt") == "HELLO\nworld\n")
    }

    @Test(.timeLimit(.minutes(2)))
    func aServerKilledMidBuildLeavesTheBuildCorrect() throws {
        let server = try NginxServer()
        defer { server.stop() }
        // task:two says when it runs (two.started) and waits for go (at most 60 s, so a broken
        // test fails instead of hanging): the server dies at exactly that point, after task:one
        // was uploaded and before anything of task:two or task:three was.
        let ws = try MLBuildWorkspace(mlfile: """
        task one
            outputs = one.txt
            run = echo one > one.txt
        task two: task:one
            outputs = two.txt
            run = touch two.started; i=0; while [ ! -e go ] && [ $$i -lt 6000 ]; do sleep 0.01; i=$$((i + 1)); done;
                  cat one.txt one.txt > two.txt
        task three: task:two
            outputs = three.txt
            run = cat two.txt > three.txt
        """)
        let killer = Thread {
            for _ in 0..<6000 where !ws.exists("two.started") { Thread.sleep(forTimeInterval: 0.01) }
            server.kill()  // SIGKILL, and returns once nginx is gone (its port closed with it)
            try? ws.write("go", "")
        }
        killer.start()
        let run = try ws.build(["--remote-cache", server.baseURL.absoluteString])
        #expect(ws.exists("two.started") && ws.exists("go"), "the server was killed while task:two ran")
        #expect(run.result.status == 0, "\(run.result.output)")
        #expect(run.targets("built") == ["task:one", "task:three", "task:two"])
        #expect(try ws.read("three.txt") == "one\none\n")
        // Before the kill: task:one's lookup and upload (its blob and action result); after it,
        // nothing reached the server, and the first failed request gave the one warning.
        let puts = server.requests(method: "PUT").map(\.path)
        #expect(puts.count == 2 && puts.allSatisfy { $0.hasPrefix("/cas/") || $0.hasPrefix("/ac/") }, "\(server.requests())")
        #expect(puts.contains("/ac/\(run.keys["task:one"] ?? "-")"), "\(puts)")
        #expect(run.result.stderr.components(separatedBy: "warning: remote cache").count - 1 == 1, "\(run.result.stderr)")
    }

    @Test func aWrongAuthHeaderWarnsWithoutShowingItsValue() throws {
        let server = try NginxServer(requiredHeader: ("Authorization", "Bearer right-token"))
        defer { server.stop() }
        let ws = try Fixtures.diamondWorkspace()
        let secret = "Bearer wrong-token-value-123"
        let run = try ws.build(["task:d", "--remote-cache", server.baseURL.absoluteString],
                               environment: ["MLBUILD_REMOTE_HEADER": "Authorization: \(secret)"])
        #expect(run.result.status == 0)
        #expect(run.result.stderr.contains("warning: remote cache"))
        #expect(!run.result.output.contains("wrong-token-value-123"))
        #expect(!run.eventsText.contains("wrong-token-value-123"))
        let good = try Fixtures.diamondWorkspace()
        let authorized = try good.build(["task:d", "--remote-cache", server.baseURL.absoluteString],
                                        environment: ["MLBUILD_REMOTE_HEADER": "Authorization: Bearer right-token"])
        #expect(authorized.result.status == 0)
        #expect(!authorized.result.stderr.contains("warning"), "\(authorized.result.stderr)")
        #expect(server.requests(method: "PUT").count == 8)
    }

    @Test func serverErrorsAndTruncatedBodiesFallBackToLocalBuilds() throws {
        let server = try NginxServer()
        defer { server.stop() }
        let (a, b) = try twoRunners()
        try a.build(["task:d", "--remote-cache", server.baseURL.absoluteString])
        for mode in [FaultProxy.Mode.respond500, .truncate(afterBytes: 10)] {
            let proxy = try FaultProxy(upstreamPort: server.port, mode: mode, lifetime: 30)
            defer { proxy.stop() }
            try? FileManager.default.removeItem(atPath: "\(b.path)/out")
            try? FileManager.default.removeItem(atPath: "\(b.path)/.mlbuild")
            try? FileManager.default.removeItem(atPath: b.cacheDirectory)
            let run = try b.build(["task:d", "--remote-cache", proxy.baseURL.absoluteString])
            #expect(run.result.status == 0, "\(mode): \(run.result.output)")
            #expect(try b.read("out/d.txt") == "HELLO\nworld\n")
            #expect(run.targets("built").count == 4, "\(mode): nothing usable came from the sick server")
            #expect(run.result.stderr.components(separatedBy: "warning: remote cache").count - 1 == 1, "\(mode): \(run.result.stderr)")
        }
    }
}
