import Crypto
import Foundation
import MLBuildCache

/// Shared helpers of the Remote*Tests: a temp dir per test, deterministic blobs, a warning
/// recorder.
struct RemoteTestDirectory: ~Copyable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("mlbuild-remote-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    /// Writes a deterministic blob and returns its path and SHA-256.
    func writeBlob(_ name: String, size: Int, seed: UInt64) throws -> (url: URL, hex: String, data: Data) {
        let data = RemoteTestBlob.bytes(size: size, seed: seed)
        let url = file(name)
        try data.write(to: url)
        return (url, RemoteTestBlob.sha256Hex(data), data)
    }
}

enum RemoteTestBlob {
    /// SplitMix64 bytes: reproducible and incompressible.
    static func bytes(size: Int, seed: UInt64) -> Data {
        var state = seed
        var bytes = [UInt8](repeating: 0, count: size)
        var index = 0
        while index < size {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            for shift in stride(from: 0, to: 64, by: 8) where index < size {
                bytes[index] = UInt8(truncatingIfNeeded: z >> UInt64(shift))
                index += 1
            }
        }
        return Data(bytes)
    }

    static func sha256Hex(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}

/// Collects `onWarning` calls (lock: `lock`).
final class RemoteWarningRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [String] = []

    var warnings: [String] {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }

    var callback: @Sendable (String) -> Void {
        { [self] message in
            lock.lock()
            recorded.append(message)
            lock.unlock()
        }
    }
}
