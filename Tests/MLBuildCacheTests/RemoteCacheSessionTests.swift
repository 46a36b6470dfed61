import Foundation
import MLBuildCache
import MLBuildTestSupport
import Testing

/// The fault policy: a sick server costs one warning and then behaves as an empty cache.
/// Real nginx, with `FaultProxy` in front where the server must misbehave.
@Suite(.timeLimit(.minutes(1)))
struct RemoteCacheSessionTests {
    private func configuration(_ base: URL, header: RemoteCacheHeader? = nil, timeout: Double = 5,
                               retries: Int = 2) -> RemoteCacheConfiguration {
        RemoteCacheConfiguration(baseURL: base, header: header, requestTimeout: timeout, maxRetries: retries)
    }

    private func unavailable(_ base: URL, _ reason: String) -> String {
        "warning: remote cache \(base.absoluteString) unavailable (\(reason)); continuing with the local cache"
    }

    @Test func closedPortWarnsOnceThenMissesFast() async throws {
        let directory = try RemoteTestDirectory()
        // A port nobody listens on: bind a proxy, learn its port, stop it.
        let closed = try FaultProxy(upstreamPort: 1)
        let base = closed.baseURL
        closed.stop()
        try await Task.sleep(nanoseconds: 200_000_000)
        let recorder = RemoteWarningRecorder()
        let session = RemoteCacheSession(configuration: configuration(base), onWarning: recorder.callback)
        let blob = try directory.writeBlob("blob", size: 100, seed: 1)
        let started = Date()

        #expect(await session.download(.cas, blob.hex, to: directory.file("down")) == false)
        #expect(await session.fetchData(.ac, blob.hex) == nil)
        #expect(await session.contains(.cas, blob.hex) == false)
        await session.upload(.cas, blob.hex, from: blob.url)

        #expect(Date().timeIntervalSince(started) < 20)  // a hang detector, far below the 30 s request timeout
        #expect(recorder.warnings == [unavailable(base, "connection refused")])
        #expect(session.isAvailable == false)
        #expect(session.transferStatistics == RemoteTransferStatistics())
    }

    @Test func serverKilledMidBuildTripsTheBreaker() async throws {
        let directory = try RemoteTestDirectory()
        let server = try NginxServer()
        defer { server.stop() }
        let recorder = RemoteWarningRecorder()
        let session = RemoteCacheSession(configuration: configuration(server.baseURL), onWarning: recorder.callback)
        let first = try directory.writeBlob("first", size: 5000, seed: 2)
        let second = try directory.writeBlob("second", size: 5000, seed: 3)
        await session.upload(.cas, first.hex, from: first.url)
        #expect(await session.download(.cas, first.hex, to: directory.file("down1")))

        server.kill()
        #expect(await session.download(.cas, first.hex, to: directory.file("down2")) == false)
        await session.upload(.cas, second.hex, from: second.url)
        #expect(await session.contains(.cas, first.hex) == false)

        #expect(recorder.warnings == [unavailable(server.baseURL, "connection refused")])
        #expect(!FileManager.default.fileExists(atPath: directory.file("down2").path))
        #expect(session.transferStatistics.hits == 1)
        #expect(session.transferStatistics.uploads == 1)
    }

    @Test func serverErrorsAreRetriedThenTripTheBreaker() async throws {
        let directory = try RemoteTestDirectory()
        let server = try NginxServer()
        defer { server.stop() }
        let proxy = try FaultProxy(upstreamPort: server.port, mode: .respond500)
        defer { proxy.stop() }
        let recorder = RemoteWarningRecorder()
        let session = RemoteCacheSession(configuration: configuration(proxy.baseURL, retries: 2),
                                         onWarning: recorder.callback)
        let blob = try directory.writeBlob("blob", size: 100_000, seed: 4)

        await session.upload(.cas, blob.hex, from: blob.url)
        #expect(await session.download(.cas, blob.hex, to: directory.file("down")) == false)

        #expect(proxy.responses500 == 3)  // one HEAD, retried twice, then nothing more
        #expect(recorder.warnings == [unavailable(proxy.baseURL, "HTTP 500")])
        #expect(session.transferStatistics.retries == 2)
        #expect(session.transferStatistics.errors == 1)
        #expect(server.requests().isEmpty)
    }

    @Test func concurrentFailuresWarnOnce() async throws {
        let server = try NginxServer()
        defer { server.stop() }
        let proxy = try FaultProxy(upstreamPort: server.port, mode: .respond500)
        defer { proxy.stop() }
        let recorder = RemoteWarningRecorder()
        let session = RemoteCacheSession(configuration: configuration(proxy.baseURL, retries: 0),
                                         onWarning: recorder.callback)

        let found = await withTaskGroup(of: Data?.self) { group in
            for index in 0..<16 {
                group.addTask { await session.fetchData(.ac, String(repeating: String(index % 10), count: 64)) }
            }
            var found: [Data] = []
            for await result in group { if let result { found.append(result) } }
            return found
        }

        #expect(found.isEmpty)
        #expect(recorder.warnings == [unavailable(proxy.baseURL, "HTTP 500")])
        #expect(proxy.responses500 >= 1 && proxy.responses500 <= 16)
    }

