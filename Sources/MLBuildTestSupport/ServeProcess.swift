import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real `mlbuild serve` process (any arguments; tests pass `--port 0`), its standard error in
/// a file, its port read from the `mlbuild serve: listening on http://HOST:PORT` line. Stop it
/// with `stop()` (SIGTERM, then the exit status); a test that forgets is covered by `deinit`.
public final class ServeProcess: @unchecked Sendable {  // driven from one test at a time
    public let process = Process()
    public let stderrPath: String
    public private(set) var port = 0
    /// `http://127.0.0.1:PORT`, once listening.
    public private(set) var base = ""

    /// Starts `mlbuild serve ARGUMENTS` in `directory` (a workspace).
    public init(in directory: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        stderrPath = "\(directory)/.serve-stderr-\(UInt64.random(in: 0 ... .max))"
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: MLBuildBinary.path)
        process.arguments = ["serve"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        try process.run()
    }

    public convenience init(_ workspace: MLBuildWorkspace, _ arguments: [String]) throws {
        try self.init(in: workspace.path, arguments)
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: stderrPath)
    }

    public var pid: Int32 { process.processIdentifier }
    public var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// The JSON lines of standard error (the log), parsed; the plain lines are left out.
    public var logLines: [[String: Any]] {
        stderr.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("{") else { return nil }
            return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    /// Waits for the listening line and returns the port (nil if the process exits or
    /// `timeout` seconds pass first).
    @discardableResult
    public func waitUntilListening(timeout: Double = 60) -> Int? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let text = stderr
            if let range = text.range(of: "listening on http://") {
                let rest = text[range.upperBound...]
                if let end = rest.firstIndex(of: "\n"), let colon = rest[..<end].lastIndex(of: ":"),
                   let port = Int(rest[rest.index(after: colon) ..< end]) {
                    self.port = port
                    base = "http://127.0.0.1:\(port)"
                    return port
                }
            }
            if !process.isRunning { return nil }
            usleep(20_000)
        }
        return nil
    }

    /// Waits until a log line satisfies `match` (nil after `timeout` seconds).
    public func waitForLog(timeout: Double = 30, _ match: ([String: Any]) -> Bool) -> [String: Any]? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let line = logLines.first(where: match) { return line }
            usleep(50_000)
        }
        return nil
    }

    public func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// One request on a new connection.
    public func request(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []) throws -> HTTPConnection.Response {
        try HTTPConnection(port: port).request(method, path, headers: headers, body: body)
    }

    /// Waits for the process to end by itself: its exit status, or nil after `timeout` seconds.
    public func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { return nil }
        return process.terminationStatus
    }

    /// SIGTERM, then the exit status (SIGKILL after 30 s, reported as nil).
    public func stop() -> Int32? {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        if let status = waitForExit(timeout: 30) { return status }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return nil
    }
}
