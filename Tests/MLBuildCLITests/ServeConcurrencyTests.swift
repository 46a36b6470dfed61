import Foundation
import MLBuildTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Many clients at once, and SIGTERM in the middle of them: every answer is `predict`'s, and a
/// request the server accepted before the signal is answered whole.
@Suite("mlbuild serve: concurrency and shutdown", .serialized)
struct ServeConcurrencyTests {
    /// Runs `body(i)` on `count` threads at once and waits for all of them.
    static func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let group = DispatchGroup()
        for i in 0 ..< count {
            group.enter()
            let thread = Thread {
                body(i)
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
    }

    final class SignalClock: @unchecked Sendable {  // `value` behind `lock`
        private let lock = NSLock()
        private var value: Date?
        var time: Date? {
            get { lock.lock(); defer { lock.unlock() }; return value }
            set { lock.lock(); value = newValue; lock.unlock() }
        }
    }

    final class Results: @unchecked Sendable {  // behind `lock`
        let lock = NSLock()
        var items: [(client: Int, sent: Date, status: Int?, body: String, failure: String?, bodyIndex: Int)] = []
        func add(_ item: (client: Int, sent: Date, status: Int?, body: String, failure: String?, bodyIndex: Int)) {
            lock.lock()
            items.append(item)
            lock.unlock()
        }
        var all: [(client: Int, sent: Date, status: Int?, body: String, failure: String?, bodyIndex: Int)] {
            lock.lock()
            defer { lock.unlock() }
            return items
        }
    }

    /// 64 connections open at once, each sending CSV and JSON requests over keep-alive: every
    /// CSV answer is `predict`'s output byte for byte, every JSON answer carries predict's numbers.
    @Test(.timeLimit(.minutes(5))) func sixtyFourConcurrentClientsGetPredictsAnswers() throws {
        let ws = try ServeFixture.built(["model:lr", "model:gbt"])
        let bodies = (0 ..< 4).map { MLFixtures.csv(rows: 40 + $0 * 7, start: 2000 + $0 * 100) }
        var expected: [[String]] = []  // [model][body]
        for model in ["lr", "gbt"] {
            var answers: [String] = []
            for (i, body) in bodies.enumerated() {
                try ws.write("body\(i).csv", body)
                answers.append(try ServeFixture.predict(ws, "model:\(model)", "body\(i).csv"))
            }
            expected.append(answers)
        }
        let server = try ServeFixture.start(ws, ["model:lr", "model:gbt", "--workers", "4"])
        let port = server.port
        let results = Results()
        let clients = 64, perClient = 6
        let ready = DispatchGroup(), go = DispatchSemaphore(value: 0)
        for _ in 0 ..< clients { ready.enter() }
        let expectedAnswers = expected
        DispatchQueue.global().async {
            ready.wait()  // every connection is open before the first request goes out
            for _ in 0 ..< clients { go.signal() }
        }
        Self.onThreads(clients) { client in
            let connection: HTTPConnection
            do {
                connection = try HTTPConnection(port: port)
            } catch {
                results.add((client, Date(), nil, "", "\(error)", 0))
                ready.leave()
                return
            }
            ready.leave()
            go.wait()
            for k in 0 ..< perClient {
                let model = (client + k) % 2, index = (client * 3 + k) % bodies.count
                let json = k % 3 == 2
                let name = model == 0 ? "lr" : "gbt"
                do {
                    let response = try connection.request(
                        "POST", "/v1/models/\(name)/predict", headers: json ? ServeFixture.jsonType : ServeFixture.csvType,
                        body: Array((json ? ServeFixture.jsonRows(bodies[index]) : bodies[index]).utf8))
                    var failure: String?
                    if response.status != 200 {
                        failure = "status \(response.status): \(response.text)"
                    } else if !json, response.text != expectedAnswers[model][index] {
                        failure = "CSV answer differs from predict for \(name) body \(index)"
                    } else if json {
                        let lines = expectedAnswers[model][index].split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
                        if ServePredictTests.numbers("probability", in: response.text) != lines.map({ $0[2] }) {
                            failure = "JSON numbers differ from predict for \(name) body \(index)"
                        }
                    }
                    results.add((client, Date(), response.status, "", failure, index))
                } catch {
                    results.add((client, Date(), nil, "", "\(error)", index))
                }
            }
        }
        let all = results.all
        #expect(all.count == clients * perClient)
        let failures = all.compactMap(\.failure)
        #expect(failures.isEmpty, "\(failures.count) failures, first: \(failures.prefix(3))")
        let metrics = try server.request("GET", "/metrics").text
        #expect(metrics.contains("mlbuild_serve_requests_total{model=\"lr\",code=\"200\"} \(clients * perClient / 2)"), "\(metrics)")
        #expect(server.stop() == 0)
    }

    /// 24 clients keep the server busy with 3000-row requests over keep-alive connections; SIGTERM
    /// arrives in the middle. Every request sent before the signal gets a complete 200 with
    /// predict's answer; new connections are refused while it drains; exit 0 within 10 s.
    @Test(.timeLimit(.minutes(5))) func sigtermUnderLoadLosesNoAcceptedRequest() throws {
        let ws = try ServeFixture.built(["model:gbt"])
        let bodies = (0 ..< 3).map { MLFixtures.csv(rows: 3000, start: 10_000 * ($0 + 1)) }
        var expected: [String] = []
        for (i, body) in bodies.enumerated() {
            try ws.write("load\(i).csv", body)
            expected.append(try ServeFixture.predict(ws, "model:gbt", "load\(i).csv"))
        }
        let server = try ServeFixture.start(ws, ["model:gbt", "--workers", "2"])
        let port = server.port
        let results = Results()
        let clock = SignalClock()
        let expectedAnswers = expected
        let clients = 24
        let load = Thread {
            Self.onThreads(clients) { client in
                guard let connection = try? HTTPConnection(port: port) else {
                    results.add((client, Date(), nil, "", "could not connect before the signal", 0))
                    return
                }
                var k = 0
                while true {
                    if let signalled = clock.time, Date().timeIntervalSince(signalled) > 0.5 { return }
                    let index = (client + k) % bodies.count
                    k += 1
                    let sent: Date
                    do {
                        try connection.send("POST", "/v1/models/gbt/predict", headers: ServeFixture.csvType, body: Array(bodies[index].utf8))
                        sent = Date()
                    } catch {
                        return  // the server closed this connection (after answering): it is draining
                    }
                    do {
                        let response = try connection.receive()
                        let ok = response.status == 200 && response.text == expectedAnswers[index]
                        results.add((client, sent, response.status, "", ok ? nil : "status \(response.status), answer equal: \(response.text == expectedAnswers[index])", index))
                        if response.header("connection")?.lowercased() == "close" { return }
                    } catch {
                        results.add((client, sent, nil, "", "\(error)", index))
                        return
                    }
                }
            }
        }
        load.start()
        // Let the load build up: some requests answered, many queued.
        let start = Date()
        while results.all.count < 40 && Date().timeIntervalSince(start) < 120 { usleep(20_000) }
        let signalled = Date()  // taken first: "sent before" is then strictly before the kill
        server.signal(SIGTERM)
        clock.time = signalled
        usleep(150_000)
        let stillDraining = server.process.isRunning
        let refused = (try? HTTPConnection(port: port)) == nil
        let status = server.waitForExit(timeout: 15)
        let stopped = Date()
        while !load.isFinished && Date().timeIntervalSince(stopped) < 30 { usleep(20_000) }

        #expect(status == 0, "exit status after SIGTERM: \(String(describing: status))\n\(server.stderr.suffix(2000))")
        #expect(stopped.timeIntervalSince(signalled) < 10, "drained and exited within 10 s")
        if stillDraining { #expect(refused, "a new connection while draining is refused") }
        let beforeSignal = results.all.filter { $0.sent < signalled }
        let lost = beforeSignal.filter { $0.failure != nil }
        #expect(lost.isEmpty, "\(lost.count) of \(beforeSignal.count) requests sent before SIGTERM were not answered whole: \(lost.prefix(3).map { $0.failure ?? "" })")
        let inFlight = results.all.filter { $0.sent < signalled && $0.status == 200 }.count
        #expect(beforeSignal.count >= 40 && inFlight == beforeSignal.count)
        // Draining really happened: requests accepted before the signal were answered after it.
        let log = server.logLines
        let drainStart = log.firstIndex { ($0["event"] as? String) == "shutdown" && ($0["phase"] as? String) == "draining" }
        let answeredAfter = drainStart.map { i in log[(i + 1)...].filter { ($0["event"] as? String) == "request" && ($0["status"] as? Int) == 200 }.count } ?? 0
        #expect(drainStart != nil && answeredAfter > 0, "requests were answered while draining: \(answeredAfter)")
        #expect(log.contains { ($0["event"] as? String) == "shutdown" && ($0["phase"] as? String) == "stopped" })
    }

    /// A client that stops halfway through its body keeps a request in flight forever: the
    /// shutdown deadline cuts it, and the server still exits 0 within 10 s of SIGTERM.
    @Test(.timeLimit(.minutes(3))) func aStalledRequestIsCutAtTheDeadline() throws {
        let ws = try ServeFixture.built()
        let server = try ServeFixture.start(ws, ["model:lr"])
        let stalled = try HTTPConnection(port: server.port, timeout: 30)
        let body = Array(MLFixtures.csv(rows: 20).utf8)
        let head = "POST /v1/models/lr/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/csv\r\nContent-Length: \(body.count)\r\n\r\n"
        try stalled.sendRaw(Array(head.utf8) + body.prefix(10))
        // Signal only once the server handles the stalled request (it and this /metrics call
        // in flight): on a loaded machine a fixed pause could signal before it was read.
        let waitStart = Date()
        var handling = false
        while !handling && Date().timeIntervalSince(waitStart) < 30 {
            handling = (try? server.request("GET", "/metrics").text)?.contains("mlbuild_serve_in_flight_requests 2.0\n") == true
            if !handling { usleep(50_000) }
        }
        #expect(handling, "the stalled request was being handled before SIGTERM")
        let signalled = Date()
        server.signal(SIGTERM)
        let status = server.waitForExit(timeout: 20)
        let seconds = Date().timeIntervalSince(signalled)
        #expect(status == 0, "\(server.stderr.suffix(1500))")
        #expect(seconds < 10, "exited \(seconds) s after SIGTERM")
        #expect(seconds > 5, "the stalled request was waited for (\(seconds) s), not dropped at once")
        let phases = server.logLines.filter { $0["event"] as? String == "shutdown" }.compactMap { $0["phase"] as? String }
        #expect(phases.first == "draining" && (phases.contains("cancelled") || phases.contains("deadline")), "\(phases)")
    }
}
