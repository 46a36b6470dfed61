import Foundation
import MLBuildTestSupport
import Testing

/// Shared plumbing of the `mlbuild serve` tests: a workspace with built models, a started
/// server (a real process on a loopback port, `ServeProcess`), JSON helpers, and `predict`'s
/// answer to compare with.
enum ServeFixture {
    /// MLFixtures' workspace with `models` built.
    static func built(_ models: [String] = ["model:lr"]) throws -> MLBuildWorkspace {
        let ws = try MLFixtures.workspace()
        let build = try ws.build(models)
        #expect(build.result.status == 0, "\(build.result.output)")
        return ws
    }

    /// `mlbuild serve ARGUMENTS --port 0`, listening.
    static func start(_ ws: MLBuildWorkspace, _ arguments: [String]) throws -> ServeProcess {
        let server = try ServeProcess(ws, arguments + ["--port", "0"])
        try #require(server.waitUntilListening() != nil, "the server did not start: \(server.stderr)")
        return server
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
    }

    static func json(_ response: HTTPConnection.Response) throws -> [String: Any] { try json(response.text) }

    /// The fixture's CSV rows as JSON `{"rows": …}`: numbers as numbers, blanks as null.
    static func jsonRows(_ csv: String) -> String {
        let lines = csv.split(separator: "\n").map(String.init)
        let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let rows = lines.dropFirst().map { line -> String in
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let members = zip(header, cells).map { name, cell -> String in
                let value: String
                if cell.isEmpty { value = "null" } else if ["amount", "score"].contains(name) { value = cell } else { value = "\"\(cell)\"" }
                return "\"\(name)\":\(value)"
            }
            return "{" + members.joined(separator: ",") + "}"
        }
        return "{\"rows\":[" + rows.joined(separator: ",") + "]}"
    }

    /// `mlbuild predict MODEL --input FILE`'s standard output (the test fails if predict does).
    static func predict(_ ws: MLBuildWorkspace, _ model: String, _ file: String) throws -> String {
        let run = try ws.run(["predict", model, "--input", file])
        #expect(run.status == 0, "\(run.output)")
        return run.stdout
    }

    /// `sha256:HEX` of a workspace file, by `mlbuild hash`.
    static func digest(_ ws: MLBuildWorkspace, _ path: String) throws -> String {
        let out = try ws.run(["hash", path]).stdout
        let hex = try #require(out.split(whereSeparator: { !$0.isHexDigit }).first { $0.count == 64 }, "no digest in \(out)")
        return "sha256:" + hex
    }

    static let csvType = [("Content-Type", "text/csv")]
    static let jsonType = [("Content-Type", "application/json")]
}
