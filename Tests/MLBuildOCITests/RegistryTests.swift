import Foundation
import Testing
import MLBuildBasics
@testable import MLBuildOCI

/// Push to a registry on loopback (Debian's docker-registry) and pull back.
@Suite struct RegistryTests {
    @Test(.timeLimit(.minutes(2))) func pushAndPullKeepTheDigest() throws {
        guard let skopeo = Tools.require("skopeo"), let registry = Tools.require("docker-registry") else { return }
        let dir = try TempDir("registry")
        defer { dir.remove() }
        try Fixture.makeProject(in: dir)
        let built = try OCIImageBuilder.build(spec: Fixture.spec(for: dir), layerCache: nil, output: dir.path("image.tar"))

        let port = 20000 + Int(getpid() % 20000)
        try dir.write("config.yml", """
            version: 0.1
            storage:
              filesystem:
                rootdirectory: \(dir.path("storage").path)
            http:
              addr: 127.0.0.1:\(port)
            """)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: registry)
        server.arguments = ["serve", dir.path("config.yml").path]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        let ref = "docker://127.0.0.1:\(port)/mlbuild/app:1.0.0"
        // Bounded wait for the server to listen.
        var push = ToolResult(status: -1, stdout: "", stderr: "")
        for _ in 0..<50 {
            push = try Tools.run(skopeo, ["copy", "--insecure-policy", "--dest-tls-verify=false",
                                          "oci-archive:" + dir.path("image.tar").path, ref])
            if push.status == 0 || !push.stderr.contains("connection refused") { break }
            usleep(100_000)
        }
        #expect(push.status == 0, "skopeo push failed: \(push.stderr)")
        let inspect = try Tools.run(skopeo, ["inspect", "--tls-verify=false", ref])
        #expect(inspect.status == 0, "skopeo inspect failed: \(inspect.stderr)")
        #expect(try TarSurgery.json(Array(inspect.stdout.utf8))["Digest"] as? String == built.manifestDigest.prefixed)

        let pull = try Tools.run(skopeo, ["copy", "--insecure-policy", "--src-tls-verify=false", ref,
                                          "oci-archive:" + dir.path("pulled.tar").path + ":1.0.0"])
        #expect(pull.status == 0, "skopeo pull failed: \(pull.stderr)")
        let report = try OCIArchiveVerifier.verify(dir.path("pulled.tar"))
        #expect(report.images.first?.manifestDigest == built.manifestDigest)
        #expect(report.images.first?.layers.map(\.diffID) == built.layers.map(\.diffID))
    }
}
