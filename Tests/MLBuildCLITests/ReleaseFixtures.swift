import Foundation
import MLBuildTestSupport
import Testing

/// A git workspace with dataset → features → models and `container:app` packing `model:lr`,
/// for the release, provenance, lineage, audit and monitor tests.
enum ReleaseFixtures {
    static let gitEnvironment: [String: String?] = [
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
        // Fixed dates: two workspaces with the same files have the same commit (the image's revision).
        "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    ]

    static func mlfile(l2: String = "1.0", approvals: Int? = nil, extra: String = "") -> String {
        MLFixtures.mlfile(l2: l2) + """

        container app: model:lr
            tag = app-1.0
        \(approvals.map { "    require_approval = \($0)\n" } ?? "")
        \(extra)
        """
    }

    /// The workspace, committed (the release commands refuse a dirty tree), with
    /// `git config user.email releaser@example.com`.
    static func workspace(mlfile: String = ReleaseFixtures.mlfile(), cacheDirectory: String? = nil) throws -> MLBuildWorkspace {
        let ws = try MLBuildWorkspace(mlfile: mlfile, cacheDirectory: cacheDirectory)
        try ws.write("data/rows.csv", MLFixtures.csv(rows: 400))
        try ws.write(".gitignore", "build/\ncache/\n.mlbuild/\n*.key\n")
        try git(ws, "git init -q && git config user.email releaser@example.com && git config user.name r && git add -A && git commit -q -m one")
        return ws
    }

    @discardableResult
    static func git(_ ws: MLBuildWorkspace, _ command: String) throws -> String {
        let result = try ProcessRunner.shell(command, in: ws.path, environment: gitEnvironment)
        #expect(result.status == 0, "\(command): \(result.output)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Edits the Mlfile (l2) and commits, so the next build makes another image.
    static func changeModel(_ ws: MLBuildWorkspace, l2: String, approvals: Int? = nil) throws {
        try ws.write("Mlfile", mlfile(l2: l2, approvals: approvals))
        try git(ws, "git commit -q -am 'l2 \(l2)'")
    }

    static func digest(_ ws: MLBuildWorkspace) throws -> String {
        try ws.read("build/container/app/digest").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
    }

    static func sha256(_ ws: MLBuildWorkspace, _ path: String) throws -> String {
        let result = try ProcessRunner.run("/usr/bin/sha256sum", ["\(ws.path)/\(path)"])
        return result.stdout.split(separator: " ").first.map(String.init) ?? ""
    }
}
