import Foundation
import MLBuildCache
import Testing

struct RemoteCacheConfigurationTests {
    @Test func parsesHeaderAndTrimsWhitespace() throws {
        let header = try RemoteCacheConfiguration.parseHeader("  Authorization :  Bearer abc:def  ")
        #expect(header == RemoteCacheHeader(name: "Authorization", value: "Bearer abc:def"))
        #expect(try RemoteCacheConfiguration.parseHeader("X-Token: t\n") == RemoteCacheHeader(name: "X-Token", value: "t"))
    }

    static let nameError = "remote cache header: the name before the first ':' has a character not allowed in a header name "
        + "(expected 'Name: value', e.g. 'Authorization: Bearer …'; the text is not shown)"
    static let valueError = "remote cache header: the value contains a line break, NUL or another control character"

    @Test(arguments: [
        ("Bearer s3cret-token", "remote cache header: expected 'Name: value' (no ':' found)"),
        (": s3cret-token", "remote cache header: empty header name before ':'"),
        ("X Token: s3cret-token", nameError),
        ("X-Token:   ", "remote cache header: empty value after ':'"),
        ("X-Token: s3cret-token\r\nHost: evil", valueError),
        // The token where the name should be: a missing "Authorization:" before a value with a ':'.
        ("Bearer s3cret:token", nameError),
        ("Bearer\ts3cret-token:x", nameError),
        ("s3cret-token:", "remote cache header: empty value after ':'"),
        ("X-Key: s3cret-token\u{7}\r\n", valueError),
        ("s3cret\u{301}-token: a", nameError),
    ])
    func rejectsMalformedHeadersWithoutEchoingAnyPartOfThem(text: String, message: String) {
        #expect(throws: RemoteCacheError.invalidConfiguration(message)) {
            try RemoteCacheConfiguration.parseHeader(text)
        }
        do {
            _ = try RemoteCacheConfiguration.parseHeader(text)
        } catch {
            #expect(!"\(error)".contains("s3cret"), "\(error)")
            #expect(!"\(error)".contains("token"), "\(error)")
        }
    }

    @Test func readsHeaderFromFirstNonEmptyLineOfAFile() throws {
        let directory = try RemoteTestDirectory()
        let file = directory.file("header")
        try Data("\n  \nX-Cache-Token: s3cret-token\nignored: line\n".utf8).write(to: file)
        #expect(try RemoteCacheConfiguration.readHeader(fromFile: file)
            == RemoteCacheHeader(name: "X-Cache-Token", value: "s3cret-token"))

        try Data("s3cret-token\n".utf8).write(to: file)
        #expect(throws: RemoteCacheError.invalidConfiguration(
            "\(file.path): remote cache header: expected 'Name: value' (no ':' found)")) {
            try RemoteCacheConfiguration.readHeader(fromFile: file)
        }
        #expect(throws: RemoteCacheError.localFile(path: directory.file("missing").path, reason: "cannot read the header file")) {
            try RemoteCacheConfiguration.readHeader(fromFile: directory.file("missing"))
        }
    }

    @Test func headerValueNeverAppearsInDescriptions() throws {
        let header = RemoteCacheHeader(name: "Authorization", value: "Bearer s3cret-token")
        let configuration = RemoteCacheConfiguration(
            baseURL: try RemoteCacheConfiguration.parseBaseURL("http://cache.example:8080/team"), header: header)
        var dumped = ""
        dump(configuration, to: &dumped)
        let texts = [
            "\(header)", String(reflecting: header), "\(configuration)", String(reflecting: configuration), dumped,
        ]
        for text in texts {
            #expect(!text.contains("s3cret"), "\(text)")
        }
        #expect("\(configuration)" == "RemoteCacheConfiguration(http://cache.example:8080/team, header: Authorization: "
            + "<redacted>, upload: true, timeout: 30.0s, retries: 2, transfers: 8)")
    }

    @Test func parsesBaseURLAndHidesCredentialsInErrorsAndDisplay() throws {
        let url = try RemoteCacheConfiguration.parseBaseURL(" https://user:pw-s3cret@cache.example/prefix/ ")
        let configuration = RemoteCacheConfiguration(baseURL: url)
        #expect(configuration.displayBaseURL == "https://cache.example/prefix")

        #expect(throws: RemoteCacheError.invalidConfiguration(
            "remote cache URL 'ftp://cache.example/x' is not an absolute http:// or https:// URL with a host")) {
            try RemoteCacheConfiguration.parseBaseURL("ftp://user:pw-s3cret@cache.example/x")
        }
        #expect(throws: RemoteCacheError.invalidConfiguration(
            "remote cache URL 'cache.example' is not an absolute http:// or https:// URL with a host")) {
            try RemoteCacheConfiguration.parseBaseURL("cache.example")
        }
    }

    @Test func defaultsAndBackoffAreFixed() throws {
        let configuration = RemoteCacheConfiguration(baseURL: try RemoteCacheConfiguration.parseBaseURL("http://127.0.0.1:1"))
        #expect(configuration.uploadEnabled)
        #expect(configuration.requestTimeout == 30)
        #expect(configuration.connectTimeout == 5)
        #expect(configuration.maxRetries == 2)
        #expect(configuration.maxConcurrentTransfers == 8)
        #expect((0..<3).map { configuration.retryDelay(beforeRetry: $0) } == [0.1, 0.4, 1.6])
    }
}
