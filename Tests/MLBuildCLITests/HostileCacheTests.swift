import Foundation
import MLBuildTestSupport
import Testing

/// A remote cache that lies (`HostileCacheServer`) against the real binary. Each attack: a
/// reference workspace builds and uploads the genuine results (so the keys and blobs are real),
/// the server's answer for a key is then replaced by a crafted one, and a fresh victim workspace
/// (a git checkout, its local cache outside it) builds against the server. Every time: the build
/// succeeds by building locally, nothing outside the declared outputs changed (the whole tree is
/// hashed before and after, `.git` included), the crafted entry is not in the local cache, and
/// the next build is `fresh` with the right bytes.
@Suite("a hostile remote cache cannot reach the workspace")
struct HostileCacheTests {
    static let mlfile = """
    task gen
        inputs = src/in.txt
        outputs = out/gen.txt
        run = tr a-z A-Z < src/in.txt > out/gen.txt

    task tree
        inputs = src/in.txt
        outputs = out/tree
        run = mkdir -p out/tree/sub && cp src/in.txt out/tree/a.txt && cp src/in.txt out/tree/sub/b.txt
    """

    static let declared: Set<String> = ["out/gen.txt", "out/tree"]
    static let hook = Data("#!/bin/sh\necho pwned > /tmp/pwned\n".utf8)

    /// The server, the genuine results, and a victim workspace that has not built yet.
    final class Scene: @unchecked Sendable {  // immutable after init
        let server: HostileCacheServer
        let victim: MLBuildWorkspace
        let victimCache: TemporaryDirectory
        /// target → action key.
        let keys: [String: String]
        /// target → the genuine action result's output entries.
        let genuine: [String: [[String: Any]]]

        init() throws {
            server = try HostileCacheServer()
            let reference = try MLBuildWorkspace(mlfile: HostileCacheTests.mlfile)
            try reference.write("src/in.txt", "hello\n")
            let first = try reference.build(["--remote-cache", server.baseURL.absoluteString])
            #expect(first.result.status == 0, "\(first.result.output)")
            keys = first.keys
            var genuine: [String: [[String: Any]]] = [:]
            for (target, key) in first.keys {
                let data = try #require(server.stored("/ac/\(key)"), "the reference build uploaded \(target)")
                let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
                genuine[target] = try #require(document["outputs"] as? [[String: Any]])
            }
            self.genuine = genuine
            victimCache = try TemporaryDirectory(prefix: "mlbuild-victim-cache")
            victim = try MLBuildWorkspace(mlfile: HostileCacheTests.mlfile, cacheDirectory: victimCache.path)
            try victim.write("src/in.txt", "hello\n")
            // A bystander next to the outputs: restoring an output must not touch its siblings.
            try victim.write("out/keep.txt", "keep me\n")
            let git = try ProcessRunner.shell("git init -q . && git config user.email t@example.com && git config user.name t",
                                              in: victim.path)
            if git.status != 0 { try victim.write(".git/hooks/README", "no git here\n") }
        }

        var url: String { server.baseURL.absoluteString }

        /// The victim's tree outside its declared outputs and its state directory.
        func snapshot() throws -> [String: String] {
            try TreeSnapshot.take(victim.path, excluding: HostileCacheTests.declared.union([".mlbuild"]))
        }

