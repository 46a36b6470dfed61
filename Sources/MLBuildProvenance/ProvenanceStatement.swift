import Foundation
import MLBuildDatasets

/// An in-toto Statement v1 with a SLSA Provenance v1 predicate: how a container image was made.
///
///     {"_type": "https://in-toto.io/Statement/v1",
///      "subject": [{"name": NAME, "digest": {"sha256": MANIFEST HEX}}],
///      "predicateType": "https://slsa.dev/provenance/v1",
///      "predicate": {
///        "buildDefinition": {
///          "buildType": "https://mlbuild.dev/container/v1",
///          "externalParameters": {"target": "container:churn", "values": {KEY: VALUE, …}},
///          "internalParameters": {"action_key": HEX},
///          "resolvedDependencies": [{"uri": "file:data/churn.csv", "digest": {"sha256": HEX}}, …]},
///        "runDetails": {
///          "builder": {"id": "https://mlbuild.dev/builder/v1", "version": {"mlbuild": VERSION}},
///          "metadata": {"invocationId": "mlbuild:ACTION KEY"[, "startedOn": RFC 3339 of SOURCE_DATE_EPOCH]}}}}
///
/// Source files are `file:PATH` (workspace-relative), the base image `oci-archive:PATH` (its
/// file digest) with its manifest digest as an annotation, the mlbuild binary `mlbuild:VERSION`.
/// No wall-clock time, host or absolute path: the bytes follow from the inputs alone.
public struct ProvenanceStatement: Sendable, Equatable {
    public static let statementType = "https://in-toto.io/Statement/v1"
    public static let predicateType = "https://slsa.dev/provenance/v1"
    public static let buildType = "https://mlbuild.dev/container/v1"
    public static let builderID = "https://mlbuild.dev/builder/v1"

    /// A SLSA ResourceDescriptor (the members this statement uses).
    public struct Resource: Sendable, Equatable {
        public var uri: String
        /// SHA-256 hex.
        public var sha256: String
        public var annotations: [String: String]

        public init(uri: String, sha256: String, annotations: [String: String] = [:]) {
            self.uri = uri
            self.sha256 = sha256
            self.annotations = annotations
        }

        /// The workspace path of a `file:` resource.
        public var filePath: String? { uri.hasPrefix("file:") ? String(uri.dropFirst(5)) : nil }
    }

    public var subjectName: String
    /// The image manifest's SHA-256, hex.
    public var subjectDigest: String
    public var target: String
    public var values: [(String, String)]
    public var actionKey: String
    public var resolvedDependencies: [Resource]
    public var mlbuildVersion: String
    /// `SOURCE_DATE_EPOCH`, when set: the build's only time.
    public var startedOn: Int64?

    public init(subjectName: String, subjectDigest: String, target: String, values: [(String, String)], actionKey: String,
                resolvedDependencies: [Resource], mlbuildVersion: String, startedOn: Int64?) {
        self.subjectName = subjectName
        self.subjectDigest = subjectDigest
        self.target = target
        self.values = values
        self.actionKey = actionKey
        self.resolvedDependencies = resolvedDependencies
        self.mlbuildVersion = mlbuildVersion
        self.startedOn = startedOn
    }

    public static func == (a: ProvenanceStatement, b: ProvenanceStatement) -> Bool { a.json == b.json }

