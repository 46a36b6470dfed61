import MLBuildCore
@testable import MLBuildRules
import Testing

/// The deploy kind's pieces that need no build: YAML quoting, the replica split, the mapping of
/// image annotations to Kubernetes keys, and every Mlfile error at its line and column.
@Suite("deploy: YAML, split, keys, Mlfile errors")
struct DeployManifestTests {
    // MARK: YAML

    @Test(arguments: [
        ("churn", "churn"),
        ("/metrics", "/metrics"),
        ("apps/v1", "apps/v1"),
        ("registry.example.com/churn/app@sha256:ab12", "registry.example.com/churn/app@sha256:ab12"),
        ("true", "\"true\""), ("True", "\"True\""), ("no", "\"no\""), ("Off", "\"Off\""), ("y", "\"y\""), ("null", "\"null\""), ("~", "\"~\""),
        ("8080", "\"8080\""), ("500m", "\"500m\""), ("1.0", "\"1.0\""), ("0x1F", "\"0x1F\""), ("1e3", "\"1e3\""), (".inf", "\".inf\""),
        ("2026-01-01", "\"2026-01-01\""), ("", "\"\""), ("a b", "\"a b\""), ("a: b", "\"a: b\""), ("a:", "\"a:\""), ("#x", "\"#x\""),
        ("-x", "\"-x\""), ("*ref", "\"*ref\""), ("say \"hi\"", "\"say \\\"hi\\\"\""), ("back\\slash", "\"back\\\\slash\""),
        ("line\nbreak", "\"line\\nbreak\""), ("bell\u{07}", "\"bell\\u0007\""), ("nel\u{85}", "\"nel\\u0085\""), ("é", "\"é\""),
    ])
    func scalarsAreQuotedWhenYAMLWouldReadThemAsSomethingElse(_ text: String, _ expected: String) {
        #expect(YAMLValue.scalar(text) == expected)
    }

