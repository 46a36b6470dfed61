import Foundation
import MLBuildTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Verification by digest, at start and at reload (SIGHUP and a changed file): a model that
/// does not verify is refused at start, and at reload the old one keeps serving.
@Suite("mlbuild serve: verification and reload", .serialized)
struct ServeReloadTests {
    static let corrupt = "{\"format\": \"mlbuild-model\", \"format_version\": 1}"

    static func servedDigest(_ server: ServeProcess, _ name: String) throws -> String? {
        let models = try ServeFixture.json(try server.request("GET", "/v1/models"))["models"] as? [[String: Any]]
        return models?.first { $0["name"] as? String == name }?["digest"] as? String
    }

    @Test func aCorruptModelIsRefusedAtStartNamingTheFileAndItsDigest() throws {
        let ws = try MLFixtures.workspace()
        try ws.write("broken/model.json", Self.corrupt)
        let digest = try ServeFixture.digest(ws, "broken/model.json")
        let run = try ws.run(["serve", "broken/model.json", "--port", "0"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("broken/model.json"), "\(run.stderr)")
        #expect(run.stderr.contains(digest), "names the digest of the bytes it could not use: \(run.stderr)")
        #expect(!run.stderr.contains("listening on"))
    }

    @Test func aModelThatIsNotTheBuildsOutputIsRefused() throws {
        let ws = try ServeFixture.built()
        let built = try ServeFixture.digest(ws, "build/model/lr/model.json")
        // Same valid model, one byte more: it decodes, but it is not what the build recorded.
        let text = try ws.read("build/model/lr/model.json")
        try ws.write("build/model/lr/model.json", text + "\n")
        let edited = try ServeFixture.digest(ws, "build/model/lr/model.json")
        let run = try ws.run(["serve", "model:lr", "--port", "0"])
        #expect(run.status == 1)
        for needle in ["build/model/lr/model.json", edited, built, ".mlbuild/state"] {
            #expect(run.stderr.contains(needle), "\(needle) in \(run.stderr)")
        }
        // The same file named by path is a recorded output too: checked the same way.
        let byPath = try ws.run(["serve", "./build/model/lr/model.json", "--port", "0"])
        #expect(byPath.status == 1)
        #expect(byPath.stderr.contains(edited) && byPath.stderr.contains(built), "\(byPath.stderr)")
        // A copy elsewhere, pinned: wrong pin refused, right pin served.
        try ws.write("copy/model.json", text)
        let wrong = try ws.run(["serve", "copy/model.json", "--port", "0", "--expect-digest", edited])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains(built) && wrong.stderr.contains(edited) && wrong.stderr.contains("--expect-digest"), "\(wrong.stderr)")
        // Served under the name its lineage records (model:lr), wherever the file lies.
        let server = try ServeFixture.start(ws, ["copy/model.json", "--expect-digest", "lr=\(built)"])
        #expect(try Self.servedDigest(server, "lr") == built)
        #expect(try server.request("GET", "/readyz").status == 200)
        #expect(server.stop() == 0)
    }

    /// A corrupt file at reload (SIGHUP, and the file changing on its own) keeps the old model
    /// serving and logs why; a good rebuild switches the digest, in /v1/models, in answers and
    /// in /metrics.
    @Test(.timeLimit(.minutes(5))) func reloadKeepsTheOldModelUntilANewOneVerifies() throws {
        let ws = try ServeFixture.built()
        let original = try ServeFixture.digest(ws, "build/model/lr/model.json")
        let goodText = try ws.read("build/model/lr/model.json")
        let rows = Array(MLFixtures.csv(rows: 10, start: 300).utf8)
        let server = try ServeFixture.start(ws, ["model:lr"])
        let before = try server.request("POST", "/v1/models/lr/predict", headers: ServeFixture.csvType, body: rows)
        #expect(before.status == 200)

        // 1. The file changes to garbage: the poll notices, the reload fails, the old model serves.
        try ws.write("build/model/lr/model.json", Self.corrupt)
        let corruptDigest = try ServeFixture.digest(ws, "build/model/lr/model.json")
        let failed = server.waitForLog { $0["event"] as? String == "reload_failed" }
        #expect(failed?["model"] as? String == "lr")
        #expect((failed?["reason"] as? String)?.contains(corruptDigest) == true, "\(failed ?? [:])")
        #expect((failed?["trigger"] as? String)?.contains("changed") == true)
        #expect(failed?["serving_digest"] as? String == original)
        #expect(try Self.servedDigest(server, "lr") == original)
        let during = try server.request("POST", "/v1/models/lr/predict", headers: ServeFixture.csvType, body: rows)
        #expect(during.status == 200 && during.text == before.text, "the old model keeps answering")

        // 2. SIGHUP with the file still broken: the same.
        server.signal(SIGHUP)
        let hup = server.waitForLog { $0["event"] as? String == "reload_failed" && $0["trigger"] as? String == "SIGHUP" }
        #expect(hup != nil, "\(server.stderr)")
        #expect(try Self.servedDigest(server, "lr") == original)
        #expect(server.process.isRunning, "SIGHUP does not stop the server")

        // 3. A real rebuild (another l2): the model and then .mlbuild/state change; the new model serves.
        try ws.write("build/model/lr/model.json", goodText)
        try ws.write("Mlfile", MLFixtures.mlfile(l2: "3.0"))
        let rebuild = try ws.build(["model:lr"])
        #expect(rebuild.result.status == 0, "\(rebuild.result.output)")
        let rebuilt = try ServeFixture.digest(ws, "build/model/lr/model.json")
        #expect(rebuilt != original)
        let switched = server.waitForLog { $0["event"] as? String == "reload" && $0["digest"] as? String == rebuilt }
        #expect(switched?["previous_digest"] as? String == original, "\(server.stderr)")
        #expect(try Self.servedDigest(server, "lr") == rebuilt)
        let after = try server.request("POST", "/v1/models/lr/predict", headers: [("Content-Type", "application/json")],
                                       body: Array(ServeFixture.jsonRows(MLFixtures.csv(rows: 3)).utf8))
        #expect((try ServeFixture.json(after))["model_digest"] as? String == rebuilt)
        // SIGHUP with a good file re-verifies it and keeps serving it.
        server.signal(SIGHUP)
        let good = server.waitForLog { $0["event"] as? String == "reload" && $0["trigger"] as? String == "SIGHUP" }
        #expect(good?["digest"] as? String == rebuilt && good?["changed"] as? Bool == false, "\(good ?? [:])")
        let metrics = try server.request("GET", "/metrics").text
        #expect(metrics.contains("mlbuild_serve_model_info{model=\"lr\",digest=\"\(rebuilt)\"} 1.0"), "\(metrics)")
        #expect(!metrics.contains(original), "the old digest's series is gone")
        #expect(metrics.contains("mlbuild_serve_reloads_total{model=\"lr\",result=\"failed\"}"))
        #expect(metrics.contains("mlbuild_serve_reloads_total{model=\"lr\",result=\"ok\"}"))
        #expect(server.stop() == 0)
    }
}
