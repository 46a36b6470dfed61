import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway Debian `docker-registry` (distribution 2.8, `apt-get install -y docker-registry`)
/// on a free loopback port, plain HTTP, storage and log in a private temp dir removed by `stop()`
/// (also on deinit). With `htpasswd`, it requires HTTP basic auth (the password file is made
/// with `htpasswd -B` from apache2-utils). `requests()` reads its access log back.
public final class DockerRegistryServer: @unchecked Sendable {
    public typealias Failure = TestServerFailure

    /// One access-log line: `"METHOD PATH HTTP/1.1" STATUS`.
    public struct Request: Sendable, Equatable, CustomStringConvertible {
        public var method: String
        public var path: String
        public var status: Int
        public var description: String { "\(method) \(path) \(status)" }
    }

    public let port: Int
    public let directory: URL
    /// `127.0.0.1:PORT`, as a registry reference names it.
    public var host: String { "127.0.0.1:\(port)" }

    /// Guards `process`.
    private let lock = NSLock()
    private var process: Process?

    public init(htpasswd: (user: String, password: String)? = nil) throws {
        guard let binary = ["/usr/bin/docker-registry", "/usr/local/bin/docker-registry"]
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else {
            throw Failure.notInstalled("docker-registry is not installed (apt-get install -y docker-registry; scripts/install-deps --tests)")
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("mlbuild-registry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var auth = ""
        if let htpasswd {
            guard let tool = ["/usr/bin/htpasswd", "/usr/local/bin/htpasswd"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
                try? FileManager.default.removeItem(at: directory)
                throw Failure.notInstalled("htpasswd is not installed (apt-get install -y apache2-utils; scripts/install-deps --tests)")
            }
            let file = directory.appendingPathComponent("htpasswd")
            let made = try ProcessRunner.run(tool, ["-B", "-b", "-c", file.path, htpasswd.user, htpasswd.password])
            guard made.status == 0 else {
                try? FileManager.default.removeItem(at: directory)
                throw Failure.startFailed("htpasswd failed: \(made.stderr)")
            }
            auth = """
                auth:
                  htpasswd:
                    realm: mlbuild-test
                    path: \(file.path)
                """
        }
        var lastError = "unknown"
        for _ in 0..<5 {
            let candidate = try NginxServer.freePort()
            let config = """
                version: 0.1
                log:
                  level: info
                  accesslog:
                    disabled: false
                storage:
                  filesystem:
                    rootdirectory: \(directory.appendingPathComponent("storage").path)
                  delete:
                    enabled: true
                http:
                  addr: 127.0.0.1:\(candidate)
                  secret: mlbuild-test-secret
                \(auth)
                """
            let configURL = directory.appendingPathComponent("config.yml")
            try config.write(to: configURL, atomically: true, encoding: .utf8)
            let started = try ServerProcess.launch(executable: binary, arguments: ["serve", configURL.path], directory: directory, logName: "registry.log")
            let deadline = Date().addingTimeInterval(15)
            var up = false
            while Date() < deadline, started.isRunning {
                if NginxServer.canConnect(port: candidate) { up = true; break }
                usleep(20_000)
            }
            if up {
                port = candidate
                process = started
                return
            }
            ServerProcess.terminate(started)
            lastError = (try? String(contentsOf: directory.appendingPathComponent("registry.log"), encoding: .utf8)) ?? "no log"
            if !lastError.contains("address already in use") { break }
        }
        try? FileManager.default.removeItem(at: directory)
        throw Failure.startFailed("docker-registry did not start: \(lastError)")
    }

    deinit { stop() }

    /// Everything the registry wrote (its log and access log).
    public func log() -> String {
        (try? String(contentsOf: directory.appendingPathComponent("registry.log"), encoding: .utf8)) ?? ""
    }

    /// The requests served so far, in order.
    public func requests() -> [Request] {
        log().split(separator: "\n").compactMap { line -> Request? in
            guard let open = line.firstIndex(of: "\"") else { return nil }
            let rest = line[line.index(after: open)...]
            guard let close = rest.firstIndex(of: "\"") else { return nil }
            let fields = rest[..<close].split(separator: " ")
            let after = rest[rest.index(after: close)...].split(separator: " ")
            guard fields.count == 3, fields[2].hasPrefix("HTTP/"), let status = after.first.flatMap({ Int($0) }) else { return nil }
            return Request(method: String(fields[0]), path: String(fields[1]), status: status)
        }
    }

    /// Requests that start or carry a blob upload (POST/PATCH/PUT under `/blobs/uploads/`).
    public func blobUploadRequests() -> [Request] {
        requests().filter { $0.path.contains("/blobs/uploads/") && $0.method != "GET" && $0.method != "HEAD" }
    }

    public func stop() {
        lock.lock()
        let running = process
        process = nil
        lock.unlock()
        if let running, running.isRunning { ServerProcess.terminate(running) }
        try? FileManager.default.removeItem(at: directory)
    }
}