    public var json: JSONValue {
        var valueObject: [String: JSONValue] = [:]
        // Lists are joined by U+001F in the canonical form; the statement shows them as people wrote them.
        for (name, value) in values { valueObject[name] = .string(value.replacingOccurrences(of: "\u{1F}", with: ", ")) }
        var metadata: [String: JSONValue] = ["invocationId": .string("mlbuild:\(actionKey)")]
        if let startedOn { metadata["startedOn"] = .string(Self.rfc3339(startedOn)) }
        let dependencies: [JSONValue] = resolvedDependencies.map { resource in
            var object: [String: JSONValue] = ["uri": .string(resource.uri), "digest": .object(["sha256": .string(resource.sha256)])]
            if !resource.annotations.isEmpty { object["annotations"] = .object(resource.annotations.mapValues { .string($0) }) }
            return .object(object)
        }
        return .object([
            "_type": .string(Self.statementType),
            "subject": .array([.object(["name": .string(subjectName), "digest": .object(["sha256": .string(subjectDigest)])])]),
            "predicateType": .string(Self.predicateType),
            "predicate": .object([
                "buildDefinition": .object([
                    "buildType": .string(Self.buildType),
                    "externalParameters": .object(["target": .string(target), "values": .object(valueObject)]),
                    "internalParameters": .object(["action_key": .string(actionKey)]),
                    "resolvedDependencies": .array(dependencies),
                ]),
                "runDetails": .object([
                    "builder": .object(["id": .string(Self.builderID), "version": .object(["mlbuild": .string(mlbuildVersion)])]),
                    "metadata": .object(metadata),
                ]),
            ]),
        ])
    }

    /// The DSSE payload: the statement as one line of canonical JSON.
    public var payload: [UInt8] { Array(CanonicalJSON.line(json).utf8) }

    /// Reads a statement back from a payload (what `provenance verify` checks).
    public init(payload: [UInt8], name: String) throws {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(payload)), case .object(let root) = value else {
            throw ProvenanceError("\(name): the payload is not a JSON object")
        }
        guard root["_type"] == .string(Self.statementType) else {
            throw ProvenanceError("\(name): the payload is not an in-toto Statement v1 (_type)")
        }
        guard root["predicateType"] == .string(Self.predicateType) else {
            throw ProvenanceError("\(name): the predicate is not SLSA Provenance v1 (predicateType)")
        }
        guard case .array(let subjects)? = root["subject"], case .object(let subject)? = subjects.first,
              case .object(let subjectDigests)? = subject["digest"], case .string(let digest)? = subjectDigests["sha256"]
        else {
            throw ProvenanceError("\(name): the statement has no subject with a sha256 digest")
        }
        var subjectName = ""
        if case .string(let text)? = subject["name"] { subjectName = text }
        guard case .object(let predicate)? = root["predicate"], case .object(let definition)? = predicate["buildDefinition"] else {
            throw ProvenanceError("\(name): the predicate has no buildDefinition")
        }
        var target = "", values: [(String, String)] = [], actionKey = "", version = ""
        if case .object(let external)? = definition["externalParameters"] {
            if case .string(let text)? = external["target"] { target = text }
            if case .object(let members)? = external["values"] {
                for key in members.keys.sorted() { if case .string(let text)? = members[key] { values.append((key, text)) } }
            }
        }
        if case .object(let internals)? = definition["internalParameters"], case .string(let key)? = internals["action_key"] { actionKey = key }
        var resources: [Resource] = []
        if case .array(let list)? = definition["resolvedDependencies"] {
            for item in list {
                guard case .object(let fields) = item, case .string(let uri)? = fields["uri"],
                      case .object(let digests)? = fields["digest"], case .string(let sha)? = digests["sha256"] else {
                    throw ProvenanceError("\(name): a resolvedDependencies entry lacks a uri or a sha256 digest")
                }
                var annotations: [String: String] = [:]
                if case .object(let members)? = fields["annotations"] {
                    for (key, value) in members { if case .string(let text) = value { annotations[key] = text } }
                }
                resources.append(Resource(uri: uri, sha256: sha, annotations: annotations))
            }
        }
        var startedOn: Int64? = nil
        if case .object(let run)? = predicate["runDetails"] {
            if case .object(let builder)? = run["builder"], case .object(let versions)? = builder["version"],
               case .string(let text)? = versions["mlbuild"] { version = text }
            if case .object(let metadata)? = run["metadata"], case .string(let text)? = metadata["startedOn"] {
                startedOn = Self.parseRFC3339(text)
            }
        }
        self.init(subjectName: subjectName, subjectDigest: digest, target: target, values: values, actionKey: actionKey,
                  resolvedDependencies: resources, mlbuildVersion: version, startedOn: startedOn)
    }

    static func rfc3339(_ seconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    static func parseRFC3339(_ text: String) -> Int64? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text).map { Int64($0.timeIntervalSince1970) }
    }
}
