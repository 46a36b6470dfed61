import MLBuildCache
import MLBuildCore

/// A finished dependency as its dependents' evaluations see it: its result, and the result's
/// manifest digest computed once (not once per dependent).
struct DependencyResult: Sendable {
    let target: TargetReference
    let result: ActionResult
    let manifest: ContentDigest

    init(target: TargetReference, result: ActionResult, manifest: ContentDigest? = nil) {
        self.target = target
        self.result = result
        self.manifest = manifest ?? result.manifestDigest
    }

    /// The digest of the file entry at `path` of this result (entries are sorted by path).
    func producedDigest(_ path: String) -> ContentDigest? {
        let outputs = result.outputs
        var low = 0, high = outputs.count
        while low < high {
            let middle = (low + high) / 2
            if outputs[middle].path < path { low = middle + 1 } else { high = middle }
        }
        guard low < outputs.count, outputs[low].path == path else { return nil }
        return outputs[low].digest
    }
}

/// A digest over everything a target's action key is computed from, taken without reading any
/// content or computing the key: the kind, rule version, key layout, canonical parameters, seed
/// (when the kind uses it), the passed-through environment values, the declared outputs, each
/// declared input's path and followed stat (as the stat cache sees it), and each dependency's
/// result manifest digest. A state record stores the witness of the evaluation that computed its
/// key; when the next build finds the same witness, the record's key is the key it would compute
/// (same inputs by stat, same dependencies' outputs, same configuration), so the target's inputs
/// are not digested, its key is not computed and its summary is not derived.
///
/// No witness (nil: the key is always computed) when the evaluation depends on more than this:
/// a derived parameter (read from the workspace by rule code), a glob or a directory input (a
/// listing decides which files enter), an input that is missing or not a regular file, an input
/// whose stat is in the racy window (its content could still change without its stat changing,
/// as the stat cache's rule), or a parameter that cannot be read.
///
/// The domain names the key's layout (`TargetFingerprint.key`): a change of what enters the key
/// must change `domain` too, so that no record keyed the old way is taken for the new way.
enum EvaluationWitness {
    static let domain = "mlbuild-evaluation-witness-v1/mlbuild-action-v1"

    /// The witness, and the inputs it stat'ed (path and stat, for the no-op manifest); nil when
    /// the target has none (see above). `dependencies` sorted by target, as the key takes them.
    static func compute(rule: any Rule, configuration: TargetConfiguration, environment: [String: String],
                        dependencies: [DependencyResult], statCache: StatCache) -> (ContentDigest, [(String, FileStat)])? {
        guard let parameters = try? configuration.canonicalParameters() else { return nil }
        var h = StableHasher(domain: domain)
        h.append(type(of: rule).kind)
        h.append(type(of: rule).version)
        h.appendCount(parameters.count)
        for (name, value) in parameters {
            h.append(name)
            h.append(value)
        }
        if type(of: rule).usesSeed {
            h.append(true)
            h.append(configuration.seed)
        } else {
            h.append(false)
        }
        let names = Set(rule.environment).sorted()
        h.appendCount(names.count)
        for name in names {
            h.append(name)
            if let value = environment[name] {
                h.append(true)
                h.append(value)
            } else {
                h.append(false)
            }
        }
        let outputs = rule.outputs
        h.appendCount(outputs.count)
        for output in outputs { h.append(PathNormalizer.normalize(output)) }
        var stats: [(String, FileStat)] = []
        h.appendCount(rule.inputs.count)
        for pattern in rule.inputs {
            let path = PathNormalizer.normalize(pattern.pattern)
            h.append(path)
            // A dependency's output: its content is in that dependency's manifest digest below.
            if dependencies.contains(where: { $0.producedDigest(path) != nil }) {
                h.append("produced")
                continue
            }
            guard !InputResolver.isGlob(path), let stat = statCache.stat(of: path), stat.isRegularFile,
                  !statCache.isRacy(stat) else { return nil }
            h.append("file")
            h.append(stat.size)
            h.append(UInt64(bitPattern: stat.mtimeNanoseconds))
            h.append(UInt64(bitPattern: stat.ctimeNanoseconds))
            h.append(stat.inode)
            h.append(stat.device)
            h.append(UInt64(stat.mode))
            stats.append((path, stat))
        }
        h.appendCount(dependencies.count)
        for dependency in dependencies {
            h.append(dependency.target.description)
            h.append(dependency.manifest)
        }
        return (h.finalize(), stats)
    }
}
