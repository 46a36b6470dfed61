import Foundation
import MLBuildCache
import MLBuildTestSupport
import Testing

/// The client's limits against a lying server (`HostileCacheServer`): no redirect is followed,
/// a request has a total deadline, and bodies stop at the size they may have.
@Suite(.timeLimit(.minutes(1)))
struct RemoteCacheLimitsTests {
    private func makeCache(_ server: HostileCacheServer, timeout: Double = 5,
                           header: RemoteCacheHeader? = nil) -> RemoteCache {
        RemoteCache(configuration: RemoteCacheConfiguration(baseURL: server.baseURL, header: header, requestTimeout: timeout, maxRetries: 0))
    }

    static let key = String(repeating: "cd", count: 32)

    @Test func aRedirectIsAFailureAndNothingReachesItsTarget() async throws {
        let server = try HostileCacheServer()
        defer { server.stop() }
        let elsewhere = try HostileCacheServer()
        defer { elsewhere.stop() }
        elsewhere.put("/ac/\(Self.key)", Data("{}".utf8))
        server.answerEverything(with: .redirect(toBase: "http://localhost:\(elsewhere.port)"))
        let cache = makeCache(server, header: RemoteCacheHeader(name: "X-Cache-Token", value: "s3cret"))
        let directory = try RemoteTestDirectory()
        let url = "\(server.baseURL.absoluteString)/ac/\(Self.key)"

        await #expect(throws: RemoteCacheError.httpStatus(method: "GET", url: url, status: 302)) {
            try await cache.fetchData(.ac, Self.key)
        }
        await #expect(throws: RemoteCacheError.httpStatus(method: "GET", url: url, status: 302)) {
            try await cache.download(.ac, Self.key, to: directory.file("down"))
        }
        await #expect(throws: RemoteCacheError.httpStatus(method: "HEAD", url: url, status: 302)) {
            try await cache.contains(.ac, Self.key)
        }
        await #expect(throws: RemoteCacheError.httpStatus(method: "PUT", url: url, status: 302)) {
            try await cache.upload(.ac, Self.key, data: Data("{}".utf8))
        }
        #expect(!FileManager.default.fileExists(atPath: directory.file("down").path))
        #expect(elsewhere.requests.isEmpty)
        #expect(server.requests.count == 4)
        #expect(server.requests.allSatisfy { $0.headers["x-cache-token"] == "s3cret" }, "the origin gets the header")
        #expect(RemoteCacheError.httpStatus(method: "GET", url: url, status: 302).reason == "HTTP 302: redirects are not followed")
    }

    @Test func aRequestHasATotalDeadlineEvenWhileBytesKeepComing() async throws {
        let server = try HostileCacheServer()
        defer { server.stop() }
        // 400 bytes at 10 bytes/s: well above any "no progress" limit, 40 s in all.
        server.answer("/ac/\(Self.key)", with: .trickle(Data(repeating: UInt8(ascii: " "), count: 400), intervalMilliseconds: 100))
        let cache = makeCache(server, timeout: 1)
        await #expect(throws: RemoteCacheError.transport(method: "GET", url: "\(server.baseURL.absoluteString)/ac/\(Self.key)",
                                                         failure: .timedOut)) {
            try await cache.fetchData(.ac, Self.key)
        }
        let sent = server.requests.first?.answerBytesSent ?? 0
        // The deadline (1 s), not the end of the body (40 s), stopped the transfer.
        #expect(sent > 0 && sent < 400, "\(sent)")
    }

    @Test(arguments: [false, true])
    func anActionResultStopsAtTheCap(announced: Bool) async throws {
        let server = try HostileCacheServer()
        defer { server.stop() }
        server.answer("/ac/\(Self.key)", with: .stream(length: 4096, announced: announced))
        let cache = makeCache(server)
        let url = "\(server.baseURL.absoluteString)/ac/\(Self.key)"
        await #expect(throws: RemoteCacheError.bodyTooLarge(method: "GET", url: url, limit: 1000)) {
            try await cache.fetchData(.ac, Self.key, maxBytes: 1000)
        }
        server.answer("/ac/\(Self.key)", with: .body(Data(repeating: 1, count: 1000)))
        #expect(try await cache.fetchData(.ac, Self.key, maxBytes: 1000)?.count == 1000, "exactly the cap is fine")
        #expect(RemoteCache.maxActionResultBytes == 1 << 20)
    }

    @Test func aBlobMustHaveExactlyItsDeclaredSize() async throws {
        let server = try HostileCacheServer()
        defer { server.stop() }
        let directory = try RemoteTestDirectory()
        let blob = Data("0123456789".utf8)
        let hex = server.putBlob(blob)
        let cache = makeCache(server)
        let url = "\(server.baseURL.absoluteString)/cas/\(hex)"
        let destination = directory.file("down")

        await #expect(throws: RemoteCacheError.bodyTooLarge(method: "GET", url: url, limit: 9)) {
            try await cache.download(.cas, hex, to: destination, expectedSize: 9)
        }
        #expect(!FileManager.default.fileExists(atPath: destination.path))
        await #expect(throws: RemoteCacheError.sizeMismatch(url: url, expected: 11, actual: 10)) {
            try await cache.download(.cas, hex, to: destination, expectedSize: 11)
        }
        #expect(!FileManager.default.fileExists(atPath: destination.path))
        #expect(try await cache.download(.cas, hex, to: destination, expectedSize: 10))
        #expect(try Data(contentsOf: destination) == blob)
    }
}
