import Foundation
import MLBuildTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// An image unpacked by umoci: its rootfs and the process its runtime config describes.
struct UnpackedImage {
    var rootfs: String
    var args: [String]
    var env: [String]
    var cwd: String
    var uid: Int
    var gid: Int

    /// skopeo copies the archive to an image layout, umoci unpacks it into DIR/bundle.
    static func unpack(_ archive: String, into directory: String) throws -> UnpackedImage {
        let skopeo = try #require(ContainerFixtures.tool("skopeo"))
        let umoci = try #require(ContainerFixtures.tool("umoci"))
        let copy = try ProcessRunner.run(skopeo, ["copy", "--insecure-policy", "oci-archive:" + archive, "oci:\(directory)/layout:image"])
        try #require(copy.status == 0, "skopeo copy: \(copy.output)")
        let unpack = try ProcessRunner.run(umoci, ["unpack", "--image", "\(directory)/layout:image", "\(directory)/bundle"])
        try #require(unpack.status == 0, "umoci unpack: \(unpack.output)")
        let config = try ContainerFixtures.json(try String(contentsOfFile: "\(directory)/bundle/config.json", encoding: .utf8))
        let process = try #require(config["process"] as? [String: Any], "config.json has no process")
        let user = try #require(process["user"] as? [String: Any])
        return UnpackedImage(
            rootfs: "\(directory)/bundle/rootfs", args: try #require(process["args"] as? [String]),
            env: process["env"] as? [String] ?? [], cwd: process["cwd"] as? String ?? "/",
            uid: try #require(user["uid"] as? Int), gid: try #require(user["gid"] as? Int))
    }
}

/// The image's entrypoint started from its unpacked rootfs as the runtime config says: root
/// directory, working directory, uid/gid, environment (nothing else) and arguments. `unshare
/// --root --wd` is chroot(2) plus chdir(2) (chroot(1) cannot set the working directory). Of the
/// config's mounts only the one the server needs: a new procfs at the image's /proc, in a new
/// PID namespace (so it shows the server alone, as PID 1, as in a container): libdispatch reads
/// /proc/TID/stat and traps without it (see ContainerRuntime.mountPoints). Nothing from the host
/// is mounted: the rootfs holds every file the server reads.
final class ChrootedServer: @unchecked Sendable {  // used from one test at a time
    let process = Process()
    let stderrPath: String
    static let port = 8080

    init(_ image: UnpackedImage, logDirectory: String) throws {
        let unshare = try #require(ProcessRunner.which("unshare"), "unshare is not installed (apt-get install -y util-linux)")
        try Self.requirePortFree()
        stderrPath = "\(logDirectory)/server-stderr"
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: unshare)
        process.arguments = ["--pid", "--fork", "--mount-proc=/proc", "--root=\(image.rootfs)", "--wd=\(image.cwd)",
                             "--setgid", String(image.gid), "--setuid", String(image.uid), "--"] + image.args
        var environment: [String: String] = [:]
        for entry in image.env {
            guard let equals = entry.firstIndex(of: "=") else { continue }
            environment[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
        }
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        try process.run()
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// The image listens on 8080 as its config says: a test cannot choose another port.
    static func requirePortFree() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr = in_addr(s_addr: INADDR_ANY)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(bound == 0, "port \(port) is taken (\(String(cString: strerror(errno)))): the image serves on \(port), as its config says; stop what listens there and run the test again")
    }

    /// `curl` status and body.
    func request(_ method: String, _ path: String, contentType: String? = nil, bodyFile: String? = nil) throws -> (status: Int, body: String) {
        var arguments = ["-sS", "-X", method, "-w", "\n%{http_code}", "http://127.0.0.1:\(Self.port)\(path)"]
        if let contentType { arguments += ["-H", "Content-Type: \(contentType)"] }
        if let bodyFile { arguments += ["--data-binary", "@\(bodyFile)"] }
        let result = try ProcessRunner.run("/usr/bin/curl", arguments)
        guard let newline = result.stdout.lastIndex(of: "\n"), let status = Int(result.stdout[result.stdout.index(after: newline)...]) else {
            return (0, result.output)
        }
        return (status, String(result.stdout[..<newline]))
    }

