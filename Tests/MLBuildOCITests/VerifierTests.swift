import Foundation
import Testing
import MLBuildBasics
@testable import MLBuildOCI

@Suite struct VerifierTests {
    @Test func verifiesWhatTheBuilderWrote() throws {
        let dir = try TempDir("verify")
        defer { dir.remove() }
        try Fixture.makeProject(in: dir)
        let built = try OCIImageBuilder.build(spec: Fixture.spec(for: dir), layerCache: nil, output: dir.path("image.tar"))
        let report = try OCIArchiveVerifier.verify(dir.path("image.tar"))
        #expect(report.blobsVerified == 4)
        #expect(report.bytesVerified == built.blobsSize)
        #expect(report.images.count == 1)
        let image = try #require(report.images.first)
        #expect(image.manifestDigest == built.manifestDigest)
        #expect(image.configDigest == built.configDigest)
        #expect(image.refName == "1.0.0")
        #expect(image.layers.map(\.digest) == built.layers.map(\.descriptor.digest))
        #expect(image.layers.map(\.diffID) == built.layers.map(\.diffID))
    }

    @Test func corruptedOrMislabelledBlobsAreNamed() throws {
        let dir = try TempDir("verifybad")
        defer { dir.remove() }
        try Fixture.makeProject(in: dir)
        let built = try OCIImageBuilder.build(spec: Fixture.spec(for: dir), layerCache: nil, output: dir.path("image.tar"))
        let layer = built.layers[0].descriptor.digest
        var entries = try TarSurgery.read(dir.path("image.tar"))

        // A flipped byte in a layer.
        let position = try #require(entries.firstIndex { $0.info.path == "blobs/sha256/" + layer.hex })
        var corrupted = entries
        corrupted[position].bytes[5000] ^= 0xff
        try TarSurgery.write(corrupted, to: dir.path("corrupt.tar"))
        let error = #expect(throws: OCIError.self) { try OCIArchiveVerifier.verify(dir.path("corrupt.tar")) }
        #expect(error?.message.hasPrefix("OCI image '\(dir.path("corrupt.tar").path)': layer 0 blob \(layer.prefixed): digest did not match") == true)

        // A truncated blob.
        var truncated = entries
        truncated[position].bytes.removeLast()
        try TarSurgery.write(truncated, to: dir.path("short.tar"))
        let sizeError = #expect(throws: OCIError.self) { try OCIArchiveVerifier.verify(dir.path("short.tar")) }
        #expect(sizeError?.message.contains("layer 0 blob \(layer.prefixed) has size \(built.layers[0].descriptor.size - 1), descriptor says \(built.layers[0].descriptor.size)") == true)

        // A missing oci-layout.
        entries.removeAll { $0.info.path == "oci-layout" }
        try TarSurgery.write(entries, to: dir.path("nolayout.tar"))
        #expect(throws: OCIError("OCI image '\(dir.path("nolayout.tar").path)': missing 'oci-layout' file (not an OCI image layout)")) {
            try OCIArchiveVerifier.verify(dir.path("nolayout.tar"))
        }
    }
}