        /// Replaces the server's action result for `target` with `outputs` (format 1, which
        /// mlbuild before format 2 accepted too).
        func poison(_ target: String, outputs: [[String: Any]], format: Int = 1) throws {
            let key = try #require(keys[target])
            let document: [String: Any] = ["format": format, "outputs": outputs]
            server.put("/ac/\(key)", try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes]))
        }

        /// A file entry for `data`, whose blob the server then serves (so that every blob the
        /// entry names verifies: only the path is wrong).
        func entry(_ path: String, _ data: Data, executable: Bool = false) -> [String: Any] {
            let digest = server.putBlob(data)
            return ["path": path, "digest": digest, "size": data.count, "executable": executable]
        }

        /// The local action cache entry of `target`, decoded.
        func localEntryPaths(_ target: String) throws -> [String] {
            let key = try #require(keys[target])
            let path = "\(victimCache.path)/ac/\(key.prefix(2))/\(key)"
            guard let data = FileManager.default.contents(atPath: path) else { return [] }
            let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            return (document["outputs"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }.sorted()
        }

        /// Builds the victim against the server and checks everything the attack must not change.
        @discardableResult
        func buildLocallyAndCheck(_ attacked: [String], arguments: [String] = [], environment: [String: String?] = [:],
                                  warnings: Int? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> BuildRun {
            let before = try snapshot()
            let run = try victim.build(["--remote-cache", url] + arguments, environment: environment)
            #expect(run.result.status == 0, "\(run.result.output)", sourceLocation: sourceLocation)
            for target in attacked {
                #expect(run.statuses[target] == "built", "\(target): \(run.result.output)", sourceLocation: sourceLocation)
            }
            if let warnings {
                let lines = run.result.stderr.split(separator: "\n").filter { $0.hasPrefix("warning:") }
                #expect(lines.count == warnings, "\(run.result.stderr)", sourceLocation: sourceLocation)
            }
            #expect(TreeSnapshot.differences(before, try snapshot()) == [], sourceLocation: sourceLocation)
            try checkOutputs(attacked, sourceLocation: sourceLocation)
            for target in attacked {
                let paths = try localEntryPaths(target)
                let expected = (genuine[target] ?? []).compactMap { $0["path"] as? String }.sorted()
                #expect(paths == expected, "\(target): the crafted entry must never reach the local cache", sourceLocation: sourceLocation)
            }
            let again = try victim.build(["--remote-cache", url] + arguments, environment: environment)
            #expect(again.result.status == 0, sourceLocation: sourceLocation)
            for target in attacked { #expect(again.statuses[target] == "fresh", sourceLocation: sourceLocation) }
            #expect(TreeSnapshot.differences(before, try snapshot()) == [], sourceLocation: sourceLocation)
            try checkOutputs(attacked, sourceLocation: sourceLocation)
            return run
        }

        func checkOutputs(_ attacked: [String], sourceLocation: SourceLocation) throws {
            if attacked.contains("task:gen") {
                #expect(try victim.read("out/gen.txt") == "HELLO\n", sourceLocation: sourceLocation)
            }
            if attacked.contains("task:tree") {
                #expect(try victim.read("out/tree/a.txt") == "hello\n", sourceLocation: sourceLocation)
                #expect(try victim.read("out/tree/sub/b.txt") == "hello\n", sourceLocation: sourceLocation)
            }
            #expect(!victim.exists(".git/hooks/pre-commit"), sourceLocation: sourceLocation)
            #expect(try victim.read("Mlfile") == HostileCacheTests.mlfile, sourceLocation: sourceLocation)
            #expect(try victim.read("out/keep.txt") == "keep me\n", sourceLocation: sourceLocation)
        }
    }

    /// Crafted action results, each served for both targets.
    enum Poison: String, CaseIterable, CustomTestStringConvertible {
        case undeclaredPaths, workspaceRoot, dotSlash, dotComponent, trailingDot, doubleSlash, parentComponent
        case emptyOutputs, fileWithChildren, duplicatePath, sizeTooLarge, sizeTooSmall, escapingSymlink

        var testDescription: String { rawValue }

        func outputs(_ genuine: [[String: Any]], in scene: Scene) -> (outputs: [[String: Any]], format: Int) {
            func renamed(_ rename: (String) -> String) -> [[String: Any]] {
                genuine.map { entry in
                    var entry = entry
                    entry["path"] = rename(entry["path"] as? String ?? "")
                    return entry
                }
            }
            switch self {
            case .undeclaredPaths:
                return (genuine + [scene.entry(".git/hooks/pre-commit", HostileCacheTests.hook, executable: true),
                                   scene.entry("Mlfile", Data("task pwned\n    outputs = x\n    run = true\n".utf8))], 1)
            case .workspaceRoot:
                return ([scene.entry(".", HostileCacheTests.hook)], 1)
            case .dotSlash:
                return (renamed { "./" + $0 }, 1)
            case .dotComponent:
                return (renamed { $0.replacingOccurrences(of: "out/", with: "out/./") }, 1)
            case .trailingDot:
                return (genuine + [scene.entry("out/tree/.", HostileCacheTests.hook), scene.entry("out/gen.txt/.", HostileCacheTests.hook)], 1)
            case .doubleSlash:
                return (renamed { $0.replacingOccurrences(of: "out/", with: "out//") }, 1)
            case .parentComponent:
                return (renamed { $0.replacingOccurrences(of: "out/", with: "out/../out/") }, 1)
            case .emptyOutputs:
                return ([], 1)
            case .fileWithChildren:
                return (genuine + [scene.entry("out/gen.txt/x", HostileCacheTests.hook), scene.entry("out/tree/a.txt/x", HostileCacheTests.hook)], 1)
            case .duplicatePath:
                let first = genuine.first?["path"] as? String ?? ""
                return (genuine + [scene.entry(first, HostileCacheTests.hook)], 1)
            case .sizeTooLarge, .sizeTooSmall:
                // Genuine blobs, lying sizes: the downloads must stop at (or miss) the stated size.
                return (genuine.map { entry in
                    var entry = entry
                    let size = entry["size"] as? Int ?? 0
                    entry["size"] = self == .sizeTooLarge ? size + 1 : max(0, size - 1)
                    return entry
                }, 1)
            case .escapingSymlink:
                let isTree = genuine.contains { ($0["path"] as? String)?.hasPrefix("out/tree/") == true }
                return (isTree ? genuine + [["path": "out/tree/l", "symlink": "../../.."]] : [["path": "out/gen.txt", "symlink": "../x/../../y"]], 2)
            }
        }
    }

    @Test(arguments: Poison.allCases)
    func aCraftedActionResultIsRefusedAndTheTargetBuiltLocally(_ poison: Poison) throws {
        let scene = try Scene()
        defer { scene.server.stop() }
        for target in ["task:gen", "task:tree"] {
            let (outputs, format) = poison.outputs(scene.genuine[target] ?? [], in: scene)
            try scene.poison(target, outputs: outputs, format: format)
        }
        let run = try scene.buildLocallyAndCheck(["task:gen", "task:tree"])
        #expect(run.targets("restored").isEmpty)
        let stderr = run.result.stderr
        switch poison {
        case .sizeTooLarge, .sizeTooSmall:
            #expect(stderr.contains("bytes where its action result declares") || stderr.contains("sent more than"), "\(stderr)")
        default:
            for target in ["task:gen", "task:tree"] {
                let key = try #require(scene.keys[target])
                #expect(stderr.contains("warning: remote cache entry ac/\(key)"), "\(stderr)")
            }
        }
    }

    @Test func theDeclaredOutputsRuleNamesWhatIsWrong() throws {
        let scene = try Scene()
        defer { scene.server.stop() }
        let (outputs, _) = Poison.undeclaredPaths.outputs(scene.genuine["task:gen"] ?? [], in: scene)
        try scene.poison("task:gen", outputs: outputs)
        let run = try scene.buildLocallyAndCheck(["task:gen"], arguments: ["task:gen"], warnings: 1)
        let key = try #require(scene.keys["task:gen"])
        #expect(run.result.stderr.contains(
            "warning: remote cache entry ac/\(key) does not match task:gen's declared outputs ('.git/hooks/pre-commit' is not a declared output); building locally"),
            "\(run.result.stderr)")
    }

    @Test func aRedirectIsNotFollowedAndTheHeaderNeverLeavesTheOrigin() throws {
        let scene = try Scene()
        defer { scene.server.stop() }
        let elsewhere = try HostileCacheServer()
        defer { elsewhere.stop() }
        // "localhost" is another host name than the origin's 127.0.0.1.
        scene.server.answerEverything(with: .redirect(toBase: "http://localhost:\(elsewhere.port)"))
        let secret = "s3cret-redirect-token-4711"
        let run = try scene.buildLocallyAndCheck(["task:gen", "task:tree"],
                                                 environment: ["MLBUILD_REMOTE_HEADER": "X-Cache-Token: \(secret)"], warnings: 1)
        #expect(run.result.stderr.contains("HTTP 302: redirects are not followed"), "\(run.result.stderr)")
        #expect(!run.result.output.contains(secret))
        #expect(elsewhere.requests.isEmpty, "\(elsewhere.requests.map { "\($0.method) \($0.path)" })")
        #expect(!elsewhere.requests.contains { $0.head.contains(secret) })
        #expect(elsewhere.requests(method: "PUT").isEmpty)
        // The origin got the header: the configured server is the one place it may go.
        #expect(scene.server.requests.contains { $0.headers["x-cache-token"] == secret })
    }

    @Test(.timeLimit(.minutes(2)))
    func aTricklingServerCannotHoldTheBuild() throws {
        let scene = try Scene()
        defer { scene.server.stop() }
        let key = try #require(scene.keys["task:gen"])
        // The genuine document, one byte every half second: complete and valid, but too late.
        let genuine = try #require(scene.server.stored("/ac/\(key)"))
        scene.server.answer("/ac/\(key)", with: .trickle(genuine, intervalMilliseconds: 500))
        let started = Date()
        let run = try scene.buildLocallyAndCheck(["task:gen"], arguments: ["task:gen", "--remote-timeout", "2"], warnings: 1)
        #expect(Date().timeIntervalSince(started) < 90)  // a hang detector: attempts of 2 s, not 2 bytes/s forever
        #expect(run.result.stderr.contains("timed out: no complete answer within 2 s, see --remote-timeout"), "\(run.result.stderr)")
        let fresh = try Fixtures.diamondWorkspace()
        let bad = try fresh.run(["task:a", "--remote-cache", scene.url, "--remote-timeout", "soon"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--remote-timeout must be a number of seconds between 0 and 86400, not 'soon'"), "\(bad.stderr)")
    }

    @Test(arguments: [false, true])
    func anOversizedActionResultIsCutAtOneMebibyte(announced: Bool) throws {
        let scene = try Scene()
        defer { scene.server.stop() }
        let key = try #require(scene.keys["task:gen"])
        let size: Int64 = 64 << 20
        scene.server.answer("/ac/\(key)", with: .stream(length: size, announced: announced))
        let run = try scene.buildLocallyAndCheck(["task:gen"], arguments: ["task:gen"], warnings: 1)
        #expect(run.result.stderr.contains("sent more than 1048576 bytes for ac/\(key); ignoring it"), "\(run.result.stderr)")
        let sent = scene.server.requests.filter { $0.path == "/ac/\(key)" && $0.method == "GET" }.map(\.answerBytesSent)
        #expect(!sent.isEmpty)
        // Socket buffers hold a few MiB; the client stopped long before the 64 MiB.
        #expect(sent.allSatisfy { $0 < 24 << 20 }, "\(sent)")
    }

    @Test(arguments: [false, true])
    func aBlobLongerThanDeclaredIsCutAtItsDeclaredSize(announced: Bool) throws {
        let scene = try Scene()
        defer { scene.server.stop() }
        let entry = try #require(scene.genuine["task:gen"]?.first)
        let digest = try #require(entry["digest"] as? String)
        scene.server.answer("/cas/\(digest)", with: .stream(length: 64 << 20, announced: announced))
        let run = try scene.buildLocallyAndCheck(["task:gen"], arguments: ["task:gen"], warnings: 1)
        #expect(run.result.stderr.contains("sent more than 6 bytes for cas/\(digest); ignoring it"), "\(run.result.stderr)")
        let sent = scene.server.requests.filter { $0.path == "/cas/\(digest)" && $0.method == "GET" }.map(\.answerBytesSent)
        #expect(!sent.isEmpty)
        #expect(sent.allSatisfy { $0 < 24 << 20 }, "\(sent)")
    }

    @Test func aMalformedHeaderIsRefusedWithoutEchoingIt() throws {
        let ws = try Fixtures.diamondWorkspace()
        for header in ["Bearer s3cret:tok3n", "s3cret-tok3n:", "Authorization Bearer s3cret-tok3n:x", "X-Key: s3cret-tok3n\u{1}"] {
            let run = try ws.run(["task:a", "--remote-cache", "http://127.0.0.1:1"], environment: ["MLBUILD_REMOTE_HEADER": header])
            #expect(run.status == 2, "\(header): \(run.output)")
            #expect(run.stderr.contains("remote cache header"), "\(run.stderr)")
            #expect(!run.output.contains("s3cret"), "\(run.output)")
            #expect(!run.output.contains("tok3n"), "\(run.output)")
        }
    }
}
