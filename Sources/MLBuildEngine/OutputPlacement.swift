import MLBuildCore

/// Where an output may lie. mlbuild removes every output of a target before the target runs
/// (and before it restores one), so an output must never hold anything that is not the
/// target's own: another target's output, a source file, the Mlfile, the cache, mlbuild's state
/// or the git repository. All of it is decided from the Mlfile alone, before anything runs.
///
/// A *source* is the static path of an input (its directory part before any wildcard) that no
/// target produces. An input inside another target's directory output counts as produced by it
/// only when the reader names the producer (in its header or in a key such as `dataset =
/// dataset:x`): otherwise the output would delete a file nobody declared writing, e.g.
/// `outputs = data` over a dataset's `data/churn.csv`. An input inside the reader's own output
/// is always an error (the output is removed before the reader runs). An input that is exactly
/// another target's output is produced by it, named or not (the implicit dependency of Make).
enum OutputPlacement {
    struct Declared {
        var path: String
        var target: TargetReference
        /// Index of the target in `Mlfile.targets`.
        var index: Int
    }

    /// The `outputs` list item that declares `path` in `target`, when written there (else it is
    /// a kind's fixed output). Parsed again only for a diagnostic.
    static func item(declaring path: String, in target: ResolvedTarget) -> ResolvedValue.Item? {
        ((try? target.values["outputs"]?.listItems()) ?? []).first { PathNormalizer.normalize($0.text) == path }
    }

    /// Where `path` is declared in `target`: its list item, else the target's name.
    static func location(of path: String, in target: ResolvedTarget) -> SourceLocation {
        item(declaring: path, in: target)?.location ?? target.nameLocation
    }

    /// Each declared output.
    static func declaredOutputs(of mlfile: Mlfile, rules: [TargetReference: any Rule]) -> [Declared] {
        var out: [Declared] = []
        for (index, target) in mlfile.targets.enumerated() {
            for output in rules[target.reference]?.outputs ?? [] {
                out.append(Declared(path: PathNormalizer.normalize(output), target: target.reference, index: index))
            }
            // Reported at the parent target that brings them.
            for auxiliary in rules[target.reference]?.auxiliaryTargets ?? [] {
                for output in auxiliary.rule.outputs {
                    out.append(Declared(path: PathNormalizer.normalize(output), target: auxiliary.reference, index: index))
                }
            }
        }
        return out
    }

    /// `protected`: workspace-relative paths no output may be, contain or lie inside, with what
    /// they are ("the Mlfile", "the cache directory").
    /// `declared`: `declaredOutputs(of: mlfile, rules: rules)`; `inputPaths`: per target of
    /// `mlfile.targets`, the normalized static path of each of its rule's inputs.
    static func check(mlfile: Mlfile, rules: [TargetReference: any Rule], declared: [Declared], inputPaths: [[String]],
                      producers: [String: TargetReference],
                      protected: [(path: String, what: String)]) -> [Diagnostic] {
        var byPath: [String: Declared] = [:]
        for output in declared where byPath[output.path] == nil { byPath[output.path] = output }
        var diagnostics: [Diagnostic] = []
        func report(_ at: Declared, _ message: String) {
            diagnostics.append(mlfile.source.diagnostic(message, at: location(of: at.path, in: mlfile.targets[at.index])))
        }

        // One target's output inside another's: the outer one's removal deletes the inner one.
        // Reported once per outer output, where it was written (else at the inner one).
        var reportedOuter: Set<String> = []
        for inner in declared {
            for directory in PathNormalizer.parents(of: inner.path) {
                guard let other = producers[directory], other != inner.target, let outer = byPath[directory] else { continue }
                if item(declaring: outer.path, in: mlfile.targets[outer.index]) != nil {
                    if reportedOuter.insert(outer.path).inserted {
                        report(outer, "output '\(outer.path)' of \(outer.target) contains '\(inner.path)', an output of \(inner.target)")
                    }
                } else {
                    report(inner, "output '\(inner.path)' of \(inner.target) lies inside '\(outer.path)', an output of \(outer.target)")
                }
                break
            }
        }

        // Sources inside an output.
        for (index, target) in mlfile.targets.enumerated() {
            guard let rule = rules[target.reference] else { continue }
            for path in inputPaths[index] {
                if !WorkspacePath.isInside(path) || producers[path] != nil { continue }
                for directory in PathNormalizer.parents(of: path) {
                    guard let producer = producers[directory], let outer = byPath[directory] else { continue }
                    if producer == target.reference {
                        if reportedOuter.insert(outer.path).inserted {
                            report(outer, "output '\(outer.path)' of \(producer) contains its own input '\(path)': it would be deleted before \(producer) runs")
                        }
                    } else if !target.dependencies.contains(where: { $0.reference == producer }),
                              !rule.implicitDependencies.contains(where: { $0.reference == producer }), reportedOuter.insert(outer.path).inserted {
                        report(outer, "output '\(outer.path)' of \(producer) contains '\(path)', an input of \(target.reference) that no target "
                               + "produces: it would be deleted before \(producer) runs (if \(producer) writes it, name \(producer) in the "
                               + "header of \(target.reference))")
                    }
                    break
                }
            }
        }

        // mlbuild's own files and the user's repository.
        for output in declared {
            for (path, what) in protected {
                let relation: String
                if output.path == path {
                    relation = "is"
                } else if PathNormalizer.isSameOrInside(path, output.path) {
                    relation = "contains"
                } else if PathNormalizer.isSameOrInside(output.path, path) {
                    relation = "lies inside"
                } else {
                    continue
                }
                report(output, "output '\(output.path)' of \(output.target) \(relation) \(what) ('\(path)')")
                break
            }
        }
        return diagnostics
    }
}
