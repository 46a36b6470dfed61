import NIOConcurrencyHelpers

/// The models being served, by name. A request takes one model value out (`model(named:)`) and
/// scores with it to the end; a reload swaps the whole value in under the lock, so a request
/// sees either the old model or the new one, never a mix. Shared state: the dictionary, behind
/// `models`' lock.
public final class ModelRegistry: Sendable {
    private let models: NIOLockedValueBox<[String: ServedModel]>
    /// When graceful shutdown began (nil before): `/readyz` then answers 503.
    private let drainingSince = NIOLockedValueBox<ContinuousClock.Instant?>(nil)

    public init(_ served: [ServedModel]) {
        var byName: [String: ServedModel] = [:]
        for model in served { byName[model.name] = model }
        models = NIOLockedValueBox(byName)
    }

    public func model(named name: String) -> ServedModel? {
        models.withLockedValue { $0[name] }
    }

    /// Every model, sorted by name.
    public var all: [ServedModel] {
        models.withLockedValue { byName in byName.keys.sorted().compactMap { byName[$0] } }
    }

    public var names: [String] { models.withLockedValue { $0.keys.sorted() } }

    /// Replaces the model of the same name; returns the one it replaced.
    @discardableResult
    public func replace(_ model: ServedModel) -> ServedModel? {
        models.withLockedValue { byName in
            let old = byName[model.name]
            byName[model.name] = model
            return old
        }
    }

    public var isDraining: Bool { drainingSince.withLockedValue { $0 != nil } }
    func beginDraining() { drainingSince.withLockedValue { $0 = $0 ?? .now } }
    /// How long draining has lasted (nil when it has not begun).
    var drainingFor: Duration? { drainingSince.withLockedValue { $0.map { .now - $0 } } }
}
