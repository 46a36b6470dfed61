/// Why a real server a test starts (nginx, mlflow) is not there: the tool is missing (the
/// message says how to install it), or it did not come up. A test that hits either fails.
public enum TestServerFailure: Error, CustomStringConvertible {
    case notInstalled(String)
    case startFailed(String)

    public var description: String {
        switch self {
        case .notInstalled(let message), .startFailed(let message): return message
        }
    }
}