    @Test func truncatedBodyIsCaughtAndRetried() async throws {
        let directory = try RemoteTestDirectory()
        let server = try NginxServer()
        defer { server.stop() }
        let blob = try directory.writeBlob("blob", size: 256 * 1024, seed: 5)
        let direct = RemoteCache(configuration: configuration(server.baseURL))
        try await direct.upload(.cas, blob.hex, from: blob.url)
        let proxy = try FaultProxy(upstreamPort: server.port, mode: .truncate(afterBytes: 8192))
        defer { proxy.stop() }
        let cache = RemoteCache(configuration: configuration(proxy.baseURL, retries: 1))
        let destination = directory.file("down")

        var thrown: RemoteCacheError?
        do {
            _ = try await cache.download(.cas, blob.hex, to: destination)
        } catch let error as RemoteCacheError {
            thrown = error
        }
        guard case .transport("GET", let url, .truncatedBody(let expected, let received)) = try #require(thrown) else {
            Issue.record("expected a truncated body, got \(String(describing: thrown))")
            return
        }
        #expect(url == "\(proxy.baseURL.absoluteString)/cas/\(blob.hex)")
        #expect(expected == 256 * 1024)
        #expect(received > 0 && received < 8192)
        #expect(!FileManager.default.fileExists(atPath: destination.path))
        #expect(server.requests(method: "GET").count == 2)
        #expect(cache.transferStatistics.retries == 1)

        let recorder = RemoteWarningRecorder()
        let session = RemoteCacheSession(cache: cache, onWarning: recorder.callback)
        #expect(await session.download(.cas, blob.hex, to: destination) == false)
        #expect(recorder.warnings.count == 1)
        #expect(recorder.warnings.first?.contains("unavailable (truncated body: ") == true)
        #expect(recorder.warnings.first?.hasSuffix(" of 262144 bytes); continuing with the local cache") == true)

