import MLBuildBasics

/// What a deploy target writes to `build/deploy/NAME/kubernetes.yaml`: one `apps/v1` Deployment
/// per track (`NAME`, the stable one, and with `canary` also `NAME-canary`) and one `v1`
/// Service `NAME` selecting on `app.kubernetes.io/name: NAME` alone, so that the pods of both
/// tracks receive traffic. Documents in that order (Deployments, then the Service), keys sorted,
/// no time of rendering anywhere: the bytes are a function of the values. See docs/responsible.md,
/// "Deploying to Kubernetes".
///
/// Annotations (on each Deployment and its pod template):
///
///     deploy.mlbuild.dev/target         deploy:NAME
///     deploy.mlbuild.dev/image-digest   sha256:… of the image that track runs
///     deploy.mlbuild.dev/container      container:NAME   (the newly built image's tracks)
///     deploy.mlbuild.dev/channel        prod             (with canary)
///     deploy.mlbuild.dev/release        "3"              (the stable track: the channel's current release)
///     deploy.mlbuild.dev/canary-percent "10"             (the canary track)
///     mlbuild.dev/…, org.opencontainers.image.…         the image's own annotations, mapped by
///                                                       `annotations(ofImage:)` (the tracks that run
///                                                       the newly built image: its manifest is the one read)
///
/// and on the pod template `prometheus.io/scrape: "true"`, `prometheus.io/path: /metrics`,
/// `prometheus.io/port: "PORT"`.
struct DeployManifest: Sendable, Equatable {
    /// One Deployment.
    struct Track: Sendable, Equatable {
        enum Kind: String, Sendable { case stable, canary }
        var kind: Kind
        var replicas: Int
        /// `REPO@sha256:…`.
        var image: String
        var annotations: [String: String]
    }

    var name: String
    var namespace: String?
    var port: Int
    var cpu: String?
    var memory: String?
    var tracks: [Track]
    /// Environment variables every pod takes from the Secret `secretName` (the key of the same
    /// name): what the served model needs and the image must not hold (a pseudonymize key).
    var secretEnvironment: [String] = []

    /// `NAME-secrets`: the Secret the pods read `secretEnvironment` from (created by the operator).
    var secretName: String { "\(name)-secrets" }

    static let nameLabel = "app.kubernetes.io/name"
    static let managedByLabel = "app.kubernetes.io/managed-by"
    static let trackLabel = "track"
    static let annotationPrefix = "deploy.mlbuild.dev/"

    func deploymentName(_ track: Track) -> String { track.kind == .stable ? name : "\(name)-canary" }

    var documents: [YAMLValue] { tracks.map(deployment) + [service] }

    var yaml: String { YAMLValue.stream(documents) }

    private func metadata(name: String, labels: [String: String], annotations: [String: String]? = nil) -> YAMLValue {
        var fields: [String: YAMLValue] = ["name": .string(name), "labels": Self.strings(labels)]
        if let namespace { fields["namespace"] = .string(namespace) }
        if let annotations, !annotations.isEmpty { fields["annotations"] = Self.strings(annotations) }
        return .map(fields)
    }

    private var commonLabels: [String: String] { [Self.nameLabel: name, Self.managedByLabel: "mlbuild"] }