    /// Polls /readyz until 200; false when the process exits or 60 s pass.
    func waitUntilReady() throws -> Bool {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            guard process.isRunning else { return false }
            if try request("GET", "/readyz").status == 200 { return true }
            usleep(50_000)
        }
        return false
    }

    /// SIGTERM to the server (unshare's child, PID 1 of its namespace); unshare exits with the
    /// server's status.
    func stop() -> Int32 {
        let unshare = process.processIdentifier
        let children = (try? String(contentsOfFile: "/proc/\(unshare)/task/\(unshare)/children", encoding: .utf8)) ?? ""
        let servers = children.split(separator: " ").compactMap { pid_t(String($0)) }
        #expect(servers.count == 1, "unshare's children: '\(children)'")
        for server in servers { kill(server, SIGTERM) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        guard process.isRunning else { return }
        let unshare = process.processIdentifier
        let children = (try? String(contentsOfFile: "/proc/\(unshare)/task/\(unshare)/children", encoding: .utf8)) ?? ""
        for server in children.split(separator: " ").compactMap({ pid_t(String($0)) }) { kill(server, SIGKILL) }
        kill(unshare, SIGKILL)
    }
}

/// `runtime = serve`: the image runs its model with no base and no container engine.
@Suite("container runtime = serve", .serialized)
struct ContainerRuntimeTests {
    static func lines(_ output: String, starting prefix: String) -> [String] {
        output.split(separator: "\n").map(String.init).filter { $0.hasPrefix(prefix) }
    }

    /// "layer runtime sha256:… N bytes: ORIGIN" → (digest, origin).
    static func runtimeLayer(_ output: String) -> (digest: String, origin: String)? {
        guard let line = lines(output, starting: "layer runtime ").first else { return nil }
        let words = line.split(separator: " ")
        guard words.count >= 5, let colon = line.range(of: "bytes: ") else { return nil }
        return (String(words[2]), String(line[colon.upperBound...]))
    }

    /// Starts the unpacked image's entrypoint, scores `rows` over HTTP, compares with
    /// `mlbuild predict MODEL --input rows` in `ws`, stops it with SIGTERM.
    static func serveAndCompare(_ image: UnpackedImage, ws: MLBuildWorkspace, model: String, name: String, rows: String) throws {
        let server = try ChrootedServer(image, logDirectory: ws.path)
        let ready = try server.waitUntilReady()
        try #require(ready, "the image's server did not become ready: \(server.stderr)")
        #expect(try server.request("GET", "/healthz").status == 200)
        let predicted = try ws.run(["predict", model, "--input", rows])
        try #require(predicted.status == 0, "\(predicted.output)")
        // Served under the model's own name (its lineage), not the directory's (/model/).
        let models = try server.request("GET", "/v1/models")
        #expect(models.status == 200 && models.body.contains("\"name\": \"\(name)\""), "\(models.body)")
        let answer = try server.request("POST", "/v1/models/\(name)/predict", contentType: "text/csv", bodyFile: "\(ws.path)/\(rows)")
        #expect(answer.status == 200, "\(answer.body)")
        #expect(answer.body == predicted.stdout, "the image's answer is byte-identical to predict")
        #expect(server.stop() == 0, "SIGTERM stops the server with exit 0: \(server.stderr)")
    }

    @Test(.timeLimit(.minutes(10))) func anImageWithTheServeRuntimeRunsFromItsRootfs() throws {
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfile() + """

            container api: model:lr
                runtime = serve
                user = 65534:65534
            """)
        let first = try ws.build(["container:api"])
        try #require(first.result.status == 0, "\(first.result.output)")
        let layer = try #require(Self.runtimeLayer(first.result.output), "\(first.result.output)")
        #expect(layer.origin == "compressed")

        let archive = "\(ws.path)/build/container/api/image.tar"
        let manifest = try ContainerFixtures.manifest(archive)
        let annotations = try #require(manifest["annotations"] as? [String: String])
        #expect(annotations["dev.mlbuild.healthcheck"] == "GET http://127.0.0.1:8080/readyz")
        #expect(annotations["dev.mlbuild.runtime"] == "serve")
        #expect(annotations["dev.mlbuild.runtime.digest"]?.hasPrefix("sha256:") == true)
        // Runtime first, then the model.
        #expect(ContainerFixtures.layerDigests(manifest).first == layer.digest)
        #expect(ContainerFixtures.layerDigests(manifest).count == 2)

