import Foundation
import MLBuildTestSupport
import Testing

/// Remote cache credentials through the binary: the header from `--remote-header-file` or
/// `MLBUILD_REMOTE_HEADER_FILE` reaches the server on every request, and neither its value nor
/// a password in the cache URL ever appears in what mlbuild prints or records.
@Suite("remote cache credentials")
struct RemoteCredentialsTests {
    static let token = "tok3n-from-file-4711"

    /// Everything a build leaves for people to read: its output and its events.
    static func shown(_ run: BuildRun) -> String { run.result.output + run.eventsText }

    @Test(arguments: ["option", "environment"])
    func theHeaderFileReachesTheServerAndIsNeverShown(via: String) throws {
        let server = try HostileCacheServer()
        defer { server.stop() }
        let ws = try Fixtures.diamondWorkspace()
        // A CI secret mounted as a file: blank lines and a trailing newline around the header.
        try ws.write("secrets/cache-header", "\n  \nX-Cache-Token: \(Self.token)\n")
        var arguments = ["task:d", "--remote-cache", server.baseURL.absoluteString]
        // MLBUILD_REMOTE_HEADER is set too: a header file wins over it.
        var environment: [String: String?] = ["MLBUILD_REMOTE_HEADER": "X-Cache-Token: from-the-variable"]
        if via == "option" {
            arguments += ["--remote-header-file", "secrets/cache-header"]
        } else {
            environment["MLBUILD_REMOTE_HEADER_FILE"] = "\(ws.path)/secrets/cache-header"
        }
        let run = try ws.build(arguments, environment: environment)
        #expect(run.result.status == 0, "\(run.result.output)")
        #expect(run.targets("built").count == 4)
        let requests = server.requests
        #expect(requests.filter { $0.method == "PUT" }.count == 8, "4 blobs and 4 action results went up")
        #expect(!requests.isEmpty && requests.allSatisfy { $0.headers["x-cache-token"] == Self.token },
                "\(requests.map { "\($0.method) \($0.path) \($0.headers["x-cache-token"] ?? "-")" })")
        #expect(!Self.shown(run).contains(Self.token))

        // Rejected credentials: one warning, which names the server but not the header's value.
        server.answerEverything(with: .status(401))
        try ws.run(["clean"])
        try ws.directory.remove("cache")
        let rejected = try ws.build(arguments, environment: environment)
        #expect(rejected.result.status == 0, "\(rejected.result.output)")
        #expect(rejected.result.stderr.contains(
            "warning: remote cache \(server.baseURL.absoluteString) rejected the credentials (HTTP 401); continuing with the local cache"),
            "\(rejected.result.stderr)")
        #expect(!Self.shown(rejected).contains(Self.token))
        #expect(!Self.shown(rejected).contains("from-the-variable"))
    }

    @Test func aBadHeaderFileIsAnErrorNamingTheFileButNotItsText() throws {
        let ws = try Fixtures.diamondWorkspace()
        let url = "http://127.0.0.1:1"
        try ws.write("header-without-colon", "Bearer \(Self.token)\n")
        let malformed = try ws.run(["task:a", "--remote-cache", url, "--remote-header-file", "header-without-colon"])
        #expect(malformed.status == 2)
        #expect(malformed.stderr == "error: remote cache: \(ws.path)/header-without-colon: remote cache header: expected 'Name: value' "
                + "(no ':' found)\n", "\(malformed.stderr)")
        let missing = try ws.run(["task:a", "--remote-cache", url], environment: ["MLBUILD_REMOTE_HEADER_FILE": "no-such-file"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("no-such-file"), "\(missing.stderr)")
        #expect(missing.stderr.contains("cannot read the header file"), "\(missing.stderr)")
        for run in [malformed, missing] { #expect(!run.output.contains(Self.token)) }
        #expect(!ws.exists("out"), "nothing was built")
    }

    @Test func aPasswordInTheCacheURLIsNotShownInWarnings() throws {
        let ws = try Fixtures.diamondWorkspace()
        // Nothing listens on port 1: one warning about the server, the build goes on locally.
        let dead = try ws.build(["task:d", "--remote-cache", "http://ci-user:pa55-s3cret@127.0.0.1:1/team/"])
        #expect(dead.result.status == 0, "\(dead.result.output)")
        #expect(dead.targets("built").count == 4)
        #expect(dead.result.stderr.components(separatedBy: "warning: remote cache").count - 1 == 1, "\(dead.result.stderr)")
        #expect(dead.result.stderr.contains("http://127.0.0.1:1/team"), "the warning names the server: \(dead.result.stderr)")
        #expect(!Self.shown(dead).contains("pa55-s3cret"))
        #expect(!Self.shown(dead).contains("ci-user"))

        // A server that answers, with errors: the warnings quote request URLs, never the password.
        let server = try HostileCacheServer()
        defer { server.stop() }
        for answer in [HostileCacheServer.Answer.status(500), .status(401), .redirect(toBase: "http://localhost:1")] {
            server.answerEverything(with: answer)
            try ws.run(["clean"])
            try? ws.directory.remove("cache")
            let base = "http://ci-user:pa55-s3cret@127.0.0.1:\(server.port)"
            let run = try ws.build(["task:d", "--remote-cache", base])
            #expect(run.result.status == 0, "\(answer): \(run.result.output)")
            #expect(run.result.stderr.contains("warning: remote cache"), "\(answer): \(run.result.stderr)")
            #expect(!Self.shown(run).contains("pa55-s3cret"), "\(answer): \(Self.shown(run))")
        }
    }
}
