import Foundation
import MLBuildTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A real `mlbuild serve` process on a free loopback port (`--port 0`; the port is read from its
/// "listening on" line), spoken to with curl. Stopped with SIGTERM by `stop()`.
final class ServeProcess: @unchecked Sendable {  // used from one test at a time
    let process = Process()
    let stderrPath: String
    private(set) var base = ""

    init(_ ws: MLBuildWorkspace, _ arguments: [String]) throws {
        stderrPath = "\(ws.path)/.serve-stderr-\(UInt64.random(in: 0 ... .max))"
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: MLBuildBinary.path)
        process.arguments = ["serve"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: ws.path)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        try process.run()
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits for `listening on http://HOST:PORT` (nil if the process exits or 60 s pass first).
    func waitUntilListening() -> String? {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let range = stderr.range(of: "listening on ") {
                let rest = stderr[range.upperBound...]
                if let end = rest.firstIndex(of: "\n") {
                    base = String(rest[..<end])
                    return base
                }
            }
            if !process.isRunning { return nil }
            usleep(20_000)
        }
        return nil
    }

    /// One HTTP request with curl: (status, body).
    func request(_ method: String, _ path: String, contentType: String? = nil, bodyFile: String? = nil) throws -> (status: Int, body: String) {
        var arguments = ["-sS", "-X", method, "-w", "\n%{http_code}", base + path]
        if let contentType { arguments += ["-H", "Content-Type: \(contentType)"] }
        if let bodyFile { arguments += ["--data-binary", "@\(bodyFile)"] }
        let result = try ProcessRunner.run("/usr/bin/curl", arguments)
        let text = result.stdout
        guard let newline = text.lastIndex(of: "\n"), let status = Int(text[text.index(after: newline)...]) else {
            Issue.record("curl \(arguments): \(result.output)")
            return (0, text)
        }
        return (status, String(text[..<newline]))
    }

    /// SIGTERM, then the exit status.
    func stop() -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

@Suite("mlbuild serve", .serialized)
struct ServeTests {
    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// The fixture's rows as JSON `{"rows": …}`: numbers as numbers, blanks as null.
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

    @Test(.timeLimit(.minutes(5))) func answersEqualPredictForCSVAndJSONAcrossTwoModels() throws {
        let ws = try MLFixtures.workspace()
        #expect(try ws.build(["model:lr", "model:gbt"]).result.status == 0)
        try ws.write("rows.csv", MLFixtures.csv(rows: 60, start: 1000))
        try ws.write("rows.json", Self.jsonRows(MLFixtures.csv(rows: 60, start: 1000)))
        let server = try ServeProcess(ws, ["model:lr", "build/model/gbt/model.json", "--port", "0"])
        #expect(server.waitUntilListening() != nil, "\(server.stderr)")
        for model in ["lr", "gbt"] {
            let predicted = try ws.run(["predict", "model:\(model)", "--input", "rows.csv"])
            #expect(predicted.status == 0, "\(predicted.output)")
            let csv = try server.request("POST", "/v1/models/\(model)/predict", contentType: "text/csv", bodyFile: "\(ws.path)/rows.csv")
            #expect(csv.status == 200)
            #expect(csv.body == predicted.stdout, "CSV in, CSV out: byte-identical to predict")

            let answer = try server.request("POST", "/v1/models/\(model)/predict", contentType: "application/json; charset=utf-8", bodyFile: "\(ws.path)/rows.json")
            #expect(answer.status == 200, "\(answer.body)")
            let object = try Self.json(answer.body)
            #expect(object["model"] as? String == model)
            let digest = try ProcessRunner.run(MLBuildBinary.path, ["hash", "build/model/\(model)/model.json"], in: ws.path).stdout
            let modelDigest = try #require(object["model_digest"] as? String)
            #expect(modelDigest.hasPrefix("sha256:") && digest.contains(String(modelDigest.dropFirst(7))), "\(modelDigest) vs \(digest)")
            let predictions = try #require(object["predictions"] as? [[String: Any]])
            let lines = predicted.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
            #expect(predictions.count == lines.count)
            // The numbers are compared as text: Foundation's JSONSerialization on Linux can round
            // a 17-digit number to a neighbouring double, the server's text is predict's text.
            let probabilities = answer.body.split(separator: "\n").compactMap { line -> String? in
                guard let range = line.range(of: "\"probability\": ") else { return nil }
                return String(line[range.upperBound...]).trimmingCharacters(in: CharacterSet(charactersIn: ", "))
            }
            #expect(probabilities == lines.map { $0[2] }, "same number text as predict")
            for (p, fields) in zip(predictions, lines) {
                #expect(p["id"] as? String == fields[0])
                #expect(p["prediction"] as? String == fields[1])
            }
        }
        let models = try Self.json(try server.request("GET", "/v1/models").body)
        let listed = try #require(models["models"] as? [[String: Any]])
        #expect(listed.compactMap { $0["name"] as? String } == ["gbt", "lr"])
        #expect(listed.compactMap { $0["algorithm"] as? String } == ["gradient_boosting", "logistic_regression"])
        #expect((listed.first?["input_columns"] as? [[String: Any]])?.count == 6)
        #expect(try server.request("GET", "/healthz").status == 200)
        #expect(try server.request("GET", "/readyz").status == 200)
        #expect(server.stop() == 0, "SIGTERM stops the server with exit 0: \(server.stderr)")
    }

    @Test(.timeLimit(.minutes(5))) func everyErrorAnswersJSONWithItsStatus() throws {
        let ws = try MLFixtures.workspace()
        #expect(try ws.build(["model:lr"]).result.status == 0)
        // Rows 1 and 3 (from 0) are broken: a category outside the list, a negative amount.
        try ws.write("bad.csv", MLFixtures.header + "\nA,1.0,basic,1,yes,no\nB,2.0,gold,1,yes,no\nC,3.0,pro,1,no,yes\nD,-4.0,plus,,yes,no\n")
        try ws.write("bad.json", "{\"rows\":[{\"id\":\"A\",\"amount\":1,\"plan\":\"basic\",\"score\":1,\"active\":\"yes\"},{\"id\":\"B\",\"amount\":2,\"plan\":\"gold\",\"score\":1,\"active\":\"yes\"},{\"id\":\"C\",\"amount\":-3,\"plan\":\"pro\",\"score\":null,\"active\":\"no\"}]}")
        try ws.write("malformed.json", "{\"rows\": [")
        try ws.write("big.csv", MLFixtures.csv(rows: 200))
        let server = try ServeProcess(ws, ["model:lr", "--port", "0", "--max-body-bytes", "2000"])
        #expect(server.waitUntilListening() != nil, "\(server.stderr)")

        let csv = try server.request("POST", "/v1/models/lr/predict", contentType: "text/csv", bodyFile: "\(ws.path)/bad.csv")
        #expect(csv.status == 422, "\(csv.body)")
        let csvRows = try #require(try Self.json(csv.body)["rows"] as? [[String: Any]])
        #expect(csvRows.compactMap { $0["row"] as? Int } == [1, 3])
        #expect(csvRows.compactMap { $0["column"] as? String } == ["plan", "amount"])
        #expect(csvRows.allSatisfy { ($0["rule"] as? String)?.isEmpty == false })

        let json = try server.request("POST", "/v1/models/lr/predict", contentType: "application/json", bodyFile: "\(ws.path)/bad.json")
        #expect(json.status == 422, "\(json.body)")
        let jsonRows = try #require(try Self.json(json.body)["rows"] as? [[String: Any]])
        #expect(jsonRows.compactMap { $0["row"] as? Int } == [1, 2])

        let malformed = try server.request("POST", "/v1/models/lr/predict", contentType: "application/json", bodyFile: "\(ws.path)/malformed.json")
        #expect(malformed.status == 400)
        #expect(try Self.json(malformed.body)["error"] is String)
        let plain = try server.request("POST", "/v1/models/lr/predict", contentType: "text/plain", bodyFile: "\(ws.path)/bad.csv")
        #expect(plain.status == 415)
        #expect(try Self.json(plain.body)["error"] is String)
        let big = try server.request("POST", "/v1/models/lr/predict", contentType: "text/csv", bodyFile: "\(ws.path)/big.csv")
        #expect(big.status == 413)
        #expect(try Self.json(big.body)["error"] is String)
        let unknown = try server.request("POST", "/v1/models/nope/predict", contentType: "text/csv", bodyFile: "\(ws.path)/bad.csv")
        #expect(unknown.status == 404)
        #expect((try Self.json(unknown.body)["error"] as? String)?.contains("nope") == true)
        // The server survived all of that.
        #expect(try server.request("GET", "/healthz").status == 200)
        #expect(server.stop() == 0, "\(server.stderr)")
    }

    @Test func aCorruptModelIsRefusedAtStartNamingTheFile() throws {
        let ws = try MLFixtures.workspace()
        try ws.write("broken/model.json", "{\"format\": \"mlbuild-model\", \"format_version\": 1}")
        let run = try ws.run(["serve", "broken/model.json", "--port", "0"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("broken/model.json"), "\(run.stderr)")
    }
}
