import Foundation

/// A directory under the system temp dir, removed when the value goes away.
public final class TemporaryDirectory: @unchecked Sendable {  // immutable after init
    public let path: String

    public init(prefix: String = "mlbuild-test") throws {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(base)/\(prefix).XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else {
            throw CocoaError(.fileWriteUnknown)
        }
        path = String(cString: created)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    public func url(_ relative: String = "") -> URL {
        URL(fileURLWithPath: relative.isEmpty ? path : "\(path)/\(relative)")
    }

    /// Writes `content` to `relative`, creating directories.
    public func write(_ relative: String, _ content: String) throws {
        try write(relative, Data(content.utf8))
    }

    public func write(_ relative: String, _ data: Data) throws {
        let url = url(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
    }

    public func read(_ relative: String) throws -> String {
        try String(contentsOfFile: "\(path)/\(relative)", encoding: .utf8)
    }

    public func data(_ relative: String) throws -> Data {
        try Data(contentsOf: url(relative))
    }

    public func exists(_ relative: String) -> Bool {
        FileManager.default.fileExists(atPath: "\(path)/\(relative)")
    }

    public func remove(_ relative: String) throws {
        try FileManager.default.removeItem(atPath: "\(path)/\(relative)")
    }
}