        // The same blob through a healthy path is intact: the failure was the proxy's.
        proxy.mode = .pass
        #expect(try await cache.download(.cas, blob.hex, to: destination))
        #expect(try Data(contentsOf: destination) == blob.data)
    }

    @Test func slowServerTimesOutThenTripsTheBreaker() async throws {
        let server = try NginxServer()
        defer { server.stop() }
        let proxy = try FaultProxy(upstreamPort: server.port, mode: .delay(milliseconds: 4000))
        defer { proxy.stop() }
        let recorder = RemoteWarningRecorder()
        let session = RemoteCacheSession(configuration: configuration(proxy.baseURL, timeout: 1, retries: 1),
                                         onWarning: recorder.callback)
        let started = Date()

        #expect(await session.fetchData(.ac, String(repeating: "1", count: 64)) == nil)
        #expect(await session.fetchData(.ac, String(repeating: "2", count: 64)) == nil)

        let elapsed = Date().timeIntervalSince(started)
        // Two attempts of 1 s plus a backoff at least; no upper bound: speed is measured in
        // bench/, and a loaded CI machine stretches timers.
        #expect(elapsed > 2)
        #expect(recorder.warnings == [unavailable(proxy.baseURL, "timed out: no complete answer within 1 s, see --remote-timeout")])
        #expect(proxy.connectionCount == 3)  // the probe's connect, then two attempts
    }

    @Test func connectionResetTripsTheBreaker() async throws {
        let server = try NginxServer()
        defer { server.stop() }
        let proxy = try FaultProxy(upstreamPort: server.port, mode: .reset)
        defer { proxy.stop() }
        let recorder = RemoteWarningRecorder()
        let session = RemoteCacheSession(configuration: configuration(proxy.baseURL, retries: 1),
                                         onWarning: recorder.callback)

        #expect(await session.contains(.cas, String(repeating: "3", count: 64)) == false)
        #expect(await session.contains(.cas, String(repeating: "4", count: 64)) == false)

        #expect(recorder.warnings == [unavailable(proxy.baseURL, "connection lost")])
        #expect(session.transferStatistics.retries == 1)
        #expect(server.requests().isEmpty)
    }

    @Test func wrongCredentialsWarnWithoutRevealingTheHeader() async throws {
        let directory = try RemoteTestDirectory()
        let server = try NginxServer(requiredHeader: (name: "Authorization", value: "Bearer right-token"))
        defer { server.stop() }
        let secret = "Bearer wrong-secret-4711"
        let header = try RemoteCacheConfiguration.parseHeader("Authorization: \(secret)")
        let recorder = RemoteWarningRecorder()
        let config = configuration(server.baseURL, header: header)
        let session = RemoteCacheSession(configuration: config, onWarning: recorder.callback)
        let blob = try directory.writeBlob("blob", size: 100, seed: 6)

        #expect(await session.download(.cas, blob.hex, to: directory.file("down")) == false)
        await session.upload(.cas, blob.hex, from: blob.url)

        #expect(recorder.warnings == [
            "warning: remote cache \(server.baseURL.absoluteString) rejected the credentials (HTTP 401); continuing with the local cache",
        ])
        #expect(server.requests().map(\.status) == [401])
        var thrown: RemoteCacheError?
        do {
            _ = try await RemoteCache(configuration: config).fetchData(.ac, blob.hex)
        } catch let error as RemoteCacheError {
            thrown = error
        }
        let error = try #require(thrown)
        #expect(error == .unauthorized(method: "GET", url: "\(server.baseURL.absoluteString)/ac/\(blob.hex)", status: 401))
        for text in recorder.warnings + [error.description, String(reflecting: error), "\(config)", String(reflecting: config)] {
            #expect(!text.contains("wrong-secret"))
        }
    }

    @Test func rightCredentialsWork() async throws {
        let directory = try RemoteTestDirectory()
        let server = try NginxServer(requiredHeader: (name: "Authorization", value: "Bearer right-token"))
        defer { server.stop() }
        let header = RemoteCacheHeader(name: "Authorization", value: "Bearer right-token")
        let recorder = RemoteWarningRecorder()
        let session = RemoteCacheSession(configuration: configuration(server.baseURL, header: header),
                                         onWarning: recorder.callback)
        let blob = try directory.writeBlob("blob", size: 1000, seed: 7)

        await session.upload(.cas, blob.hex, from: blob.url)
        #expect(await session.download(.cas, blob.hex, to: directory.file("down")))
        #expect(try Data(contentsOf: directory.file("down")) == blob.data)
        #expect(recorder.warnings.isEmpty)
    }

    @Test func digestMismatchIsReportedButKeepsTheCacheOn() async throws {
        let directory = try RemoteTestDirectory()
        let server = try NginxServer()
        defer { server.stop() }
        let recorder = RemoteWarningRecorder()
        let session = RemoteCacheSession(configuration: configuration(server.baseURL), onWarning: recorder.callback)
        let bad = try directory.writeBlob("bad", size: 2000, seed: 8)
        let good = try directory.writeBlob("good", size: 2000, seed: 9)
        await session.upload(.cas, bad.hex, from: bad.url)
        await session.upload(.cas, good.hex, from: good.url)
        let corrupt = Data("not the blob".utf8)
        try corrupt.write(to: server.blobPath("cas", bad.hex))

        #expect(await session.download(.cas, bad.hex, to: directory.file("bad-down")) == false)
        #expect(!FileManager.default.fileExists(atPath: directory.file("bad-down").path))
        #expect(await session.download(.cas, good.hex, to: directory.file("good-down")))

        #expect(session.isAvailable)
        #expect(recorder.warnings == [
            "warning: remote cache \(server.baseURL.absoluteString) served a corrupt blob cas/\(bad.hex) "
                + "(content has sha256 \(RemoteTestBlob.sha256Hex(corrupt))); ignoring it",
        ])
    }

    @Test func refusedUploadsDisableUploadsOnly() async throws {
        let directory = try RemoteTestDirectory()
        let server = try NginxServer(acceptsUploads: false)
        defer { server.stop() }
        let recorder = RemoteWarningRecorder()
        let session = RemoteCacheSession(configuration: configuration(server.baseURL), onWarning: recorder.callback)
        let blob = try directory.writeBlob("blob", size: 1000, seed: 11)
        try FileManager.default.createDirectory(at: server.blobPath("cas", blob.hex).deletingLastPathComponent(),
                                                withIntermediateDirectories: true)
        try blob.data.write(to: server.blobPath("cas", blob.hex))
        let other = try directory.writeBlob("other", size: 1000, seed: 12)

        await session.upload(.cas, other.hex, from: other.url)
        await session.upload(.ac, other.hex, data: Data("{}".utf8))
        #expect(await session.download(.cas, blob.hex, to: directory.file("down")))

        #expect(session.isAvailable)
        #expect(recorder.warnings == [
            "warning: remote cache \(server.baseURL.absoluteString) refused an upload (HTTP 405); uploads disabled for this build",
        ])
        // nginx logs a request when it finishes with it, so the log order may differ from ours.
        #expect(server.requests().map(\.description).sorted() == [
            "HEAD /cas/\(other.hex) 404", "PUT /cas/\(other.hex) 405", "GET /cas/\(blob.hex) 200",
        ].sorted())
    }

    @Test func readOnlySessionUploadsNothing() async throws {
        let directory = try RemoteTestDirectory()
        let server = try NginxServer()
        defer { server.stop() }
        var config = configuration(server.baseURL)
        config.uploadEnabled = false
        let session = RemoteCacheSession(configuration: config, onWarning: { _ in })
        let blob = try directory.writeBlob("blob", size: 1000, seed: 10)

        await session.upload(.cas, blob.hex, from: blob.url)
        await session.upload(.ac, blob.hex, data: Data("{}".utf8))
        #expect(await session.download(.cas, blob.hex, to: directory.file("down")) == false)

        #expect(server.requests().map(\.description) == ["GET /cas/\(blob.hex) 404"])
    }
}
