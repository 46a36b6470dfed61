import Foundation
import MLBuildCache

/// MLflow's standard credentials from the environment: `MLFLOW_TRACKING_TOKEN` (sent as
/// `Authorization: Bearer …`), else `MLFLOW_TRACKING_USERNAME` and `MLFLOW_TRACKING_PASSWORD`
/// (HTTP Basic). The header is a `RemoteCacheHeader`, whose description hides the value, and the
/// HTTP client redacts it from its errors: credentials are never printed or recorded.
public enum MLflowCredentials {
    public static func header(environment: [String: String]) -> RemoteCacheHeader? {
        if let token = environment["MLFLOW_TRACKING_TOKEN"], !token.isEmpty {
            return RemoteCacheHeader(name: "Authorization", value: "Bearer \(token)")
        }
        if let user = environment["MLFLOW_TRACKING_USERNAME"], !user.isEmpty {
            let password = environment["MLFLOW_TRACKING_PASSWORD"] ?? ""
            let encoded = Data("\(user):\(password)".utf8).base64EncodedString()
            return RemoteCacheHeader(name: "Authorization", value: "Basic \(encoded)")
        }
        return nil
    }
}
