import Foundation
import MLBuildCache
import MLBuildTestSupport
import Testing

/// `RemoteCache` against a real nginx speaking the bazel-remote HTTP protocol.
@Suite(.timeLimit(.minutes(1)))
struct RemoteCacheTests {
    private func makeCache(_ server: NginxServer, uploadEnabled: Bool = true, path: String = "") -> RemoteCache {
        let base = path.isEmpty ? server.baseURL : server.baseURL.appendingPathComponent(path)
        return RemoteCache(configuration: RemoteCacheConfiguration(
            baseURL: base, uploadEnabled: uploadEnabled, requestTimeout: 5, maxRetries: 0))
    }

    @Test func putThenGetReturnsTheSameBytes() async throws {
        let directory = try RemoteTestDirectory()
        let server = try NginxServer()
        defer { server.stop() }
        let cache = makeCache(server)
        let blob = try directory.writeBlob("blob", size: 300_000, seed: 1)

        try await cache.upload(.cas, blob.hex, from: blob.url)
        let destination = directory.file("down")
        #expect(try await cache.download(.cas, blob.hex, to: destination))

        #expect(try Data(contentsOf: destination) == blob.data)
        #expect(try Data(contentsOf: server.blobPath("cas", blob.hex)) == blob.data)
        #expect(server.requests().map(\.description) == [
            "HEAD /cas/\(blob.hex) 404", "PUT /cas/\(blob.hex) 201", "GET /cas/\(blob.hex) 200",
        ])
        var expected = RemoteTransferStatistics()
        expected.uploads = 1
        expected.bytesUp = 300_000
        expected.hits = 1
        expected.bytesDown = 300_000
        #expect(cache.transferStatistics == expected)
    }

    @Test func missingEntriesAreMisses() async throws {
        let directory = try RemoteTestDirectory()
        let server = try NginxServer()
        defer { server.stop() }
        let cache = makeCache(server)
        let hex = String(repeating: "ab", count: 32)
        let destination = directory.file("down")

        #expect(try await cache.download(.cas, hex, to: destination) == false)
        #expect(!FileManager.default.fileExists(atPath: destination.path))
        #expect(try await cache.fetchData(.ac, hex) == nil)
        #expect(try await cache.contains(.cas, hex) == false)
        #expect(cache.transferStatistics.misses == 3)
        #expect(cache.transferStatistics.hits == 0)
        #expect(server.requests().map(\.status) == [404, 404, 404])
    }

    @Test func headSkipsReuploadOfPresentBlob() async throws {
        let directory = try RemoteTestDirectory()
        let server = try NginxServer()
        defer { server.stop() }
        let cache = makeCache(server)
        let blob = try directory.writeBlob("blob", size: 4096, seed: 2)

        try await cache.upload(.cas, blob.hex, from: blob.url)
        try await cache.upload(.cas, blob.hex, from: blob.url)
        try await cache.upload(.cas, blob.hex, data: blob.data)

        #expect(server.requests(method: "PUT").count == 1)
        #expect(server.requests(method: "HEAD").map(\.status) == [404, 200, 200])
        #expect(cache.transferStatistics.uploads == 1)
        #expect(cache.transferStatistics.uploadsSkipped == 2)
        #expect(try await cache.contains(.cas, blob.hex))
    }

    @Test func actionResultsAreOverwrittenAndFetched() async throws {
        let server = try NginxServer()
        defer { server.stop() }
        let cache = makeCache(server)
        let key = String(repeating: "0f", count: 32)

        try await cache.upload(.ac, key, data: Data(#"{"outputs":[]}"#.utf8))
        try await cache.upload(.ac, key, data: Data(#"{"outputs":["a"]}"#.utf8))

        #expect(try await cache.fetchData(.ac, key) == Data(#"{"outputs":["a"]}"#.utf8))
        // No HEAD for action results: an entry may be replaced.
        #expect(server.requests().map(\.description) == [
            "PUT /ac/\(key) 201", "PUT /ac/\(key) 204", "GET /ac/\(key) 200",
        ])
    }

    @Test func blobCorruptedOnTheServerIsRejectedAndRemoved() async throws {
        let directory = try RemoteTestDirectory()
        let server = try NginxServer()
        defer { server.stop() }
        let cache = makeCache(server)
        let blob = try directory.writeBlob("blob", size: 100_000, seed: 3)
        try await cache.upload(.cas, blob.hex, from: blob.url)
        let corrupt = RemoteTestBlob.bytes(size: 100_000, seed: 4)
        try corrupt.write(to: server.blobPath("cas", blob.hex))
        let destination = directory.file("down")
        let url = "\(server.baseURL.absoluteString)/cas/\(blob.hex)"
        let mismatch = RemoteCacheError.digestMismatch(
            url: url, expected: blob.hex, actual: RemoteTestBlob.sha256Hex(corrupt))

        await #expect(throws: mismatch) { try await cache.download(.cas, blob.hex, to: destination) }
        #expect(!FileManager.default.fileExists(atPath: destination.path))
        await #expect(throws: mismatch) { try await cache.fetchData(.cas, blob.hex) }
        #expect(cache.transferStatistics.hits == 0)
        #expect(cache.transferStatistics.errors == 2)
    }

    @Test func readOnlyModeUploadsNothing() async throws {
        let directory = try RemoteTestDirectory()
        let server = try NginxServer()
        defer { server.stop() }
        let cache = makeCache(server, uploadEnabled: false)
        let blob = try directory.writeBlob("blob", size: 1000, seed: 5)

        try await cache.upload(.cas, blob.hex, from: blob.url)
        try await cache.upload(.ac, blob.hex, data: Data("{}".utf8))

        #expect(server.requests().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: server.blobPath("cas", blob.hex).path))
        #expect(cache.transferStatistics == RemoteTransferStatistics())
    }

    @Test func emptyBlobRoundTrips() async throws {
        let directory = try RemoteTestDirectory()
        let server = try NginxServer()
        defer { server.stop() }
        let cache = makeCache(server)
        let blob = try directory.writeBlob("empty", size: 0, seed: 0)
        #expect(blob.hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

        try await cache.upload(.cas, blob.hex, from: blob.url)
        let destination = directory.file("down")
        #expect(try await cache.download(.cas, blob.hex, to: destination))
        #expect(try Data(contentsOf: destination) == Data())
    }

    @Test func baseURLWithPathPrefix() async throws {
        let directory = try RemoteTestDirectory()
        let server = try NginxServer()
        defer { server.stop() }
        let cache = makeCache(server, path: "team/cache")
        let blob = try directory.writeBlob("blob", size: 10, seed: 6)

        try await cache.upload(.cas, blob.hex, from: blob.url)

        #expect(try Data(contentsOf: server.dataDirectory.appendingPathComponent("team/cache/cas/\(blob.hex)")) == blob.data)
        #expect(try await cache.fetchData(.cas, blob.hex) == blob.data)
    }

    @Test(arguments: ["", "ABCDEF", String(repeating: "A", count: 64), "../../etc/passwd", String(repeating: "g", count: 64)])
    func invalidKeysAreRejectedBeforeAnyRequest(key: String) async throws {
        let server = try NginxServer()
        defer { server.stop() }
        let cache = makeCache(server)

        await #expect(throws: RemoteCacheError.invalidKey(namespace: "cas", key: key)) {
            try await cache.contains(.cas, key)
        }
        #expect(server.requests().isEmpty)
    }

    @Test func manyConcurrentTransfersComplete() async throws {
        let directory = try RemoteTestDirectory()
        let server = try NginxServer()
        defer { server.stop() }
        let cache = RemoteCache(configuration: RemoteCacheConfiguration(
            baseURL: server.baseURL, requestTimeout: 5, maxConcurrentTransfers: 3))
        var blobs: [(url: URL, hex: String, data: Data)] = []
        for index in 0..<24 {
            blobs.append(try directory.writeBlob("blob\(index)", size: 50_000 + index * 1000, seed: UInt64(100 + index)))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for blob in blobs { group.addTask { try await cache.upload(.cas, blob.hex, from: blob.url) } }
            try await group.waitForAll()
        }
        let results = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for (index, blob) in blobs.enumerated() {
                let destination = directory.file("down\(index)")
                group.addTask { (index, try await cache.download(.cas, blob.hex, to: destination)) }
            }
            var all: [(Int, Bool)] = []
            for try await result in group { all.append(result) }
            return all.sorted { $0.0 < $1.0 }
        }
        #expect(results.map(\.1) == Array(repeating: true, count: 24))
        for (index, blob) in blobs.enumerated() {
            #expect(try Data(contentsOf: directory.file("down\(index)")) == blob.data)
        }
        #expect(cache.transferStatistics.uploads == 24)
        #expect(cache.transferStatistics.hits == 24)
    }
}
