import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Starting and stopping the real servers the tests run (mlflow, buildbox-casd): output to a log
/// file in the server's own directory, stopped by PID.
enum ServerProcess {
    /// Starts `executable ARGUMENTS` in `directory`, stdout and stderr to `directory/logName`.
    static func launch(executable: String, arguments: [String], environment: [String: String]? = nil, directory: URL,
                       logName: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.currentDirectoryURL = directory
        let log = directory.appendingPathComponent(logName)
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? handle.close()
        return process
    }

    /// SIGTERM, then SIGKILL after 2 s, to the process's group when it leads one of its own
    /// (a server's workers go with it; never the test runner's group), else to the process alone;
    /// then waits for it.
    static func terminate(_ process: Process) {
        let pid = process.processIdentifier
        let group = getpgid(pid)
        let target = group == pid && group != getpgrp() ? -group : pid
        _ = kill(target, SIGTERM)
        let start = Date()
        while process.isRunning, Date().timeIntervalSince(start) < 2 { usleep(50_000) }
        _ = kill(target, SIGKILL)
        if process.isRunning { process.waitUntilExit() }
    }
}
