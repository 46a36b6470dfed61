import Foundation
import MLBuildCache
import MLBuildCore
import MLBuildEngine
import MLBuildTraining

/// A model's fit kept as an action of its own, apart from its evaluation: a model target whose
/// test rows changed (a new `test = dataset:OTHER`) but whose training rows, fit settings and
/// seed did not is rebuilt — its metrics, plots and lineage change — without training again.
///
/// The fit key covers exactly what `ModelFit.fit` reads (see `key`). The fitted model lives in
/// the local cache like every other artifact, so `cache verify` re-hashes it and `cache gc` ages
/// it out:
///
///     cas/<xx>/<blob hex>   {"model": TrainedModel, "split_gain": [bits] | null,
///                            "threshold": bits | null}   (Doubles as IEEE-754 bit patterns)
///     ac/<xx>/<fit key>     an ActionResult with the one output "fit.json" → that blob
///
/// A fit is stored only when it decodes back to the same model (`TrainedModel` is Equatable), so
/// a reused fit writes the same model.json, metrics and plots as a fresh one, byte for byte.
struct ModelFitCache {
    let store: ContentStore
    let actions: ActionCache

    static let entryPath = "fit.json"

    init(layout: CacheLayout) {
        store = ContentStore(layout: layout)
        actions = ActionCache(layout: layout)
    }

    /// What one fit reads: the training matrix and labels (train.bin), the transform it was
    /// fitted with (transform.json), the task and class names (the classes of a numeric label
    /// come from the test labels too), the algorithm, the hyper-parameters as written, the
    /// options the fit uses (class_weight, threshold), the seed, and which fit (the whole
    /// training split, or fold K of N). Domain-separated, so it never equals an action key; the
    /// model rule's version and mlbuild's version enter it, since the trainer is their code.
    /// `verified`: digests of files under the features' directory that the build already
    /// verified (the dependency's action result), by file name; a file not there is hashed.
    /// The digests the dependencies' action results give for the files directly in the
    /// features' directory (no second SHA-256 pass over a large train.bin).
    static func verifiedDigests(_ data: ModelTrainingData, _ context: RuleContext) -> [String: ContentDigest] {
        let root = context.workspace.hasSuffix("/") ? context.workspace : context.workspace + "/"
        let directory = data.directory.path
        guard directory.hasPrefix(root) else { return [:] }
        let prefix = String(directory.dropFirst(root.count)) + "/"
        var out: [String: ContentDigest] = [:]
        for result in context.dependencies.values {
            for output in result.outputs where output.path.hasPrefix(prefix) {
                let name = String(output.path.dropFirst(prefix.count))
                if let digest = output.digest, !name.contains("/") { out[name] = digest }
            }
        }
        return out
    }

    static func key(_ fit: ModelFit, data: ModelTrainingData, seed: UInt64, part: String,
                    verified: [String: ContentDigest] = [:]) throws -> ContentDigest {
        var h = StableHasher(domain: "mlbuild-model-fit-v1")
        h.append(ModelRule.version)
        h.append(MLBuildRulesVersion.current)
        h.append(part)
        for file in ["train.bin", "transform.json"] {
            let path = data.directory.appendingPathComponent(file).path
            h.append(file)
            h.append(try verified[file] ?? FileHashing.digest(ofFileAt: path).digest)
        }
        h.append(data.task.rawValue)
        h.appendCount(data.classes.count)
        for name in data.classes { h.append(name) }
        h.append(fit.algorithm)
        let hyperparameters = fit.hyperparameters.sorted { $0.key < $1.key }
        h.appendCount(hyperparameters.count)
        for (name, value) in hyperparameters {
            h.append(name)
            h.append(value)
        }
        // cv only says how many fold targets there are; a fold's own number and count are in `part`.
        let options = fit.options.summary.filter { $0.name != "cv" }
        h.appendCount(options.count)
        for (name, value) in options {
            h.append(name)
            h.append(value)
        }
        h.append(seed)
        return h.finalize()
    }

    private struct Entry: Codable {
        var model: TrainedModel
        var splitGain: [UInt64]?
        var threshold: UInt64?

        enum CodingKeys: String, CodingKey {
            case model
            case splitGain = "split_gain"
            case threshold
        }
    }

    /// The fit stored under `key`, or nil (none, or a blob that no longer verifies: `read`
    /// quarantines a corrupt one, and the model is fitted again).
    func lookup(_ key: ContentDigest) -> ModelFit.Fitted? {
        guard let result = actions.lookup(key),
              let digest = result.outputs.first(where: { $0.path == Self.entryPath })?.digest,
              let bytes = try? store.read(digest),
              let entry = try? JSONDecoder().decode(Entry.self, from: Data(bytes))
        else { return nil }
        FileSystem.touch(store.path(of: digest))
        return ModelFit.Fitted(model: entry.model, splitGain: entry.splitGain?.map(Double.init(bitPattern:)),
                               threshold: entry.threshold.map(Double.init(bitPattern:)))
    }

    /// Keeps `fitted` under `key`; returns false (and keeps nothing) when it would not read back
    /// as the same model (e.g. a non-finite coefficient, which JSON cannot hold).
    @discardableResult
    func store(_ fitted: ModelFit.Fitted, for key: ContentDigest) throws -> Bool {
        let entry = Entry(model: fitted.model, splitGain: fitted.splitGain?.map(\.bitPattern), threshold: fitted.threshold?.bitPattern)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(entry),
              let decoded = try? JSONDecoder().decode(Entry.self, from: data),
              decoded.model == fitted.model else { return false }
        let bytes = Array(data)
        let digest = try store.insert(bytes: bytes)
        let result = ActionResult(outputs: [.init(path: Self.entryPath, digest: digest, size: UInt64(bytes.count), executable: false)])
        try actions.store(result, for: key)
        return true
    }
}

extension ModelFitCache {
    /// The fit of `part` (the model's, or a fold's): the cached one when its key is in the
    /// local cache, else `fitting()`'s, which is then kept. `reused` tells the build output about
    /// a reused fit ("reused fit 3f9a1c2b7d40 (training rows, parameters and seed unchanged)",
    /// the fit key's first 12 hex digits); nil after a fit.
    /// Without a cache, or when the cache cannot keep it, it simply fits: reuse only saves time.
    static func fit(_ settings: ModelFit, data: ModelTrainingData, context: RuleContext, part: String,
                    fitting: () throws -> ModelFit.Fitted) throws -> (fitted: ModelFit.Fitted, reused: String?) {
        guard let layout = context.cache else { return (try fitting(), nil) }
        let cache = ModelFitCache(layout: layout)
        let key = try Self.key(settings, data: data, seed: context.seed, part: part, verified: Self.verifiedDigests(data, context))
        if let cached = cache.lookup(key) {
            return (cached, "reused fit \(key.hex.prefix(12)) (training rows, parameters and seed unchanged)")
        }
        let fitted = try fitting()
        do {
            try cache.store(fitted, for: key)
        } catch {
            context.output.append(line: "warning: the fit could not be kept for reuse: \(error)")
        }
        return (fitted, nil)
    }
}
