import Hummingbird
import NIOConcurrencyHelpers

/// Hummingbird's request context plus `outcome`, a box the route fills in (which model, how
/// many rows) and the access-log middleware reads after the answer: a reference, so the
/// middleware's copy of the context sees what the route wrote into its own copy.
public struct ServeRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let outcome = RequestOutcome()

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}

/// What a request did, for its log line and metrics. Shared state: `state`, behind its lock.
final class RequestOutcome: Sendable {
    struct State {
        /// A served model's name ("" off the predict route or for an unknown name).
        var model = ""
        var rows = 0
        var predict = false
    }

    private let state = NIOLockedValueBox(State())

    var value: State { state.withLockedValue { $0 } }

    func record(model: String, rows: Int) {
        state.withLockedValue {
            $0.model = model
            $0.rows = rows
            $0.predict = true
        }
    }
}
