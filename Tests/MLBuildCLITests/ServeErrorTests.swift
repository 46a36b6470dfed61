import Foundation
import MLBuildTestSupport
import Testing

/// Every error `mlbuild serve` answers is JSON `{"error": …}` with its status, and none of them
/// hurts the server.
@Suite("mlbuild serve: errors", .serialized)
struct ServeErrorTests {
    @Test(.timeLimit(.minutes(5))) func everyErrorAnswersJSONWithItsStatus() throws {
        let ws = try ServeFixture.built()
        let server = try ServeFixture.start(ws, ["model:lr", "--max-body-bytes", "20000", "--max-rows", "50"])
        let bad = MLFixtures.header + "\nA,1.0,basic,1,yes,no\nB,2.0,gold,1,yes,no\nC,3.0,pro,1,no,yes\nD,-4.0,plus,,yes,no\n"

        func check(_ response: HTTPConnection.Response, _ status: Int, _ mention: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            #expect(response.status == status, "\(response.text)", sourceLocation: sourceLocation)
            #expect(response.header("content-type") == "application/json", sourceLocation: sourceLocation)
            let message = try ServeFixture.json(response)["error"] as? String
            #expect(message?.contains(mention) == true, "\(message ?? response.text)", sourceLocation: sourceLocation)
        }
        let predict = "/v1/models/lr/predict"
        try check(server.request("POST", predict, headers: ServeFixture.jsonType, body: Array("{\"rows\": [".utf8)), 400, "not valid JSON")
        try check(server.request("POST", predict, headers: ServeFixture.jsonType, body: Array("{\"rows\": 3}".utf8)), 400, "rows")
        try check(server.request("POST", predict, headers: ServeFixture.csvType, body: Array("id,amount\nA,1,2\n".utf8)), 400, "request body")
        try check(server.request("POST", predict + "?partial=maybe", headers: ServeFixture.csvType, body: Array(bad.utf8)), 400, "partial")
        try check(server.request("POST", "/v1/models/nope/predict", headers: ServeFixture.csvType, body: Array(bad.utf8)), 404, "nope")
        try check(server.request("GET", "/v2/anything"), 404, "no route")
        try check(server.request("GET", "/"), 404, "no route")
        let wrongMethod = try server.request("GET", predict)
        try check(wrongMethod, 405, "GET is not allowed")
        #expect(wrongMethod.header("allow") == "POST")
        try check(server.request("DELETE", "/v1/models"), 405, "DELETE")
        try check(server.request("POST", "/healthz"), 405, "POST")
        try check(server.request("POST", predict, headers: ServeFixture.csvType, body: Array(MLFixtures.csv(rows: 1000).utf8)), 413, "--max-body-bytes")
        let tooMany = MLFixtures.csv(rows: 51)
        #expect(ServeFixture.jsonRows(tooMany).utf8.count < 20000)
        try check(server.request("POST", predict, headers: ServeFixture.csvType, body: Array(tooMany.utf8)), 413, "51 rows")
        try check(server.request("POST", predict, headers: ServeFixture.jsonType, body: Array(ServeFixture.jsonRows(tooMany).utf8)), 413, "--max-rows")
        #expect(try server.request("POST", predict, headers: ServeFixture.csvType, body: Array(MLFixtures.csv(rows: 50).utf8)).status == 200, "exactly --max-rows is fine")
        try check(server.request("POST", predict, headers: [("Content-Type", "text/plain")], body: Array(bad.utf8)), 415, "text/plain")
        try check(server.request("POST", predict, body: Array(bad.utf8)), 415, "Content-Type")
        let broken = try server.request("POST", predict, headers: ServeFixture.csvType, body: Array(bad.utf8))
        try check(broken, 422, "2 row(s)")
        #expect((try ServeFixture.json(broken)["errors"] as? [[String: Any]])?.compactMap { $0["row"] as? Int } == [1, 3])
        // An array where a cell belongs is that row's error, listed with the schema errors of the others.
        let cellJSON = "{\"rows\":[{\"id\":\"A\",\"amount\":[1],\"plan\":\"basic\",\"score\":null,\"active\":\"yes\"},{\"id\":\"B\",\"amount\":2,\"plan\":\"gold\",\"score\":1.5,\"active\":\"yes\"}]}"
        let cells = try server.request("POST", predict, headers: ServeFixture.jsonType, body: Array(cellJSON.utf8))
        try check(cells, 422, "2 row(s)")
        let cellErrors = try #require(try ServeFixture.json(cells)["errors"] as? [[String: Any]])
        #expect(cellErrors.compactMap { $0["row"] as? Int } == [0, 1])
        #expect(cellErrors.compactMap { $0["column"] as? String } == ["amount", "plan"])
        // The server survived all of that.
        #expect(try server.request("GET", "/healthz").status == 200)
        #expect(server.stop() == 0, "\(server.stderr)")
    }

    @Test func badCommandLinesAreRefusedBeforeListening() throws {
        let ws = try ServeFixture.built()
        for (arguments, message) in [
            (["model:lr", "--max-rows", "0"], "--max-rows"),
            (["model:lr", "--workers", "0"], "--workers"),
            (["model:lr", "--expect-digest", "sha256:1234"], "64 hex"),
            (["model:lr", "--expect-digest", "other=sha256:" + String(repeating: "a", count: 64)], "no served model is named 'other'"),
            (["model:lr", "build/model/lr/model.json"], "both be served as 'lr'"),
        ] {
            let run = try ws.run(["serve"] + arguments + ["--port", "0"])
            #expect(run.status == 2, "\(arguments): \(run.output)")
            #expect(run.stderr.contains(message), "\(arguments): \(run.stderr)")
        }
    }
}
