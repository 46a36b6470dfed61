import Foundation
import MLBuildTestSupport
import Testing

@Suite struct LineageCommandTests {
    @Test func aTargetsTreeReachesTheSourceBytes() throws {
        let ws = try ReleaseFixtures.workspace()
        #expect(try ws.build(["container:app"]).result.status == 0)
        let csv = try ReleaseFixtures.sha256(ws, "data/rows.csv")

        // model.json's lineage names the source file's digest.
        let model = try MLFixtures.json(ws, "build/model/lr/model.json")
        let datasets = try #require((model["lineage"] as? [String: Any])?["datasets"] as? [[String: Any]])
        let sources = try #require(datasets.first?["sources"] as? [[String: String]])
        #expect(sources.first?["path"] == "data/rows.csv" && sources.first?["sha256"] == csv)

        let run = try ws.run(["lineage", "container:app", "--json"])
        #expect(run.status == 0, "\(run.output)")
        let root = try ReleaseFixtures.json(run.stdout)
        #expect(root["target"] as? String == "container:app" && root["status"] as? String == "built")
        #expect((root["image"] as? [String: Any])?["digest"] as? String == (try ReleaseFixtures.digest(ws)))
        let lr = try #require((root["dependencies"] as? [[String: Any]])?.first)
        #expect(lr["target"] as? String == "model:lr" && lr["seed"] as? String == "7")
        #expect((lr["metrics"] as? [String: Any])?["auc"] is Double)
        #expect((lr["parameters"] as? [String: String])?["l2"] == "1.0")
        #expect((lr["action_key"] as? String)?.count == 64)
        let features = try #require((lr["dependencies"] as? [[String: Any]])?.first)
        let dataset = try #require((features["dependencies"] as? [[String: Any]])?.first)
        #expect(dataset["target"] as? String == "dataset:rows")
        #expect((dataset["sources"] as? [[String: String]]) == [["path": "data/rows.csv", "sha256": csv]])

        let text = try ws.run(["lineage", "container:app"])
        #expect(text.stdout.contains("└─ data/rows.csv  sha256:\(csv)"), "\(text.stdout)")

        // Stale after an edit, and said so.
        try ws.write("data/rows.csv", MLFixtures.csv(rows: 401))
        let stale = try ReleaseFixtures.json(try ws.run(["lineage", "model:lr", "--json"]).stdout)
        #expect(stale["status"] as? String == "stale")
    }

    @Test func anImageTellsItsLineageFromItsAnnotationsAlone() throws {
        let ws = try ReleaseFixtures.workspace()
        #expect(try ws.build(["container:app"]).result.status == 0)
        let csv = try ReleaseFixtures.sha256(ws, "data/rows.csv")
        let digest = try ReleaseFixtures.digest(ws)
        // Copied away from the workspace: nothing but the archive is read.
        let elsewhere = try TemporaryDirectory()
        try FileManager.default.copyItem(atPath: "\(ws.path)/build/container/app/image.tar", toPath: "\(elsewhere.path)/image.tar")
        let run = try ProcessRunner.run(MLBuildBinary.path, ["lineage", "--image", "image.tar", "--json"], in: elsewhere.path)
        #expect(run.status == 0, "\(run.output)")
        let document = try ReleaseFixtures.json(run.stdout)
        #expect(document["image"] as? String == digest)
        #expect(document["model"] as? String == "model:lr")
        let lineage = try #require(document["lineage"] as? [String: Any])
        #expect(lineage["target"] as? String == "model:lr")
        let datasets = try #require(lineage["datasets"] as? [[String: Any]])
        #expect((datasets.first?["sources"] as? [[String: Any]])?.first?["sha256"] as? String == csv)
        #expect((document["metrics"] as? [String: Any])?["auc"] is Double)
        let text = try ProcessRunner.run(MLBuildBinary.path, ["lineage", "--image", "image.tar"], in: elsewhere.path)
        #expect(text.stdout.contains("data/rows.csv  sha256:\(csv)"), "\(text.stdout)")
        let missing = try ProcessRunner.run(MLBuildBinary.path, ["lineage", "--image", "nope.tar"], in: elsewhere.path)
        #expect(missing.status == 1 && missing.stderr.contains("nope.tar"))
    }

    @Test func usesListsEveryTargetAndReleaseMadeFromAFile() throws {
        let ws = try ReleaseFixtures.workspace()
        #expect(try ws.build(["container:app"]).result.status == 0)
        let release = try ws.run(["release", "container:app", "--channel", "prod"])
        #expect(release.status == 0, "\(release.output)")
        let run = try ws.run(["lineage", "--uses", "data/rows.csv", "--json"])
        #expect(run.status == 0, "\(run.output)")
        let uses = try ReleaseFixtures.json(run.stdout)
        #expect(Set(uses["targets"] as? [String] ?? []) == ["dataset:rows", "features:rows", "model:lr", "model:gbt", "container:app"])
        #expect(uses["direct"] as? [String] == ["dataset:rows"])
        let releases = try #require(uses["releases"] as? [[String: Any]])
        let digest = try ReleaseFixtures.digest(ws)
        #expect(releases.count == 1 && releases.first?["image_digest"] as? String == digest)
        #expect(releases.first?["same_bytes_as_now"] as? Bool == true)
        let none = try ws.run(["lineage", "--uses", "Mlfile.nothing"])
        #expect(none.stdout.contains("no target or release uses"))
        #expect(try ws.run(["lineage"]).status == 2)
    }
}
