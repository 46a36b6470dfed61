import NIOConcurrencyHelpers
import Prometheus

/// `GET /metrics`: the server's counters in the Prometheus text format (swift-prometheus).
///
///     mlbuild_serve_requests_total{model, code}            every answered request (model="" off the predict route)
///     mlbuild_serve_rows_total{model}                      rows scored (answered with a prediction)
///     mlbuild_serve_errors_total{code}                     answers with status >= 400
///     mlbuild_serve_request_duration_seconds{model}        histogram of predict latency (receipt to answer)
///     mlbuild_serve_in_flight_requests                     requests being handled now
///     mlbuild_serve_model_info{model, digest}              1 for the model and digest being served
///     mlbuild_serve_reloads_total{model, result}           reloads, result="ok" or "failed"
///
/// The `model` label only ever holds a served model's name (an unknown name in a URL counts
/// as model=""), so a client cannot grow the number of series. Shared state: the registry is
/// thread-safe; `infoGauges` (the current model_info series per model) sits behind its lock.
public final class ServeMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let infoGauges = NIOLockedValueBox<[String: Gauge]>([:])
    private let inFlight: Gauge

    /// Seconds: from a fast one-row request to a 100 000-row one.
    static let latencyBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5),
        .seconds(5), .seconds(10),
    ]

    public init(models: [ServedModel]) {
        inFlight = registry.makeGauge(descriptor: Self.name("in_flight", "requests", "Requests being handled now."))
        for model in models {
            // Series exist from the start (at 0), so a scrape before any traffic shows every model.
            _ = rows(model.name)
            _ = latency(model.name)
            setServed(model)
        }
    }

    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mlbuild", subsystem: "serve", metricName: metric, unitName: unit, helpText: help)
    }

    private func rows(_ model: String) -> Counter {
        registry.makeCounter(descriptor: Self.name("rows", "total", "Rows scored."), labels: [("model", model)])
    }

    private func latency(_ model: String) -> DurationHistogram {
        registry.makeDurationHistogram(
            descriptor: Self.name("request_duration", "seconds", "Predict latency, from receipt to answer."),
            labels: [("model", model)], buckets: Self.latencyBuckets)
    }

    func requestStarted() { inFlight.increment() }

    /// One answered request. `model` is a served model's name or "".
    func requestFinished(model: String, code: Int, rows scored: Int, duration: Duration, predict: Bool) {
        inFlight.decrement()
        registry.makeCounter(descriptor: Self.name("requests", "total", "Requests answered, by model and status code."),
                             labels: [("model", model), ("code", String(code))]).increment()
        if code >= 400 {
            registry.makeCounter(descriptor: Self.name("errors", "total", "Error answers, by status code."),
                                 labels: [("code", String(code))]).increment()
        }
        if !model.isEmpty {
            if scored > 0 { rows(model).increment(by: Int64(scored)) }
            if predict { latency(model).record(duration) }
        }
    }

    /// `model_info` shows `model`'s digest from now on (the previous digest's series is removed).
    func setServed(_ model: ServedModel) {
        let gauge = registry.makeGauge(
            descriptor: Self.name("model", "info", "The model being served under each name, and its digest (value 1)."),
            labels: [("model", model.name), ("digest", model.digest)])
        gauge.set(1.0)
        let old = infoGauges.withLockedValue { gauges in
            let old = gauges[model.name]
            gauges[model.name] = gauge
            return old
        }
        if let old, old !== gauge { registry.unregisterGauge(old) }
    }

    func reloaded(_ model: String, ok: Bool) {
        registry.makeCounter(descriptor: Self.name("reloads", "total", "Model reloads (SIGHUP or a changed file), by result."),
                             labels: [("model", model), ("result", ok ? "ok" : "failed")]).increment()
    }

    public func text() -> [UInt8] { registry.emitToBuffer() }
}
