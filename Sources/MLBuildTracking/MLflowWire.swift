import Foundation

// The JSON documents of MLflow's tracking REST API (api/2.0/mlflow) that the export uses.
// Requests are encoded with JSONEncoder (shortest round-trip doubles, so a metric reaches MLflow
// exactly); answers are decoded leniently: every field optional, unknown fields ignored, since a
// server's answer is untrusted input.

struct MLflowKeyValue: Codable, Sendable, Equatable {
    var key: String
    var value: String
}

struct MLflowMetric: Codable, Sendable, Equatable {
    var key: String
    var value: Double
    var timestamp: Int64
    var step: Int64
}

struct CreateExperimentRequest: Encodable {
    var name: String
}

struct CreateRunRequest: Encodable {
    var experiment_id: String
    var run_name: String
    var start_time: Int64
    var tags: [MLflowKeyValue]
}

struct LogBatchRequest: Encodable {
    var run_id: String
    var params: [MLflowKeyValue]
    var metrics: [MLflowMetric]
    var tags: [MLflowKeyValue]
}

struct UpdateRunRequest: Encodable {
    var run_id: String
    var status: String
    var end_time: Int64
}

struct SearchRunsRequest: Encodable {
    var experiment_ids: [String]
    var filter: String
    var max_results: Int
}

struct ExperimentAnswer: Decodable {
    struct Experiment: Decodable {
        var experiment_id: String?
        var name: String?
    }
    var experiment: Experiment?
    var experiment_id: String?
}

struct RunInfoAnswer: Decodable {
    var run_id: String?
    var run_uuid: String?
    var status: String?
    var artifact_uri: String?

    var id: String? { run_id ?? run_uuid }
}

struct RunAnswer: Decodable {
    struct Run: Decodable {
        var info: RunInfoAnswer?
    }
    var run: Run?
}

struct SearchRunsAnswer: Decodable {
    var runs: [RunAnswer.Run]?
}

struct ErrorAnswer: Decodable {
    var error_code: String?
    var message: String?
}
