import Foundation
import MLBuildCache
import MLBuildCore
import MLBuildDatasets
import MLBuildEngine
import MLBuildProvenance
import Synchronization

/// `build/container/NAME/provenance.json`: the image's SLSA provenance in a DSSE envelope
/// (`ProvenanceStatement`, signed with `ProvenanceSigning.key` when there is one).
///
/// Its resolved dependencies, each once and in a fixed order (sorted by URI):
/// - `file:PATH` — every source file behind the packed artifacts: the `sources` each dataset
///   records in its lineage.json, reached through model.json's and features' lineage, and the
///   container's own `files`;
/// - `oci-archive:PATH` — the base image archive (its file digest);
/// - `mlbuild:VERSION` — the running mlbuild executable's digest.
enum ContainerProvenance {
    static let fileName = "provenance.json"

    static func write(to url: URL, subjectName: String, manifestHex: String, target: String, values: [(String, String)],
                      actionKey: String, sources: [ProvenanceStatement.Resource], startedOn: Int64?, workspace: String) throws {
        var byURI: [String: ProvenanceStatement.Resource] = [:]
        for source in sources { byURI[source.uri] = source }
        var resources = byURI.values.sorted { Array($0.uri.utf8).lexicographicallyPrecedes(Array($1.uri.utf8)) }
        resources.append(ProvenanceStatement.Resource(uri: "mlbuild:\(MLBuildRulesVersion.current)",
                                                      sha256: try executableDigest(workspace: workspace)))
        let statement = ProvenanceStatement(
            subjectName: subjectName, subjectDigest: manifestHex, target: target, values: values, actionKey: actionKey,
            resolvedDependencies: resources, mlbuildVersion: MLBuildRulesVersion.current, startedOn: startedOn)
        let envelope = try DSSEEnvelope.signed(payloadType: DSSEEnvelope.inTotoPayloadType, payload: statement.payload,
                                               key: ProvenanceSigning.key)
        try AtomicFile.write(envelope.serialized, to: url)
    }

    /// The `sources` of a dependency's lineage files (a dataset's lineage.json; features'
    /// lineage.json and model.json name theirs under `datasets`), as `file:` resources.
    static func sources(of result: ActionResult, directory: String) -> [ProvenanceStatement.Resource] {
        var out: [ProvenanceStatement.Resource] = []
        for name in ["lineage.json", "model.json"] {
            let path = "\(directory)/\(name)"
            guard result.outputs.contains(where: { $0.path == path }), let bytes = try? FileSystem.readBytes(path),
                  let value = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) else { continue }
            collect(value, into: &out)
        }
        return out
    }

    /// Every `{"path": P, "sha256": H}` under a `sources` member, at any depth.
    private static func collect(_ value: JSONValue, into out: inout [ProvenanceStatement.Resource]) {
        switch value {
        case .array(let items):
            for item in items { collect(item, into: &out) }
        case .object(let members):
            if case .array(let list)? = members["sources"] {
                for item in list {
                    if case .object(let fields) = item, case .string(let path)? = fields["path"], case .string(let sha)? = fields["sha256"] {
                        out.append(.init(uri: "file:\(path)", sha256: sha))
                    }
                }
            }
            for key in members.keys.sorted() where key != "sources" { collect(members[key] ?? .null, into: &out) }
        default:
            break
        }
    }

    private static let memo = Mutex<String?>(nil)

    /// SHA-256 of the running mlbuild executable, memoized per process and by stat in
    /// `.mlbuild/runtime-stat-cache` (hashing 200 MB on every container build would show).
    static func executableDigest(workspace: String) throws -> String {
        if let known = memo.withLock({ $0 }) { return known }
        let executable: String
        do { executable = try ContainerRuntime.runningExecutable() } catch let failure as RuleFailure {
            // Its words are about runtime = serve; the provenance needs the same file.
            throw RuleFailure(failure.description.replacingOccurrences(of: "runtime = serve: ", with: "provenance: "))
        }
        let statCachePath = "\(workspace)/.mlbuild/\(ContainerRuntime.statCacheName)"
        let stats = StatCache(path: statCachePath)
        guard let (digest, _) = try stats.digest(of: executable) else {
            throw RuleFailure("provenance: the mlbuild executable '\(executable)' disappeared")
        }
        if FileSystem.exists(FileSystem.parent(of: statCachePath)) { try? stats.save() }
        memo.withLock { $0 = digest.hex }
        return digest.hex
    }
}