        let image = try UnpackedImage.unpack(archive, into: ws.path)
        // The server pins the packed model.json's digest: the image carries its own check.
        let sum = try ProcessRunner.run("/usr/bin/sha256sum", ["\(ws.path)/build/model/lr/model.json"])
        let modelDigest = "sha256:" + (sum.stdout.split(separator: " ").first.map(String.init) ?? "")
        #expect(image.args == ["/usr/local/bin/mlbuild", "serve", "/model/model.json", "--host", "0.0.0.0", "--port", "8080",
                               "--expect-digest", modelDigest])
        #expect(image.uid == 65534 && image.gid == 65534)
        // The executable is this mlbuild, byte for byte; every file is a regular file.
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(image.rootfs)/usr/local/bin/mlbuild"))
            == Data(contentsOf: URL(fileURLWithPath: MLBuildBinary.path)))
        let listing = try ProcessRunner.run("/usr/bin/find", [image.rootfs, "-not", "-type", "f", "-not", "-type", "d"])
        #expect(listing.stdout.isEmpty, "only files and directories: \(listing.stdout)")

        try ws.write("rows.csv", MLFixtures.csv(rows: 40, start: 1000))
        try Self.serveAndCompare(image, ws: ws, model: "model:lr", name: "lr", rows: "rows.csv")

        // A new model: the runtime layer is reused from the cache, same digest; the image changes.
        try ws.write("data/rows.csv", MLFixtures.csv(rows: 420))
        let second = try ws.build(["container:api"])
        try #require(second.result.status == 0, "\(second.result.output)")
        #expect(second.statuses["model:lr"] == "built")
        let reused = try #require(Self.runtimeLayer(second.result.output), "\(second.result.output)")
        #expect(reused.digest == layer.digest)
        #expect(reused.origin == "reused from the cache")
        #expect(second.keys["container:api"] != first.keys["container:api"])

        // Nothing changed: fresh, and the key (with derived.runtime) is the same.
        let third = try ws.build(["container:api"])
        #expect(third.statuses["container:api"] == "fresh", "\(third.result.output)")
        #expect(third.keys["container:api"] == second.keys["container:api"])
    }

    @Test(.timeLimit(.minutes(15))) func theExampleContainerServesTheChurnModel() throws {
        let ws = try ContainerExampleTests.exampleWorkspace()
        let run = try ws.build(["container:churn"])
        try #require(run.result.status == 0, "\(run.result.output)")
        let image = try UnpackedImage.unpack("\(ws.path)/build/container/churn/image.tar", into: ws.path)
        #expect(image.cwd == "/model")
        #expect(image.env.contains("MODEL_DIR=/model"))
        #expect(image.args.first == "/usr/local/bin/mlbuild")
        // 50 rows of the example's data, as predict reads them (the label column is ignored).
        let data = try ws.read("data/churn.csv").split(separator: "\n", omittingEmptySubsequences: false)
        try ws.write("rows.csv", data.prefix(51).joined(separator: "\n") + "\n")
        try Self.serveAndCompare(image, ws: ws, model: "model:churn", name: "churn", rows: "rows.csv")
    }

    /// Another mlbuild executable (here: the same one with a byte appended, which the loader
    /// ignores) is another runtime: the key changes through derived.runtime and the layer is
    /// packed again.
    @Test(.timeLimit(.minutes(10))) func anotherMlbuildBuildRepacksTheRuntimeLayer() throws {
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfile() + """

            container api: model:lr
                runtime = serve
            """)
        let first = try ws.build(["container:api"])
        try #require(first.result.status == 0, "\(first.result.output)")
        let layer = try #require(Self.runtimeLayer(first.result.output))

        let other = "\(ws.path)/other/mlbuild"
        try FileManager.default.createDirectory(atPath: "\(ws.path)/other", withIntermediateDirectories: true)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: MLBuildBinary.path))
        bytes.append(0x0a)
        try bytes.write(to: URL(fileURLWithPath: other))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: other)
        let second = try ProcessRunner.run(other, ["container:api", "--explain"], in: ws.path,
                                           environment: ["CI": "true", "MLBUILD_CACHE_DIR": ws.cacheDirectory])
        try #require(second.status == 0, "\(second.output)")
        #expect(second.output.contains("parameter derived.runtime changed"), "\(second.output)")
        let repacked = try #require(Self.runtimeLayer(second.output), "\(second.output)")
        #expect(repacked.origin == "compressed")
        #expect(repacked.digest != layer.digest)
        let image = try UnpackedImage.unpack("\(ws.path)/build/container/api/image.tar", into: ws.path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(image.rootfs)/usr/local/bin/mlbuild")) == bytes)
    }

    /// The runtime layer goes on top of a base image's layers, below the packed model.
    @Test(.timeLimit(.minutes(10))) func theRuntimeLayerGoesAboveABase() throws {
        let baseWorkspace = try MLBuildWorkspace(mlfile: "container base\n    files = motd:/etc/motd\n")
        try baseWorkspace.write("motd", "hello\n")
        try #require(try baseWorkspace.build(["container:base"]).result.status == 0)
        let baseManifest = try ContainerFixtures.manifest("\(baseWorkspace.path)/build/container/base/image.tar")

        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfile() + """

            container api: model:lr
                base = images/base.tar
                runtime = serve
            """)
        try FileManager.default.createDirectory(atPath: "\(ws.path)/images", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "\(baseWorkspace.path)/build/container/base/image.tar", toPath: "\(ws.path)/images/base.tar")
        let run = try ws.build(["container:api"])
        try #require(run.result.status == 0, "\(run.result.output)")
        let runtime = try #require(Self.runtimeLayer(run.result.output))
        let layers = ContainerFixtures.layerDigests(try ContainerFixtures.manifest("\(ws.path)/build/container/api/image.tar"))
        #expect(layers.count == 3)
        #expect(Array(layers.prefix(1)) == ContainerFixtures.layerDigests(baseManifest))
        #expect(layers.dropFirst().first == runtime.digest)
        let image = try UnpackedImage.unpack("\(ws.path)/build/container/api/image.tar", into: ws.path)
        #expect(try String(contentsOfFile: "\(image.rootfs)/etc/motd", encoding: .utf8) == "hello\n")
        #expect(FileManager.default.isExecutableFile(atPath: "\(image.rootfs)/usr/local/bin/mlbuild"))
    }

    @Test func anUnknownRuntimeAndAServeRuntimeWithoutAModelAreMlfileErrors() throws {
        let ws = try MLBuildWorkspace(mlfile: """
            task data
                outputs = out.txt
                run = echo hi > out.txt

            container a: task:data
                runtime = lambda

            container b: task:data
                runtime = serve
            """)
        let run = try ws.run(["container:a"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("Mlfile:6:15: error: unknown runtime 'lambda' (the runtime is: serve)"), "\(run.stderr)")
        #expect(run.stderr.contains("Mlfile:9:15: error: runtime = serve needs a model to serve: give container:b a model:NAME dependency"), "\(run.stderr)")
    }

    /// The user's entrypoint and cmd win over the defaults; 8080/tcp is not added twice.
    @Test func theTargetsEntrypointCmdAndPortsWin() throws {
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfile() + """

            container api: model:lr
                runtime = serve
                entrypoint = /usr/local/bin/mlbuild, serve, /model/model.json, --port, 9000
                cmd = --host, 0.0.0.0
                exposed_ports = 8080, 9000
            """)
        let run = try ws.build(["container:api"])
        try #require(run.result.status == 0, "\(run.result.output)")
        let skopeo = try #require(ContainerFixtures.tool("skopeo"))
        let inspect = try ProcessRunner.run(skopeo, ["inspect", "--config", "oci-archive:\(ws.path)/build/container/api/image.tar"])
        let config = try #require(try ContainerFixtures.json(inspect.stdout)["config"] as? [String: Any])
        #expect(config["Entrypoint"] as? [String] == ["/usr/local/bin/mlbuild", "serve", "/model/model.json", "--port", "9000"])
        #expect(config["Cmd"] as? [String] == ["--host", "0.0.0.0"])
        #expect((config["ExposedPorts"] as? [String: Any]).map { Set($0.keys) } == ["8080/tcp", "9000/tcp"])
    }
}
