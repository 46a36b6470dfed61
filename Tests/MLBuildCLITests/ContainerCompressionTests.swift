import Foundation
import MLBuildTestSupport
import Testing

/// `compression = gzip | zstd` through the real binary: the images are the same whatever `-j`,
/// and skopeo and umoci take both.
@Suite("container layer compression checked by the real tools")
struct ContainerCompressionTests {
    static let noEpoch: [String: String?] = ["SOURCE_DATE_EPOCH": nil]

    /// 12 MiB of varied bytes: several gzip batches and two zstd jobs, so threads have work to share.
    static let bigWeights: Data = {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        var bytes = [UInt8](repeating: 0, count: 12 << 20)
        var i = 0
        while i < bytes.count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            // Half the words random, half a small alphabet: compressible, not trivially.
            let word = state >> 33
            let run = word & 1 == 0 ? 8 : 1
            for k in 0 ..< run where i + k < bytes.count { bytes[i + k] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(k % 4))) & (run == 8 ? 0x0F : 0xFF) }
            i += run
        }
        return Data(bytes)
    }()

    static func workspace(_ compression: String) throws -> MLBuildWorkspace {
        let ws = try ContainerFixtures.workspace(mlfile: ContainerFixtures.mlfile + "\n    compression = \(compression)\n")
        try ws.directory.write("src/weights.bin", bigWeights)
        return ws
    }

    static func layerMediaTypes(_ archive: String) throws -> [String] {
        let manifest = try ContainerFixtures.manifest(archive)
        return ((manifest["layers"] as? [[String: Any]]) ?? []).compactMap { $0["mediaType"] as? String }
    }

    @Test(arguments: ["gzip", "zstd"])
    func oneAndTwoJobsBuildTheSameImage(compression: String) throws {
        var digests: [String] = []
        for jobs in ["1", "2"] {
            let ws = try Self.workspace(compression)
            let run = try ws.build(["-j", jobs, "container:app"], environment: Self.noEpoch)
            #expect(run.result.status == 0, "\(run.result.output)")
            digests.append(try ContainerFixtures.sha256("\(ws.path)/build/container/app/image.tar"))
            let types = try Self.layerMediaTypes("\(ws.path)/build/container/app/image.tar")
            #expect(types == Array(repeating: "application/vnd.oci.image.layer.v1.tar+\(compression)", count: 3))
        }
        #expect(digests[0] == digests[1], "-j 1 and -j 2 write the same image.tar")
    }

    @Test(arguments: ["gzip", "zstd"])
    func skopeoCopiesAndUmociUnpacksBothCompressions(compression: String) throws {
        guard let skopeo = ContainerFixtures.tool("skopeo"), let umoci = ContainerFixtures.tool("umoci") else { return }
        let ws = try Self.workspace(compression)
        let run = try ws.build(["container:app"], environment: Self.noEpoch)
        #expect(run.result.status == 0, "\(run.result.output)")
        let verify = try ws.run(["container", "verify", "build/container/app/image.tar"])
        #expect(verify.status == 0, "\(verify.output)")
        let copy = try ProcessRunner.run(skopeo, [
            "copy", "--insecure-policy", "oci-archive:\(ws.path)/build/container/app/image.tar", "oci:\(ws.path)/layout:v1",
        ])
        #expect(copy.status == 0, "skopeo copy: \(copy.stderr)")
        let digest = try ws.read("build/container/app/digest").trimmingCharacters(in: .newlines)
        let index = try ContainerFixtures.json(try ws.read("layout/index.json"))
        #expect((index["manifests"] as? [[String: Any]])?.first?["digest"] as? String == digest, "skopeo keeps our manifest")

        var unpack = try ProcessRunner.run(umoci, ["unpack", "--rootless", "--image", "\(ws.path)/layout:v1", "\(ws.path)/bundle"])
        if compression == "zstd", unpack.status != 0,
           unpack.stderr.contains("blob is not correct mediatype: application/vnd.oci.image.layer.v1.tar+zstd") {
            // Debian 12's umoci (0.4.7) predates zstd layers and says so. Then skopeo decodes our
            // zstd layers itself (its Go decoder, not libzstd) into a gzip copy that umoci unpacks.
            try? FileManager.default.removeItem(atPath: "\(ws.path)/bundle")
            let gzipCopy = try ProcessRunner.run(skopeo, [
                "copy", "--insecure-policy", "--dest-compress-format", "gzip", "oci:\(ws.path)/layout:v1", "oci:\(ws.path)/layout-gzip:v1",
            ])
            #expect(gzipCopy.status == 0, "skopeo copy (zstd → gzip): \(gzipCopy.stderr)")
            unpack = try ProcessRunner.run(umoci, ["unpack", "--rootless", "--image", "\(ws.path)/layout-gzip:v1", "\(ws.path)/bundle"])
        }
        #expect(unpack.status == 0, "umoci unpack: \(unpack.stderr)")
        #expect(try ws.directory.data("bundle/rootfs/workspace/out/model/weights.bin") == Self.bigWeights)
        #expect(try ws.read("bundle/rootfs/workspace/out/model/card.txt") == "churn model card\n")
        #expect(try ws.read("bundle/rootfs/workspace/out/vocab.txt") == "alpha\nbeta\n")
        #expect(try ws.read("bundle/rootfs/app/app.sh") == "#!/bin/sh\nexec cat /workspace/out/model/card.txt\n")
        #expect(try ws.read("bundle/rootfs/etc/app/extra/log.conf") == "level = info\n")
    }

    @Test func switchingTheCompressionRebuildsAndNamesTheValue() throws {
        let ws = try Self.workspace("gzip")
        #expect(try ws.build(["container:app"], environment: Self.noEpoch).result.status == 0)
        let gzipDigest = try ws.read("build/container/app/digest")
        try ws.write("Mlfile", ContainerFixtures.mlfile + "\n    compression = zstd\n")
        let run = try ws.build(["container:app", "--explain"], environment: Self.noEpoch)
        #expect(run.result.status == 0, "\(run.result.output)")
        #expect(run.targets("built") == ["container:app"])
        #expect(run.result.stderr.contains("explain: container:app:") && run.result.stderr.contains("compression"), "\(run.result.output)")
        #expect(run.result.stderr.contains("3 compressed, 0 reused"), "a gzip layer is never reused as zstd: \(run.result.output)")
        #expect(try ws.read("build/container/app/digest") != gzipDigest)
    }
}
