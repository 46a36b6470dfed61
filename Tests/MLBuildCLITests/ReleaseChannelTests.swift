import Foundation
import MLBuildTestSupport
import Testing

@Suite struct ReleaseChannelTests {
    @Test func releaseRecordsAndRollbackRestoresTheExactPreviousImage() throws {
        let ws = try ReleaseFixtures.workspace()
        let notBuilt = try ws.run(["release", "container:app", "--channel", "prod"])
        #expect(notBuilt.status == 1 && notBuilt.stderr.contains("build it first: mlbuild container:app"), "\(notBuilt.output)")

        #expect(try ws.build(["container:app"]).result.status == 0)
        let first = try ReleaseFixtures.digest(ws)
        let released = try ws.run(["release", "container:app", "--channel", "prod", "--note", "first", "--json"])
        #expect(released.status == 0, "\(released.output)")
        let record = try ReleaseFixtures.json(released.stdout)
        #expect(record["image_digest"] as? String == first)
        #expect(record["who"] as? String == "releaser@example.com")
        #expect(record["git_revision"] as? String == (try ReleaseFixtures.git(ws, "git rev-parse HEAD")))
        #expect((record["metrics"] as? [String: Any])?["auc"] is Double)
        #expect(((record["gates"] as? [[String: Any]])?.first)?["metric"] as? String == "auc")
        #expect((record["model_digest"] as? String)?.hasPrefix("sha256:") == true)

        // A dirty tree is refused unless allowed.
        try ws.write("Mlfile", ReleaseFixtures.mlfile(l2: "0.5"))
        #expect(try ws.build(["container:app"]).result.status == 0)
        let dirty = try ws.run(["release", "container:app", "--channel", "prod"])
        #expect(dirty.status == 1 && dirty.stderr.contains("--allow-dirty"), "\(dirty.output)")
        try ReleaseFixtures.git(ws, "git commit -q -am 'l2 0.5'")
        // The image is labelled with its revision: built again at the commit.
        #expect(try ws.build(["container:app"]).result.status == 0)
        let second = try ReleaseFixtures.digest(ws)
        #expect(second != first)
        #expect(try ws.run(["release", "container:app", "--channel", "prod", "--note", "second"]).status == 0)

        let list = try ws.run(["releases", "--channel", "prod", "--json"])
        let rows = try list.stdout.split(separator: "\n").map { try ReleaseFixtures.json(String($0)) }
        #expect(rows.map { $0["image_digest"] as? String } == [second, first])
        #expect(rows.map { $0["current"] as? Bool } == [true, false])

        // Roll back: the channel points at the first release, its image is restored bit for bit.
        let rollback = try ws.run(["rollback", "--channel", "prod", "--json"])
        #expect(rollback.status == 0, "\(rollback.output)")
        #expect(try ReleaseFixtures.json(rollback.stdout)["restored_from"] as? String == "the local cache")
        #expect(try ReleaseFixtures.digest(ws) == first)
        #expect(try ws.run(["container", "verify", "build/container/app/image.tar"]).stdout.contains("manifest \(first)"))
        let after = try ws.run(["releases", "--channel", "prod", "--json"]).stdout.split(separator: "\n").map { try ReleaseFixtures.json(String($0)) }
        #expect(after.map { $0["current"] as? Bool } == [false, true])
        // Nothing older to go back to; --to names one explicitly.
        let nothing = try ws.run(["rollback", "--channel", "prod"])
        #expect(nothing.status == 1 && nothing.stderr.contains("no release before"), "\(nothing.output)")
        #expect(try ws.run(["rollback", "--channel", "prod", "--to", "2"]).status == 0)
        #expect(try ReleaseFixtures.digest(ws) == second)
        #expect(try ws.run(["rollback", "--channel", "staging"]).status == 1)

        let audit = try ws.run(["audit", "--json"])
        let actions = audit.stdout.split(separator: "\n").compactMap { try? ReleaseFixtures.json(String($0))["action"] as? String }
        #expect(actions.filter { $0 == "release" }.count == 2 && actions.filter { $0 == "rollback" }.count == 2)
        #expect(actions.contains("build"))
        #expect(try ws.run(["audit", "--verify"]).status == 0)
    }

