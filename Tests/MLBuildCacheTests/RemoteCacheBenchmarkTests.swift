import Foundation
import MLBuildCache
import MLBuildTestSupport
import Testing

/// Loopback throughput against nginx; opt-in (`MLBUILD_REMOTE_BENCH=1 swift test -c release
/// --filter RemoteCacheBenchmarkTests`) since it moves ~1 GB. Prints MB/s (10^6 bytes/s),
/// best of 3 runs per size and direction.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MLBUILD_REMOTE_BENCH"] == "1"))
struct RemoteCacheBenchmarkTests {
    @Test func loopbackThroughput() async throws {
        let directory = try RemoteTestDirectory()
        let server = try NginxServer()
        defer { server.stop() }
        let cache = RemoteCache(configuration: RemoteCacheConfiguration(baseURL: server.baseURL))
        for megabytes in [1, 16, 256] {
            let size = megabytes * 1_048_576
            var upload = 0.0
            var download = 0.0
            for run in 0..<3 {
                let blob = try directory.writeBlob("blob", size: size, seed: UInt64(megabytes * 10 + run))
                var started = Date()
                try await cache.upload(.cas, blob.hex, from: blob.url)
                upload = max(upload, Double(size) / 1e6 / Date().timeIntervalSince(started))
                let destination = directory.file("down")
                started = Date()
                #expect(try await cache.download(.cas, blob.hex, to: destination))
                download = max(download, Double(size) / 1e6 / Date().timeIntervalSince(started))
                try FileManager.default.removeItem(at: destination)
                try FileManager.default.removeItem(at: server.blobPath("cas", blob.hex))
            }
            print("remote-cache bench \(megabytes) MB: upload \(Int(upload)) MB/s, download \(Int(download)) MB/s")
        }
        #expect(cache.transferStatistics.errors == 0)
    }
}
