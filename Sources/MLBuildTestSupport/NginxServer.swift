import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A throwaway nginx (Debian's `apt-get install -y nginx`) serving an HTTP cache on a free
/// loopback port: GET/HEAD from `<tmp>/data`, WebDAV PUT into it — the protocol of
/// bazel-remote and Bazel's `--remote_cache=http://…`, so tests talk to a real server.
///
/// Everything nginx writes (pid, logs, body temp files, data) stays in a private temp dir,
/// removed by `stop()` (also called on deinit). The access log has one line per request:
/// `METHOD URI STATUS` (format `mlbuild`), read back with `requests()`.
public final class NginxServer: @unchecked Sendable {
    public typealias Failure = TestServerFailure

    /// One line of the access log.
    public struct Request: Sendable, Equatable, CustomStringConvertible {
        public var method: String
        public var path: String
        public var status: Int
        public var description: String { "\(method) \(path) \(status)" }
    }

    public let port: Int
    public let directory: URL
    public var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }
    public var dataDirectory: URL { directory.appendingPathComponent("data") }

    /// Guards `process` (stop/kill may race with deinit).
    private let lock = NSLock()
    private var process: Process?

    /// Starts nginx. With `requiredHeader`, every request lacking exactly that header value
    /// gets 401 (the way a team cache checks a bearer token). With `acceptsUploads: false`
    /// WebDAV is off and PUT answers 405 (a read-only mirror).
    public init(requiredHeader: (name: String, value: String)? = nil, acceptsUploads: Bool = true) throws {
        guard let binary = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else {
            throw Failure.notInstalled("nginx not found in /usr/sbin; install it with `apt-get install -y nginx`")
        }
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("mlbuild-nginx-\(UUID().uuidString)")
        var lastError = "unknown"
        // A port picked by bind(0) can be taken again before nginx binds it: retry a few times.
        for _ in 0..<5 {
            let candidate = try Self.freePort()
            do {
                let started = try Self.launch(binary: binary, directory: directory, port: candidate,
                                              requiredHeader: requiredHeader, acceptsUploads: acceptsUploads)
                port = candidate
                process = started
                return
            } catch Failure.startFailed(let message) {
                lastError = message
                try? FileManager.default.removeItem(at: directory)
                if !message.contains("Address already in use") { break }
            }
        }
        throw Failure.startFailed(lastError)
    }

    deinit { stop() }

    /// Where the server keeps `ns/hex` (tests corrupt or delete it to simulate a bad server).
    public func blobPath(_ namespace: String, _ hex: String) -> URL {
        dataDirectory.appendingPathComponent(namespace).appendingPathComponent(hex)
    }

    /// All requests served so far, in order.
    public func requests() -> [Request] {
        let log = directory.appendingPathComponent("access.log")
        guard let text = try? String(contentsOf: log, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count == 3, let status = Int(fields[2]) else { return nil }
            return Request(method: String(fields[0]), path: String(fields[1]), status: status)
        }
    }

    public func requests(method: String) -> [Request] { requests().filter { $0.method == method } }

    /// SIGKILL without cleanup of the data directory: a server dying mid-build.
    public func kill() {
        lock.lock()
        let running = process
        process = nil
        lock.unlock()
        guard let running, running.isRunning else { return }
        Glibc.kill(running.processIdentifier, SIGKILL)
        running.waitUntilExit()
    }

    /// Stops nginx and removes its directory.
    public func stop() {
        kill()
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: - Launch

    private static func launch(binary: String, directory: URL, port: Int,
                               requiredHeader: (name: String, value: String)?, acceptsUploads: Bool) throws -> Process {
        let fileManager = FileManager.default
        for sub in ["data", "tmp"] {
            try fileManager.createDirectory(at: directory.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        let root = directory.path
        var authCheck = ""
        if let requiredHeader {
            let variable = "$http_" + requiredHeader.name.lowercased().replacingOccurrences(of: "-", with: "_")
            let escaped = requiredHeader.value.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "\"", with: "\\\"")
            authCheck = "if (\(variable) != \"\(escaped)\") { return 401; }"
        }
        // Workers run as root when we are root: nginx would otherwise drop to `nobody`, which
        // cannot write the data directory (403/500 on PUT).
        let userLine = getuid() == 0 ? "user root;" : ""
        let config = """
            daemon off;
            master_process off;
            worker_processes 1;
            \(userLine)
            pid \(root)/nginx.pid;
            error_log \(root)/error.log warn;
            events { worker_connections 256; }
            http {
                log_format mlbuild '$request_method $uri $status';
                access_log \(root)/access.log mlbuild;
                client_body_temp_path \(root)/tmp/client_body;
                proxy_temp_path \(root)/tmp/proxy;
                fastcgi_temp_path \(root)/tmp/fastcgi;
                uwsgi_temp_path \(root)/tmp/uwsgi;
                scgi_temp_path \(root)/tmp/scgi;
                sendfile on;
                keepalive_requests 10000;
                server {
                    listen 127.0.0.1:\(port);
                    location / {
                        \(authCheck)
                        root \(root)/data;
                        \(acceptsUploads ? "dav_methods PUT;" : "")
                        create_full_put_path on;
                        dav_access user:rw group:r all:r;
                        client_max_body_size 0;
                    }
                }
            }
            """
        let configURL = directory.appendingPathComponent("nginx.conf")
        try config.write(to: configURL, atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        // -e: the error log used before the config is read (else /var/log/nginx/error.log).
        process.arguments = ["-p", root, "-c", configURL.path, "-e", "\(root)/error.log"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()

        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if !process.isRunning {
                let log = (try? String(contentsOf: directory.appendingPathComponent("error.log"), encoding: .utf8)) ?? ""
                throw Failure.startFailed("nginx exited with status \(process.terminationStatus): \(log)")
            }
            if canConnect(port: port) { return process }
            usleep(10_000)
        }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        throw Failure.startFailed("nginx did not accept connections on 127.0.0.1:\(port) within 10 s")
    }

    /// A port that was free a moment ago (bind to port 0, read it back, close).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure.startFailed("socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = loopbackAddress(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw Failure.startFailed("bind() failed: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopbackAddress(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    static func loopbackAddress(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
        return address
    }
}