    @Test func mapsAreSortedAndListsOfMapsIndented() {
        let value = YAMLValue.map([
            "spec": .map(["replicas": .integer(3), "ports": .list([.map(["port": .integer(8080), "name": .string("http")])]),
                          "empty": .map([:]), "none": .list([]), "flag": .boolean(true), "nested": .list([.list([.string("a")])])]),
            "apiVersion": .string("v1"),
        ])
        #expect(value.rendered == """
            apiVersion: v1
            spec:
              empty: {}
              flag: true
              nested:
                -
                  - a
              none: []
              ports:
                - name: http
                  port: 8080
              replicas: 3

            """)
        #expect(YAMLValue.stream([.map(["a": .string("1")]), .map(["b": .integer(2)])]) == "---\na: \"1\"\n---\nb: 2\n")
    }

    // MARK: The manifest

    @Test func aCanaryManifestIsTwoDeploymentsAndOneServiceByteForByte() {
        let manifest = DeployManifest(name: "churn", namespace: nil, port: 8080, cpu: "1", memory: nil, tracks: [
            .init(kind: .stable, replicas: 9, image: "r.example.com/a@sha256:01", annotations: ["deploy.mlbuild.dev/release": "3"]),
            .init(kind: .canary, replicas: 1, image: "r.example.com/a@sha256:02", annotations: ["mlbuild.dev/metrics.auc": "0.9"]),
        ])
        func deployment(_ name: String, _ track: String, _ replicas: Int, _ image: String, _ annotation: String) -> String {
            """
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              annotations:
                \(annotation)
              labels:
                app.kubernetes.io/managed-by: mlbuild
                app.kubernetes.io/name: churn
                track: \(track)
              name: \(name)
            spec:
              replicas: \(replicas)
              selector:
                matchLabels:
                  app.kubernetes.io/name: churn
                  track: \(track)
              template:
                metadata:
                  annotations:
                    \(annotation)
                    prometheus.io/path: /metrics
                    prometheus.io/port: "8080"
                    prometheus.io/scrape: "true"
                  labels:
                    app.kubernetes.io/managed-by: mlbuild
                    app.kubernetes.io/name: churn
                    track: \(track)
                spec:
                  containers:
                    - image: \(image)
                      imagePullPolicy: IfNotPresent
                      livenessProbe:
                        failureThreshold: 3
                        httpGet:
                          path: /healthz
                          port: 8080
                          scheme: HTTP
                        periodSeconds: 10
                        timeoutSeconds: 2
                      name: churn
                      ports:
                        - containerPort: 8080
                          name: http
                          protocol: TCP
                      readinessProbe:
                        failureThreshold: 3
                        httpGet:
                          path: /readyz
                          port: 8080
                          scheme: HTTP
                        periodSeconds: 5
                        timeoutSeconds: 2
                      resources:
                        limits:
                          cpu: "1"
                        requests:
                          cpu: "1"

            """
        }
        #expect(manifest.yaml == deployment("churn", "stable", 9, "r.example.com/a@sha256:01", "deploy.mlbuild.dev/release: \"3\"")
            + deployment("churn-canary", "canary", 1, "r.example.com/a@sha256:02", "mlbuild.dev/metrics.auc: \"0.9\"") + """
            ---
            apiVersion: v1
            kind: Service
            metadata:
              labels:
                app.kubernetes.io/managed-by: mlbuild
                app.kubernetes.io/name: churn
              name: churn
            spec:
              ports:
                - name: http
                  port: 8080
                  protocol: TCP
                  targetPort: http
              selector:
                app.kubernetes.io/name: churn
              type: ClusterIP

            """)
    }

    // MARK: Replicas

    @Test(arguments: [(10, 10, 9, 1), (2, 10, 1, 1), (4, 10, 3, 1), (20, 10, 18, 2), (3, 50, 1, 2), (10, 99, 1, 9), (10, 25, 7, 3), (100, 1, 99, 1)])
    func theCanarySplit(_ replicas: Int, _ percent: Int, _ stable: Int, _ canary: Int) {
        let split = DeployManifest.split(replicas: replicas, percent: percent)
        #expect(split.stable == stable && split.canary == canary)
    }

    // MARK: Annotation keys

    @Test func imageAnnotationsBecomeValidKubernetesKeys() {
        let long = "dev.mlbuild.lineage.datasets.0.sources.0.path.with.a.very.long.name.beyond.sixty.three"
        let mapped = DeployManifest.annotations(ofImage: [
            "dev.mlbuild.model": "model:lr",
            "dev.mlbuild.metrics.auc": "0.9",
            "dev.mlbuild.file:/model/model.json": "sha256:00",
            "dev.mlbuild.artifact.model.lr": "ab",
            "org.opencontainers.image.version": "1.0",
            "dev.mlbuild.lineage.a b": "x",
            long: "y",
        ])
        #expect(mapped["mlbuild.dev/model"] == "model:lr")
        #expect(mapped["mlbuild.dev/metrics.auc"] == "0.9")
        #expect(mapped["mlbuild.dev/artifact.model.lr"] == "ab")
        #expect(mapped["org.opencontainers.image.version"] == "1.0")
        #expect(!mapped.keys.contains { $0.contains("file") })
        #expect(mapped.count == 6)
        for key in mapped.keys { #expect(DeployManifest.isAnnotationKey(key), "\(key)") }
        // A container annotation spelled like a mapped one: the first in byte order wins, every run.
        let clash = DeployManifest.annotations(ofImage: ["dev.mlbuild.model": "model:lr", "mlbuild.dev/model": "mine"])
        #expect(clash == ["mlbuild.dev/model": "model:lr"])
        // Another long key with the same first 54 characters maps elsewhere.
        let other = DeployManifest.annotations(ofImage: [long + "-2": "z"])
        #expect(Set(other.keys).isDisjoint(with: mapped.keys))
    }

    @Test(arguments: [
        ("app.kubernetes.io/name", true), ("prometheus.io/scrape", true), ("track", true), ("mlbuild.dev/metrics.auc", true),
        ("dev.mlbuild.file:/model/model.json", false), ("a/b/c", false), ("Example.com/x", false), ("x/", false), ("-x", false),
        (String(repeating: "a", count: 64), false), (String(repeating: "a", count: 63), true),
    ])
    func theKubernetesKeyGrammar(_ key: String, _ valid: Bool) {
        #expect(DeployManifest.isAnnotationKey(key) == valid)
    }

    @Test(arguments: [("500m", true), ("1", true), ("0.5", true), ("512Mi", true), ("2G", true), ("0", false), ("1.", false),
                      ("-1", false), ("1Mb", false), ("m", false), ("1e3", false), ("", false)])
    func quantities(_ text: String, _ valid: Bool) {
        #expect(DeployManifest.isQuantity(text) == valid)
    }

    // MARK: Mlfile errors

    static let base = """
        task data
            outputs = out.txt
            run = echo hi > out.txt

        container plain: task:data

        """

    @Test func everyBadValueIsAnErrorAtItsLineAndColumn() {
        let outcome = ProjectLoading.load(Self.base + """
            deploy Bad_Name: task:data
                registry = http://registry.example.com/churn/app
                replicas = 0
                cpu = lots
                memory = 1Mb
                port = 70000
                namespace = Prod
                canary = 100
                channel = pr od

            deploy b: container:plain, container:plain
                registry = registry.example.com/churn/app:1.0

            deploy c
                registry = churn/app

            deploy d: container:plain
                registry = registry.example.com/churn/app
                canary = 10

            deploy e: container:plain
                registry = registry.example.com/churn/app
                channel = prod
            """)
        #expect(outcome.problems.isEmpty, "\(outcome.problems)")
        #expect(outcome.messages == [
            "6:8: deploy target name 'Bad_Name' is not a Kubernetes name: use lowercase letters, digits and '-', starting with a letter and ending with a letter or digit, at most 56 characters (so that 'Bad_Name-canary' fits in 63)",
            "6:18: deploy:Bad_Name deploys a container image: task:data is not a container target (deploy Bad_Name: container:NAME)",
            "7:16: registry 'http://registry.example.com/churn/app': write the repository without http:// or https:// (Kubernetes pulls by HOST/REPOSITORY)",
            "8:16: 'replicas' must be between 1 and 10000, not 0",
            "9:11: cpu 'lots' is not a Kubernetes quantity (a positive number with an optional suffix, e.g. 500m, 1, 2)",
            "10:14: memory '1Mb' is not a Kubernetes quantity (a positive number with an optional suffix, e.g. 512Mi, 1Gi)",
            "11:12: 'port' must be between 1 and 65535, not 70000",
            "12:17: namespace 'Prod' is not a Kubernetes namespace name (lowercase letters, digits and '-', at most 63)",
            "13:14: 'canary' must be between 1 and 99, not 100",
            "14:15: bad channel name 'pr od': use letters, digits, '.', '_' and '-'",
            "16:11: container:plain is not runnable: a deploy needs an image with runtime = serve (it answers /healthz, /readyz and /metrics)",
            "16:28: deploy:b deploys one image: it already names container:plain",
            "17:16: registry 'registry.example.com/churn/app:1.0' names a tag or digest: give the repository alone (the manifest adds @sha256:DIGEST of the image)",
            "19:8: deploy:c needs the container it deploys: deploy c: container:NAME",
            "20:16: invalid registry reference 'churn/app': 'churn' is not a registry host (write the registry first) (expected HOST[:PORT]/REPOSITORY[:TAG], e.g. 127.0.0.1:5000/churn/app:1.0)",
            "22:11: container:plain is not runnable: a deploy needs an image with runtime = serve (it answers /healthz, /readyz and /metrics)",
            "24:14: canary = 10 needs channel = NAME: the release channel whose current release runs as the stable Deployment",
            "24:14: canary = 10 needs replicas >= 2 (one stable pod and one canary pod at least), not 1",
            "26:11: container:plain is not runnable: a deploy needs an image with runtime = serve (it answers /healthz, /readyz and /metrics)",
            "28:15: channel is read only for a canary: add canary = PERCENT, or remove channel",
        ])
    }

    @Test func aMissingRegistryIsAnErrorAtTheTarget() {
        let outcome = ProjectLoading.load("""
            dataset d
                source = data.csv
            """ + "\n\n" + """
            deploy a
                replicas = 2
            """)
        #expect(outcome.messages.contains("4:8: deploy:a is missing the required key 'registry'"), "\(outcome.messages)")
    }
}
