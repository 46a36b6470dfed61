import Foundation
import MLBuildCache
import MLBuildCore
import Testing

/// The action result document (format 2): its exact bytes, and the form checks that make a
/// malformed document a miss before anything else looks at it.
struct ActionResultTests {
    static let digest = String(repeating: "ab", count: 32)

    func document(_ outputs: String, format: Int = 2) -> [UInt8] {
        Array("{\"format\":\(format),\"outputs\":[\(outputs)]}".utf8)
    }

    func file(_ path: String, digest: String = digest) -> String {
        "{\"digest\":\"\(digest)\",\"executable\":false,\"path\":\"\(path)\",\"size\":3}"
    }

    @Test func formatTwoHasFileSymlinkAndDirectoryEntriesAndRoundTrips() throws {
        let digest = try #require(ContentDigest(hex: Self.digest))
        let result = ActionResult(outputs: [
            .symlink(path: "out/latest", target: "v1/model.bin"),
            .init(path: "out/v1/model.bin", digest: digest, size: 3, executable: true),
            .directory(path: "out/empty"),
        ])
        let expected = "{\"format\":2,\"outputs\":[{\"directory\":true,\"path\":\"out/empty\"},"
            + "{\"path\":\"out/latest\",\"symlink\":\"v1/model.bin\"},"
            + "{\"digest\":\"\(Self.digest)\",\"executable\":true,\"path\":\"out/v1/model.bin\",\"size\":3}]}"
        #expect(String(decoding: result.encoded(), as: UTF8.self) == expected)
        #expect(ActionResult.decode(result.encoded()) == result)
        #expect(result.outputs.map(\.digest) == [nil, nil, digest])
    }

    @Test func formatOneIsStillRead() throws {
        let result = try #require(ActionResult.decode(document(file("out/a.txt"), format: 1)))
        #expect(result.format == 2)
        #expect(result.outputs.map(\.path) == ["out/a.txt"])
    }

    @Test(arguments: [
        ".", "./out/a", "out/./a", "out/a/.", "out//a", "out/a/", "/etc/passwd", "out/../Mlfile", "..", "", "out/a\\u0000b",
    ])
    func aNonCanonicalPathMakesTheDocumentAMiss(path: String) {
        #expect(ActionResult.decode(document(file(path))) == nil)
        #expect(!ActionResult.isCanonicalRelativePath(path.replacingOccurrences(of: "\\u0000", with: "\u{0}")))
    }

    @Test(arguments: [
        // another format
        "{\"format\":3,\"outputs\":[]}",
        // an uppercase or short digest (blob names are lowercase hex)
        "{\"format\":2,\"outputs\":[{\"digest\":\"\(digest.uppercased())\",\"executable\":false,\"path\":\"a\",\"size\":3}]}",
        "{\"format\":2,\"outputs\":[{\"digest\":\"abc\",\"executable\":false,\"path\":\"a\",\"size\":3}]}",
        // mixed kinds
        "{\"format\":2,\"outputs\":[{\"digest\":\"\(digest)\",\"path\":\"a\",\"symlink\":\"b\"}]}",
        "{\"format\":2,\"outputs\":[{\"directory\":true,\"path\":\"a\",\"symlink\":\"b\"}]}",
        "{\"format\":2,\"outputs\":[{\"directory\":false,\"path\":\"a\"}]}",
        // a symlink with an absolute or empty target
        "{\"format\":2,\"outputs\":[{\"path\":\"a\",\"symlink\":\"/etc\"}]}",
        "{\"format\":2,\"outputs\":[{\"path\":\"a\",\"symlink\":\"\"}]}",
        // a negative size
        "{\"format\":2,\"outputs\":[{\"digest\":\"\(digest)\",\"executable\":false,\"path\":\"a\",\"size\":-1}]}",
    ])
    func aMalformedDocumentIsAMiss(text: String) {
        #expect(ActionResult.decode(Array(text.utf8)) == nil)
    }

    @Test func theManifestDigestTellsALinkFromAFile() throws {
        let digest = try #require(ContentDigest(hex: Self.digest))
        let file = ActionResult(outputs: [.init(path: "a", digest: digest, size: 3, executable: false)])
        let link = ActionResult(outputs: [.symlink(path: "a", target: Self.digest)])
        let directory = ActionResult(outputs: [.directory(path: "a")])
        #expect(Set([file.manifestDigest, link.manifestDigest, directory.manifestDigest]).count == 3)
    }
}
