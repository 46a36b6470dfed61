import Foundation
import MLBuildTestSupport
import Testing

/// A workspace whose `container:app` packs two task targets and a `files` layer, and helpers to
/// look into the images with the real tools (skopeo, umoci; CI installs them with apt-get).
enum ContainerFixtures {
    static let mlfile = """
    task model
        inputs = src/weights.bin, src/card.txt
        outputs = out/model
        run = mkdir -p out/model && cp src/weights.bin src/card.txt out/model/

    task vocab
        inputs = src/vocab.txt
        outputs = out/vocab.txt
        run = cp src/vocab.txt out/vocab.txt

    container app: task:model, task:vocab
        files = serve/app.sh:/app/, serve/conf:/etc/app
        entrypoint = /app/app.sh
        cmd = --port, 8080
        env = MODEL_DIR=/workspace/out/model, LANG=C.UTF-8
        workdir = /app
        user = 1000:1000
        exposed_ports = 8080, 9090/udp
        labels = team=ml, tier=serving
        tag = app-1.2.0
        version = 1.2.0
        source = https://example.com/app
        annotations = com.example.owner=ml-team
    """

    /// 64 KiB of varied bytes: big enough that the layer is not trivial, small enough to be quick.
    static let weights: Data = {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var bytes = [UInt8](repeating: 0, count: 65536)
        for i in bytes.indices {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            bytes[i] = UInt8(truncatingIfNeeded: state >> 33)
        }
        return Data(bytes)
    }()

    static func workspace(mlfile: String = mlfile, cacheDirectory: String? = nil) throws -> MLBuildWorkspace {
        let ws = try MLBuildWorkspace(mlfile: mlfile, cacheDirectory: cacheDirectory)
        try ws.directory.write("src/weights.bin", weights)
        try ws.write("src/card.txt", "churn model card\n")
        try ws.write("src/vocab.txt", "alpha\nbeta\n")
        try ws.write("serve/app.sh", "#!/bin/sh\nexec cat /workspace/out/model/card.txt\n")
        try ws.write("serve/conf/app.conf", "port = 8080\n")
        try ws.write("serve/conf/extra/log.conf", "level = info\n")
        let chmod = try ProcessRunner.shell("chmod 755 serve/app.sh", in: ws.path)
        #expect(chmod.status == 0)
        return ws
    }

    static func tool(_ name: String) -> String? {
        let path = ProcessRunner.which(name)
        if path == nil { Issue.record("\(name) is not installed (apt-get install -y \(name))") }
        return path
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
    }

    static func sha256(_ path: String) throws -> String {
        let result = try ProcessRunner.run("/usr/bin/sha256sum", [path])
        return "sha256:" + (result.stdout.split(separator: " ").first.map(String.init) ?? "")
    }

    /// The manifest (with annotations) of an image archive, via `skopeo inspect --raw`.
    static func manifest(_ archive: String) throws -> [String: Any] {
        guard let skopeo = tool("skopeo") else { throw CancellationError() }
        let raw = try ProcessRunner.run(skopeo, ["inspect", "--raw", "oci-archive:" + archive])
        #expect(raw.status == 0, "skopeo inspect --raw: \(raw.stderr)")
        return try json(raw.stdout)
    }

    static func layerDigests(_ manifest: [String: Any]) -> [String] {
        ((manifest["layers"] as? [[String: Any]]) ?? []).compactMap { $0["digest"] as? String }
    }

    /// Flips one byte in the middle of blob `digest` inside an oci-archive tar, in place. The
    /// archive's entries are plain ustar (names under 100 bytes), so the blob's data starts at
    /// the 512-byte block after the header that names it.
    static func flipByte(ofBlob digest: String, in archive: String) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: archive)))
        let name = Array("blobs/sha256/\(digest.dropFirst("sha256:".count))".utf8)
        var header: Int? = nil
        var offset = 0
        while offset + 512 <= bytes.count {
            if Array(bytes[offset..<offset + name.count]) == name, bytes[offset + name.count] == 0 { header = offset; break }
            offset += 512
        }
        let start = try #require(header, "blob \(digest) not found in \(archive)") + 512
        let sizeField = String(decoding: bytes[(start - 512 + 124)..<(start - 512 + 135)], as: UTF8.self)
        let size = try #require(Int(sizeField, radix: 8), "bad tar size field '\(sizeField)'")
        bytes[start + size / 2] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: archive))
    }
}
