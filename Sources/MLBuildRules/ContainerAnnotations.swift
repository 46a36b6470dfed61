import Foundation
import MLBuildCache
import MLBuildCore
import MLBuildDatasets

/// The lineage annotations a container image carries besides the `org.opencontainers.image.*`
/// ones (all values are strings; see docs/containers.md, "Lineage annotations"):
///
///     dev.mlbuild.artifact.<kind>.<name>   outputs digest of each packed dependency (hex; the
///                                          digest mlbuild hashes into dependents' keys)
///     dev.mlbuild.file:<image path>        sha256:<hex> of every packed file (dependencies and `files`)
///     dev.mlbuild.model                    the packed model target, e.g. model:churn
///     dev.mlbuild.lineage.<path>           the `lineage` section of the model's model.json, flattened
///     dev.mlbuild.metrics.<path>           the `metrics` member of the model's metrics.json (else of
///                                          model.json), flattened: dev.mlbuild.metrics.auc, …
///     dev.mlbuild.secret.pseudonymize_key  the environment variable `serve` reads the model's
///                                          pseudonymize key from (a features target's
///                                          `pseudonymize`; the name, never the key)
///
/// Flattening joins object keys and array indices with `.`; numbers are written in their shortest
/// round-trip form (integers without a fraction), booleans as true/false, null as null. Missing or
/// unreadable model.json/metrics.json simply add nothing: packing does not depend on the ML kinds.
enum ContainerAnnotations {
    static let prefix = "dev.mlbuild."
    static let pseudonymizeKeySecret = "dev.mlbuild.secret.pseudonymize_key"

    struct PackedFile: Sendable {
        var imagePath: String
        /// sha256 hex of the content.
        var digest: String
    }

    /// `packed`: each packed dependency with its result and its declared output directory.
    static func lineage(packed: [(TargetReference, ActionResult, directory: String)], files: [PackedFile]) throws -> [String: String] {
        var out: [String: String] = [:]
        for (dependency, result, directory) in packed {
            out["\(prefix)artifact.\(dependency.kind).\(dependency.name)"] = result.manifestDigest.hex
            guard dependency.kind == "model" else { continue }
            out["\(prefix)model"] = dependency.description
            let model = readJSON(result, path: "\(directory)/model.json")
            if case let .object(fields)? = model, let lineage = fields["lineage"] {
                flatten(lineage, into: &out, key: "\(prefix)lineage")
            }
            // The image cannot serve without this secret: a deployment must pass it in.
            if case let .object(fields)? = model, case let .object(transform)? = fields["transform"],
               case let .object(pseudonymize)? = transform["pseudonymize"], case let .string(secret)? = pseudonymize["key_secret"] {
                out[Self.pseudonymizeKeySecret] = secret
            }
            // metrics.json is {"metrics": {...}, "gates": [...], "task": ..., ...}: the
            // measured values are its `metrics` member (model.json repeats them).
            if case let .object(fields)? = readJSON(result, path: "\(directory)/metrics.json"), let metrics = fields["metrics"] {
                flatten(metrics, into: &out, key: "\(prefix)metrics")
            } else if case let .object(fields)? = model, let metrics = fields["metrics"] {
                flatten(metrics, into: &out, key: "\(prefix)metrics")
            }
        }
        for file in files {
            out["\(prefix)file:\(file.imagePath)"] = "sha256:\(file.digest)"
        }
        return out
    }

    /// The files a `files` item puts into the image, with their digests, mirroring the layer
    /// writer's placement: a file at DEST, or under DEST/ when DEST ends with `/`; a directory's
    /// files below DEST.
    /// `digests`: SHA-256 hex of files already hashed (by the path as listed), so they are not read again.
    static func packedFiles(source: String, destination: String, digests: [String: String] = [:]) throws -> [PackedFile] {
        func digest(_ file: String) throws -> String { try digests[file] ?? FileHashing.digest(ofFileAt: file).digest.hex }
        guard let stat = FileStat.of(source) else { return [] }
        let root = "/" + destination.split(separator: "/").joined(separator: "/")
        var out: [PackedFile] = []
        if stat.isDirectory {
            for file in try FileSystem.regularFiles(under: source) {
                let relative = file.dropFirst(source.count + 1)
                let path = root == "/" ? "/\(relative)" : "\(root)/\(relative)"
                out.append(PackedFile(imagePath: path, digest: try digest(file)))
            }
        } else {
            let path = destination.hasSuffix("/")
                ? (root == "/" ? "" : root) + "/" + FileSystem.lastComponent(of: source) : root
            out.append(PackedFile(imagePath: path, digest: try digest(source)))
        }
        return out
    }

    /// A dependency's JSON output, when it has that file and it parses.
    private static func readJSON(_ result: ActionResult, path: String) -> JSONValue? {
        guard result.outputs.contains(where: { $0.path == path }),
              let bytes = try? FileSystem.readBytes(path) else { return nil }
        return try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    static func flatten(_ value: JSONValue, into out: inout [String: String], key: String) {
        switch value {
        case .null: out[key] = "null"
        case let .bool(b): out[key] = b ? "true" : "false"
        case let .number(x): out[key] = format(x)
        case let .string(s): out[key] = s
        case let .array(items):
            for (i, item) in items.enumerated() { flatten(item, into: &out, key: "\(key).\(i)") }
        case let .object(fields):
            for (name, item) in fields { flatten(item, into: &out, key: "\(key).\(name)") }
        }
    }

    static func format(_ x: Double) -> String {
        if x.isFinite, x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return "\(x)"
    }
}
