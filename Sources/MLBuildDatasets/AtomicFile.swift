import Foundation

/// Atomic file writes: a temp file in the destination's directory, then rename(2) over the
/// destination, so a reader never sees a half-written artifact.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        let dir = url.deletingLastPathComponent()
        let temp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(UUID().uuidString)")
        do {
            try data.write(to: temp)
            if rename(temp.path, url.path) != 0 {
                let code = errno
                throw DatasetError.io(path: url.path, message: "rename failed: \(String(cString: strerror(code)))")
            }
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw error
        }
    }
}