    private func deployment(_ track: Track) -> YAMLValue {
        let labels = commonLabels.merging([Self.trackLabel: track.kind.rawValue]) { _, new in new }
        var podAnnotations = track.annotations
        podAnnotations["prometheus.io/scrape"] = "true"
        podAnnotations["prometheus.io/path"] = "/metrics"
        podAnnotations["prometheus.io/port"] = String(port)
        func probe(_ path: String, period: Int) -> YAMLValue {
            .map(["httpGet": .map(["path": .string(path), "port": .integer(port), "scheme": .string("HTTP")]),
                  "periodSeconds": .integer(period), "timeoutSeconds": .integer(2), "failureThreshold": .integer(3)])
        }
        var container: [String: YAMLValue] = [
            "name": .string(name),
            "image": .string(track.image),
            "imagePullPolicy": .string("IfNotPresent"),
            "ports": .list([.map(["name": .string("http"), "containerPort": .integer(port), "protocol": .string("TCP")])]),
            "livenessProbe": probe("/healthz", period: 10),
            "readinessProbe": probe("/readyz", period: 5),
        ]
        if !secretEnvironment.isEmpty {
            container["env"] = .list(secretEnvironment.sorted().map { variable in
                .map(["name": .string(variable),
                      "valueFrom": .map(["secretKeyRef": .map(["name": .string(secretName), "key": .string(variable)])])])
            })
        }
        var quantities: [String: String] = [:]
        if let cpu { quantities["cpu"] = cpu }
        if let memory { quantities["memory"] = memory }
        if !quantities.isEmpty {
            // Requests equal to limits: the Guaranteed QoS class when both are given.
            container["resources"] = .map(["requests": Self.strings(quantities), "limits": Self.strings(quantities)])
        }
        let selector = [Self.nameLabel: name, Self.trackLabel: track.kind.rawValue]
        return .map([
            "apiVersion": .string("apps/v1"),
            "kind": .string("Deployment"),
            "metadata": metadata(name: deploymentName(track), labels: labels, annotations: track.annotations),
            "spec": .map([
                "replicas": .integer(track.replicas),
                "selector": .map(["matchLabels": Self.strings(selector)]),
                "template": .map([
                    "metadata": .map(["labels": Self.strings(labels), "annotations": Self.strings(podAnnotations)]),
                    "spec": .map(["containers": .list([.map(container)])]),
                ]),
            ]),
        ])
    }

    private var service: YAMLValue {
        .map([
            "apiVersion": .string("v1"),
            "kind": .string("Service"),
            "metadata": metadata(name: name, labels: commonLabels),
            "spec": .map([
                "type": .string("ClusterIP"),
                "selector": Self.strings([Self.nameLabel: name]),
                "ports": .list([.map(["name": .string("http"), "port": .integer(port), "targetPort": .string("http"),
                                      "protocol": .string("TCP")])]),
            ]),
        ])
    }

    private static func strings(_ fields: [String: String]) -> YAMLValue { .map(fields.mapValues { .string($0) }) }

    // MARK: Replicas

    /// The canary's share of `replicas`: `max(1, round(replicas × percent / 100))` (halves away
    /// from zero), at most `replicas - 1` so that the stable track keeps one; the stable track
    /// runs the rest. 10 replicas at 10 % → 9 + 1; 4 at 10 % → 3 + 1; 3 at 50 % → 1 + 2 (1.5 rounds
    /// to 2). Needs `replicas >= 2` (the rule checks).
    static func split(replicas: Int, percent: Int) -> (stable: Int, canary: Int) {
        let exact = Double(replicas * percent) / 100
        let canary = min(replicas - 1, max(1, Int(exact.rounded(.toNearestOrAwayFromZero))))
        return (replicas - canary, canary)
    }

    // MARK: Annotation keys

