import Foundation
import MLBuildTestSupport
import Testing

/// `container:churn` of Mlfile.example: the trained model packed under /model/ with its lineage
/// and metrics as annotations.
@Suite("the example's container")
struct ContainerExampleTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// A workspace holding a copy of Mlfile.example (as Mlfile) and data/.
    static func exampleWorkspace() throws -> MLBuildWorkspace {
        let ws = try MLBuildWorkspace()
        try FileManager.default.copyItem(atPath: repositoryRoot.appendingPathComponent("Mlfile.example").path, toPath: "\(ws.path)/Mlfile")
        try FileManager.default.copyItem(atPath: repositoryRoot.appendingPathComponent("data").path, toPath: "\(ws.path)/data")
        return ws
    }

    @Test func theChurnModelIsPackedWithItsLineageAndMetrics() throws {
        guard let skopeo = ContainerFixtures.tool("skopeo"), let umoci = ContainerFixtures.tool("umoci") else { return }
        let ws = try Self.exampleWorkspace()
        let run = try ws.build(["container:churn", "-j", "1"], environment: ["SOURCE_DATE_EPOCH": nil])
        #expect(run.result.status == 0, "\(run.result.output)")
        #expect(run.targets("built") == ["container:churn", "dataset:churn", "features:churn", "model:churn"])
        let archive = "\(ws.path)/build/container/churn/image.tar"
        let digest = try ws.read("build/container/churn/digest").trimmingCharacters(in: .newlines)

        let verify = try ws.run(["container", "verify", "build/container/churn/image.tar"])
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.stdout.contains("manifest \(digest) (churn-1.0.0) linux/amd64"))

        let manifest = try ContainerFixtures.manifest(archive)
        let annotations = try #require(manifest["annotations"] as? [String: String])
        #expect(annotations["dev.mlbuild.model"] == "model:churn")
        #expect(annotations["org.opencontainers.image.ref.name"] == "churn-1.0.0")
        #expect(annotations["dev.mlbuild.file:/model/model.json"] == (try ContainerFixtures.sha256("\(ws.path)/build/model/churn/model.json")))
        #expect(annotations["dev.mlbuild.file:/model/metrics.json"] == (try ContainerFixtures.sha256("\(ws.path)/build/model/churn/metrics.json")))
        // Metrics: exactly the numbers written in metrics.json's "metrics" object (compared as
        // text: Foundation's JSONSerialization rounds some doubles on Linux).
        let metricsText = try ws.read("build/model/churn/metrics.json")
        let metricsSection = try #require(metricsText.range(of: "\"metrics\": {").map { metricsText[$0.upperBound...] })
        for name in ["auc", "accuracy", "recall", "precision", "f1", "log_loss"] {
            let value = try #require(annotations["dev.mlbuild.metrics.\(name)"], "no annotation for \(name)")
            #expect(metricsSection.contains("\"\(name)\": \(value),") || metricsSection.contains("\"\(name)\": \(value)\n"), "\(name) = \(value)")
        }
        #expect(annotations["dev.mlbuild.metrics.confusion_matrix.1.1"] != nil)
        // Lineage: the dataset the model came from, as model.json records it.
        let model = try ContainerFixtures.json(try ws.read("build/model/churn/model.json"))
        let lineage = try #require(model["lineage"] as? [String: Any])
        let dataset = try #require((lineage["datasets"] as? [[String: Any]])?.first)
        #expect(annotations["dev.mlbuild.lineage.datasets.0.target"] == "dataset:churn")
        #expect(annotations["dev.mlbuild.lineage.datasets.0.outputs_digest"] == dataset["outputs_digest"] as? String)
        #expect(annotations["dev.mlbuild.lineage.seed"] == "42")

        // The model bundle is at /model/ with the same bytes.
        let copy = try ProcessRunner.run(skopeo, ["copy", "--insecure-policy", "oci-archive:" + archive, "oci:\(ws.path)/layout:churn"])
        #expect(copy.status == 0, "\(copy.stderr)")
        let unpack = try ProcessRunner.run(umoci, ["unpack", "--rootless", "--image", "\(ws.path)/layout:churn", "\(ws.path)/bundle"])
        #expect(unpack.status == 0, "\(unpack.stderr)")
        #expect(try ws.directory.data("bundle/rootfs/model/model.json") == ws.directory.data("build/model/churn/model.json"))
        #expect(try ws.directory.data("bundle/rootfs/model/metrics.json") == ws.directory.data("build/model/churn/metrics.json"))
        // The model's plots/ stay out of the image (docs/containers.md): /model/ holds what it did before plots.
        #expect(ws.exists("build/model/churn/plots/roc.svg"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(ws.path)/bundle/rootfs/model").sorted() == ["metrics.json", "model.json"])

        // Another copy at another path, -j 8: the same image.
        let other = try Self.exampleWorkspace()
        let again = try other.build(["container:churn", "-j", "8"], environment: ["SOURCE_DATE_EPOCH": nil])
        #expect(again.result.status == 0, "\(again.result.output)")
        #expect(try other.directory.data("build/container/churn/image.tar") == ws.directory.data("build/container/churn/image.tar"))
    }
}