    @Test func rollbackRestoresFromTheRemoteCacheAlone() throws {
        let server = try NginxServer()
        defer { server.stop() }
        let remote = ["--remote-cache", server.baseURL.absoluteString]
        let ws = try ReleaseFixtures.workspace()
        #expect(try ws.build(["container:app"] + remote).result.status == 0)
        let first = try ReleaseFixtures.digest(ws)
        let firstImage = try MLFixtures.bytes(ws, "build/container/app/image.tar")
        #expect(try ws.run(["release", "container:app", "--channel", "prod"]).status == 0)
        try ReleaseFixtures.changeModel(ws, l2: "0.25")
        #expect(try ws.build(["container:app"] + remote).result.status == 0)
        #expect(try ws.run(["release", "container:app", "--channel", "prod"]).status == 0)

        // The local cache is lost; the remote one still holds the first image.
        try FileManager.default.removeItem(atPath: ws.cacheDirectory)
        try FileManager.default.createDirectory(atPath: ws.cacheDirectory, withIntermediateDirectories: true)
        let rollback = try ws.run(["rollback", "--channel", "prod", "--json"] + remote)
        #expect(rollback.status == 0, "\(rollback.output)")
        #expect(try ReleaseFixtures.json(rollback.stdout)["restored_from"] as? String == "the remote cache")
        #expect(try ReleaseFixtures.digest(ws) == first)
        #expect(try MLFixtures.bytes(ws, "build/container/app/image.tar") == firstImage)
        #expect(try ws.run(["audit", "--verify"]).status == 0)
    }

    @Test func withNoCacheTheImageIsRebuiltAtItsRevisionAndChecked() throws {
        let ws = try ReleaseFixtures.workspace()
        #expect(try ws.build(["container:app"]).result.status == 0)
        let first = try ReleaseFixtures.digest(ws)
        #expect(try ws.run(["release", "container:app", "--channel", "prod"]).status == 0)
        try ReleaseFixtures.changeModel(ws, l2: "0.25")
        #expect(try ws.build(["container:app"]).result.status == 0)
        #expect(try ws.run(["release", "container:app", "--channel", "prod"]).status == 0)
        try FileManager.default.removeItem(atPath: ws.cacheDirectory)
        let rollback = try ws.run(["rollback", "--channel", "prod", "--json"])
        #expect(rollback.status == 0, "\(rollback.output)")
        #expect(try ReleaseFixtures.json(rollback.stdout)["restored_from"] as? String == "a rebuild at the recorded revision")
        #expect(try ReleaseFixtures.digest(ws) == first)
        // The worktree is gone again.
        #expect(try ReleaseFixtures.git(ws, "git worktree list | wc -l") == "1")
    }

    @Test func approvalsArePerImageAndChannelAndCounted() throws {
        let ws = try ReleaseFixtures.workspace(mlfile: ReleaseFixtures.mlfile(approvals: 2))
        #expect(try ws.build(["container:app"]).result.status == 0)
        let none = try ws.run(["release", "container:app", "--channel", "prod"])
        #expect(none.status == 1 && none.stderr.contains("needs 2 distinct approvals for prod (require_approval), has none"), "\(none.output)")
        let approve = try ws.run(["approve", "container:app", "--channel", "prod", "--as", "ana"])
        #expect(approve.status == 0 && approve.stdout.contains("1 of 2 required"), "\(approve.output)")
        #expect(try ws.run(["approve", "container:app", "--channel", "prod", "--as", "ana"]).stdout.contains("already approved"))
        // Approvals for staging do not count for prod.
        #expect(try ws.run(["approve", "container:app", "--channel", "staging", "--as", "bo"]).status == 0)
        let one = try ws.run(["release", "container:app", "--channel", "prod"])
        #expect(one.status == 1 && one.stderr.contains("has 1 (ana)"), "\(one.output)")
        let released = try ws.run(["release", "container:app", "--channel", "prod", "--approve-by", "bo", "--json"])
        #expect(released.status == 0, "\(released.output)")
        #expect(try ReleaseFixtures.json(released.stdout)["approvals"] as? [String] == ["ana", "bo"])
        let badKey = try ws.run(["approve", "container:app", "--channel", "no such"])
        #expect(badKey.status == 2)
    }