    /// The image's manifest annotations as Kubernetes annotations (the keys must be
    /// `[PREFIX/]NAME`, PREFIX a DNS subdomain, NAME at most 63 of `[A-Za-z0-9._-]` starting and
    /// ending with a letter or digit):
    ///
    /// - `dev.mlbuild.file:PATH` are left out (one per packed file: the image digest pins them all);
    /// - `dev.mlbuild.REST` becomes `mlbuild.dev/REST`;
    /// - any other key (`org.opencontainers.image.*`, the container's own `annotations`) is kept
    ///   when it is a valid key;
    /// - when two keys map to one, the first in byte order is kept;
    /// - a NAME that is not valid (too long, or with other characters) is made valid by
    ///   `kubernetesName`: other characters become `-`, and it is cut to 54 characters and given
    ///   `-` and the first 8 hex digits of the SHA-256 of the original key, so that two keys
    ///   never map to one.
    static func annotations(ofImage image: [String: String]) -> [String: String] {
        var out: [String: String] = [:]
        // In key order, the first of two keys that map to one wins (a container annotation
        // `mlbuild.dev/x` beside mlbuild's `dev.mlbuild.x`): the same on every run.
        for key in image.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            guard let value = image[key], !key.hasPrefix("dev.mlbuild.file:") else { continue }
            let mapped: String
            if key.hasPrefix("dev.mlbuild.") {
                mapped = "mlbuild.dev/" + kubernetesName(String(key.dropFirst("dev.mlbuild.".count)), original: key)
            } else if isAnnotationKey(key) {
                mapped = key
            } else {
                mapped = kubernetesName(key, original: key)
            }
            if out[mapped] == nil { out[mapped] = value }
        }
        return out
    }

    static func kubernetesName(_ name: String, original: String) -> String {
        if isQualifiedName(name) { return name }
        let allowed = Set("._-".utf8)
        var bytes = name.utf8.map { isAlphanumeric($0) || allowed.contains($0) ? $0 : UInt8(ascii: "-") }
        let hash = String(ContentDigest.of(original).hex.prefix(8))
        bytes = Array(bytes.prefix(54))
        while let first = bytes.first, !isAlphanumeric(first) { bytes.removeFirst() }
        while let last = bytes.last, !isAlphanumeric(last) { bytes.removeLast() }
        return bytes.isEmpty ? hash : String(decoding: bytes, as: UTF8.self) + "-" + hash
    }

    private static func isAlphanumeric(_ b: UInt8) -> Bool {
        (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b)
    }

    /// NAME of a qualified name: 1–63 of `[A-Za-z0-9._-]`, first and last alphanumeric.
    static func isQualifiedName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...63).contains(bytes.count), let first = bytes.first, let last = bytes.last,
              isAlphanumeric(first), isAlphanumeric(last) else { return false }
        let allowed = Set("._-".utf8)
        return bytes.allSatisfy { isAlphanumeric($0) || allowed.contains($0) }
    }

    /// A DNS-1123 subdomain: at most 253 characters, labels of `[a-z0-9-]` joined by `.`, each
    /// starting and ending with a letter or digit.
    static func isDNSSubdomain(_ text: String) -> Bool {
        guard (1...253).contains(text.utf8.count) else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isDNSLabel(String($0), maximum: 63) }
    }

    /// A DNS-1123 label: 1–`maximum` of `[a-z0-9-]`, first and last a letter or digit.
    static func isDNSLabel(_ text: String, maximum: Int = 63) -> Bool {
        let bytes = Array(text.utf8)
        func ok(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) || (0x61...0x7A).contains(b) }
        guard (1...maximum).contains(bytes.count), let first = bytes.first, let last = bytes.last, ok(first), ok(last) else { return false }
        return bytes.allSatisfy { ok($0) || $0 == UInt8(ascii: "-") }
    }

    /// An annotation or label key: `[PREFIX/]NAME` (PREFIX a DNS subdomain).
    static func isAnnotationKey(_ key: String) -> Bool {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return isQualifiedName(key)
        case 2: return isDNSSubdomain(String(parts[0])) && isQualifiedName(String(parts[1]))
        default: return false
        }
    }

    /// A Kubernetes resource quantity as the rule accepts it: a positive decimal number with an
    /// optional suffix, binary (`Ki`, `Mi`, `Gi`, `Ti`, `Pi`, `Ei`) or decimal (`n`, `u`, `m`, `k`,
    /// `M`, `G`, `T`, `P`, `E`): `500m`, `0.5`, `1`, `512Mi`, `2G`. (Kubernetes also takes
    /// exponents, `1e3`; the rule does not.)
    static func isQuantity(_ text: String) -> Bool {
        let suffixes = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E"]
        var number = Substring(text)
        if let suffix = suffixes.first(where: { text.hasSuffix($0) }) { number = number.dropLast(suffix.count) }
        let pieces = number.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(pieces.count), pieces.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { (0x30...0x39).contains($0) } }) else {
            return false
        }
        return number.contains { $0 != "0" && $0 != "." }
    }
}