    @Test func outsideGitTheReleaseSaysItHasNoRevision() throws {
        let ws = try MLBuildWorkspace(mlfile: ReleaseFixtures.mlfile())
        try ws.write("data/rows.csv", MLFixtures.csv(rows: 400))
        #expect(try ws.build(["container:app"]).result.status == 0)
        let release = try ws.run(["release", "container:app", "--channel", "prod", "--json"], environment: ["GIT_CEILING_DIRECTORIES": ws.path])
        #expect(release.status == 0, "\(release.output)")
        #expect(release.stderr.contains("the release records no revision"), "\(release.stderr)")
        #expect(try ReleaseFixtures.json(release.stdout)["git_revision"] is NSNull)
    }

    @Test func promoteCopiesTheCurrentReleaseToAnotherChannel() throws {
        let ws = try ReleaseFixtures.workspace()
        #expect(try ws.build(["container:app"]).result.status == 0)
        #expect(try ws.run(["release", "container:app", "--channel", "staging"]).status == 0)
        let promote = try ws.run(["promote", "--from", "staging", "--to", "prod", "--json"])
        #expect(promote.status == 0, "\(promote.output)")
        let record = try ReleaseFixtures.json(promote.stdout)
        #expect(record["channel"] as? String == "prod" && record["promoted_from"] as? Int == 1)
        #expect(record["image_digest"] as? String == (try ReleaseFixtures.digest(ws)))
        #expect(try ws.run(["promote", "--from", "qa", "--to", "prod"]).status == 1)
    }

    @Test func releaseWithARegistryPushesAndRollbackPushesAgain() throws {
        let registry = try DockerRegistryServer()
        defer { registry.stop() }
        guard let skopeo = ContainerFixtures.tool("skopeo") else { return }
        let ws = try ReleaseFixtures.workspace()
        let reference = "\(registry.host)/ml/app:prod"
        #expect(try ws.build(["container:app"]).result.status == 0)
        let first = try ReleaseFixtures.digest(ws)
        let release = try ws.run(["release", "container:app", "--channel", "prod", "--registry", reference, "--insecure"])
        #expect(release.status == 0, "\(release.output)")
        func remoteDigest() throws -> String? {
            let inspect = try ProcessRunner.run(skopeo, ["inspect", "--tls-verify=false", "docker://\(reference)"])
            return try ReleaseFixtures.json(inspect.stdout)["Digest"] as? String
        }
        #expect(try remoteDigest() == first)
        try ReleaseFixtures.changeModel(ws, l2: "0.25")
        #expect(try ws.build(["container:app"]).result.status == 0)
        // The channel remembers its registry.
        #expect(try ws.run(["release", "container:app", "--channel", "prod", "--insecure"]).status == 0)
        #expect(try remoteDigest() == (try ReleaseFixtures.digest(ws)))
        let rollback = try ws.run(["rollback", "--channel", "prod", "--insecure"])
        #expect(rollback.status == 0, "\(rollback.output)")
        #expect(try remoteDigest() == first)
        let pushes = try ws.run(["audit", "--json"]).stdout.split(separator: "\n").filter { $0.contains("\"action\":\"push\"") }
        #expect(pushes.count == 3)
    }
}
