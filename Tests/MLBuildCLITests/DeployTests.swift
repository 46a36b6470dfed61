import Foundation
import MLBuildTestSupport
import Testing

/// `deploy NAME: container:NAME` through the real binary: the exact manifest, determinism,
/// incremental builds, the canary beside the channel's release, `release --promote-canary`,
/// kubernetes-validate on the written YAML and the image itself answering the probes.
@Suite("deploy: Kubernetes manifests", .serialized)
struct DeployTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func mlfile(l2: String = "1.0", deploy: String) -> String {
        MLFixtures.mlfile(l2: l2) + """

        container app: model:lr
            runtime = serve

        deploy app: container:app
        \(deploy)
        """
    }

    static let plainDeploy = """
            registry = registry.example.com/churn/app
            replicas = 3
            cpu = 500m
            memory = 512Mi
            namespace = ml
        """

    static let canaryDeploy = """
            registry = registry.example.com/churn/app
            replicas = 10
            canary = 10
            channel = prod
        """

    static func digest(_ ws: MLBuildWorkspace) throws -> String {
        try ws.read("build/container/app/digest").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func manifest(_ ws: MLBuildWorkspace) throws -> String { try ws.read("build/deploy/app/kubernetes.yaml") }

    /// The test's own YAML scalar rule (independent of the emitter): plain only for a string
    /// that starts with a letter or `/` and holds nothing but `[A-Za-z0-9_./@:-]`.
    static func q(_ text: String) -> String {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./@:-")
        let plain = !text.isEmpty && (text.first!.isLetter || text.first == "/") && text.unicodeScalars.allSatisfy(allowed.contains)
            && !text.hasSuffix(":") && !["true", "false", "yes", "no", "on", "off", "y", "n", "null"].contains(text.lowercased())
        return plain ? text : "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// The image's manifest annotations as docs/responsible.md says the deploy target carries
    /// them: `dev.mlbuild.file:` ones left out, `dev.mlbuild.X` as `mlbuild.dev/X` when X is a
    /// valid name, else X with other characters as `-`, cut to 54, trimmed to alphanumeric ends,
    /// plus `-` and 8 hex digits of the SHA-256 of the whole original key.
    static func lineage(_ archive: String) throws -> [String: String] {
        let annotations = try #require(try ContainerFixtures.manifest(archive)["annotations"] as? [String: String])
        var out: [String: String] = [:]
        var hashed = 0
        for (key, value) in annotations where !key.hasPrefix("dev.mlbuild.file:") {
            guard key.hasPrefix("dev.mlbuild.") else {
                try #require(Self.isKubernetesKey(key), "\(key)")
                out[key] = value
                continue
            }
            let name = String(key.dropFirst("dev.mlbuild.".count))
            if Self.isKubernetesKey(name) {
                out["mlbuild.dev/" + name] = value
                continue
            }
            let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
            var sanitized = String(String.UnicodeScalarView(name.unicodeScalars.map { allowed.contains($0) ? $0 : "-" }).prefix(54))
            let alphanumeric = CharacterSet.alphanumerics
            while let first = sanitized.unicodeScalars.first, !alphanumeric.contains(first) { sanitized.removeFirst() }
            while let last = sanitized.unicodeScalars.last, !alphanumeric.contains(last) { sanitized.removeLast() }
            let sum = try ProcessRunner.run("/usr/bin/sha256sum", [], stdin: key)
            out["mlbuild.dev/" + sanitized + "-" + sum.stdout.prefix(8)] = value
            hashed += 1
        }
        #expect(hashed > 0, "the fixture has lineage keys that need the mapping (paths with '/')")
        return out
    }

    /// `[prefix/]name`: prefix a DNS subdomain, name 1–63 of `[A-Za-z0-9._-]`, alphanumeric at both ends.
    static func isKubernetesKey(_ key: String) -> Bool {
        let name = #"[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?"#
        let label = #"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"#
        let pattern = "^((\(label))(\\.(\(label)))*/)?\(name)$"
        guard key.range(of: pattern, options: .regularExpression) != nil else { return false }
        let prefix = key.split(separator: "/").dropLast().joined()
        return prefix.count <= 253
    }

    static func block(_ fields: [String: String], indent: Int) -> String {
        let pad = String(repeating: " ", count: indent)
        return fields.keys.sorted().map { "\(pad)\(q($0)): \(q(fields[$0]!))\n" }.joined()
    }

    // MARK: The manifest

    @Test(.timeLimit(.minutes(10))) func theManifestIsExactlyTheDeploymentAndServiceOfTheBuiltImage() throws {
        let ws = try MLFixtures.workspace(mlfile: Self.mlfile(deploy: Self.plainDeploy))
        let run = try ws.build(["deploy:app"])
        try #require(run.result.status == 0, "\(run.result.output)")
        let digest = try Self.digest(ws)
        var annotations = try Self.lineage("\(ws.path)/build/container/app/image.tar")
        #expect(annotations["mlbuild.dev/model"] == "model:lr")
        #expect(annotations["mlbuild.dev/runtime"] == "serve")
        #expect(annotations.keys.contains { $0.hasPrefix("mlbuild.dev/metrics.") })
        annotations["deploy.mlbuild.dev/container"] = "container:app"
        annotations["deploy.mlbuild.dev/image-digest"] = digest
        annotations["deploy.mlbuild.dev/target"] = "deploy:app"
        var pod = annotations
        pod["prometheus.io/scrape"] = "true"
        pod["prometheus.io/path"] = "/metrics"
        pod["prometheus.io/port"] = "8080"
        let labels = "app.kubernetes.io/managed-by: mlbuild\napp.kubernetes.io/name: app\ntrack: stable\n"
        func indented(_ text: String, _ n: Int) -> String {
            text.split(separator: "\n").map { String(repeating: " ", count: n) + $0 + "\n" }.joined()
        }
        let expected = """
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              annotations:
            \(Self.block(annotations, indent: 4))  labels:
            \(indented(labels, 4))  name: app
              namespace: ml
            spec:
              replicas: 3
              selector:
                matchLabels:
                  app.kubernetes.io/name: app
                  track: stable
              template:
                metadata:
                  annotations:
            \(Self.block(pod, indent: 8))      labels:
            \(indented(labels, 8))    spec:
                  containers:
                    - image: registry.example.com/churn/app@\(digest)
                      imagePullPolicy: IfNotPresent
                      livenessProbe:
                        failureThreshold: 3
                        httpGet:
                          path: /healthz
                          port: 8080
                          scheme: HTTP
                        periodSeconds: 10
                        timeoutSeconds: 2
                      name: app
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
                          cpu: "500m"
                          memory: "512Mi"
                        requests:
                          cpu: "500m"
                          memory: "512Mi"
            ---
            apiVersion: v1
            kind: Service
            metadata:
              labels:
                app.kubernetes.io/managed-by: mlbuild
                app.kubernetes.io/name: app
              name: app
              namespace: ml
            spec:
              ports:
                - name: http
                  port: 8080
                  protocol: TCP
                  targetPort: http
              selector:
                app.kubernetes.io/name: app
              type: ClusterIP

            """
        let written = try Self.manifest(ws)
        #expect(written == expected)
        try Self.expectValidKeys(written)
        try Self.validate(ws, "build/deploy/app/kubernetes.yaml")
        #expect(run.result.output.contains("deployment app: 3 replicas of \(digest)"), "\(run.result.output)")
    }

    /// Every key of every map in the YAML that is an annotation or label key matches the grammar.
    static func expectValidKeys(_ yaml: String) throws {
        var inKeyedMap = false
        var mapIndent = 0
        for line in yaml.split(separator: "\n") {
            let indent = line.prefix { $0 == " " }.count
            let text = line.trimmingCharacters(in: .whitespaces)
            if inKeyedMap && indent > mapIndent, let colon = text.range(of: ": ") {
                var key = String(text[..<colon.lowerBound])
                if key.hasPrefix("\"") { key = String(key.dropFirst().dropLast()) }
                #expect(Self.isKubernetesKey(key), "'\(key)' is not a Kubernetes annotation or label key")
                continue
            }
            inKeyedMap = ["annotations:", "labels:", "matchLabels:", "selector:"].contains(text)
            mapIndent = indent
        }
    }

    /// `.venv-tests/kubernetes-validate/bin/kubernetes-validate` (scripts/install-test-tools), or
    /// `$MLBUILD_TEST_KUBERNETES_VALIDATE`, against Kubernetes 1.37.0's schemas, strictly.
    static func validate(_ ws: MLBuildWorkspace, _ path: String) throws {
        let tool = ProcessInfo.processInfo.environment["MLBUILD_TEST_KUBERNETES_VALIDATE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? repositoryRoot.appendingPathComponent(".venv-tests/kubernetes-validate/bin/kubernetes-validate").path
        try #require(FileManager.default.isExecutableFile(atPath: tool),
                     "kubernetes-validate not found at \(tool): run scripts/install-test-tools, or set MLBUILD_TEST_KUBERNETES_VALIDATE")
        let result = try ProcessRunner.run(tool, ["--strict", "-k", "1.37.0", "\(ws.path)/\(path)"])
        #expect(result.status == 0, "kubernetes-validate: \(result.output)")
        #expect(!result.output.contains("WARN") && !result.output.lowercased().contains("error"), "\(result.output)")
    }

    @Test(.timeLimit(.minutes(10))) func buildsAreByteIdenticalAndIncremental() throws {
        let ws = try MLFixtures.workspace(mlfile: Self.mlfile(deploy: Self.plainDeploy))
        let first = try ws.build(["deploy:app"])
        try #require(first.result.status == 0, "\(first.result.output)")
        let bytes = try Self.manifest(ws)

        let second = try ws.build(["deploy:app"])
        #expect(second.result.status == 0)
        #expect(second.statuses["deploy:app"] == "fresh" || second.result.stdout.contains("up to date"), "\(second.result.output)")
        #expect(second.targets("built").isEmpty, "\(second.statuses)")

        // Rendered again from nothing (no cached result): the same bytes.
        try FileManager.default.removeItem(atPath: "\(ws.path)/build/deploy")
        try FileManager.default.removeItem(atPath: ws.cacheDirectory)
        let again = try ws.build(["deploy:app"])
        try #require(again.result.status == 0, "\(again.result.output)")
        #expect(again.statuses["deploy:app"] == "built", "\(again.statuses)")
        #expect(try Self.manifest(ws) == bytes)

        // Another replica count: only the deploy target runs.
        try ws.write("Mlfile", Self.mlfile(deploy: Self.plainDeploy.replacingOccurrences(of: "replicas = 3", with: "replicas = 4")))
        let changed = try ws.build(["deploy:app", "--explain"])
        try #require(changed.result.status == 0, "\(changed.result.output)")
        #expect(changed.targets("built") == ["deploy:app"], "\(changed.statuses)")
        #expect(changed.result.output.contains("replicas"), "\(changed.result.output)")
        #expect(try Self.manifest(ws).contains("  replicas: 4\n"))
    }

    // MARK: Canary

    @Test(.timeLimit(.minutes(15))) func aCanaryRunsBesideTheChannelsReleaseAndIsPromoted() throws {
        let ws = try ReleaseFixtures.workspace(mlfile: Self.mlfile(deploy: Self.canaryDeploy))

        // No release yet: nothing to run the canary beside.
        let none = try ws.build(["deploy:app"])
        #expect(none.result.status == 1, "\(none.result.output)")
        #expect(none.result.output.contains("channel 'prod' has no release yet"), "\(none.result.output)")
        #expect(!ws.exists("build/deploy/app/kubernetes.yaml"))

        // Released: the new image is the release itself, all replicas on it, the canary at 0.
        #expect(try ws.run(["release", "container:app", "--channel", "prod"]).status == 0)
        let first = try Self.digest(ws)
        let same = try ws.build(["deploy:app"])
        try #require(same.result.status == 0, "\(same.result.output)")
        #expect(same.result.output.contains("is prod's current release (#1): no canary, all 10 replicas on it"), "\(same.result.output)")
        var yaml = try Self.manifest(ws)
        #expect(Self.deployments(yaml) == [
            .init(name: "app", track: "stable", replicas: 10, image: "registry.example.com/churn/app@\(first)"),
            .init(name: "app-canary", track: "canary", replicas: 0, image: "registry.example.com/churn/app@\(first)"),
        ])
        try Self.validate(ws, "build/deploy/app/kubernetes.yaml")

        // A new model: 9 pods of the release, 1 of the new image, one Service over both.
        try ws.write("Mlfile", Self.mlfile(l2: "0.25", deploy: Self.canaryDeploy))
        try ReleaseFixtures.git(ws, "git commit -q -am 'l2 0.25'")
        let canary = try ws.build(["deploy:app"])
        try #require(canary.result.status == 0, "\(canary.result.output)")
        let second = try Self.digest(ws)
        #expect(second != first)
        yaml = try Self.manifest(ws)
        #expect(Self.deployments(yaml) == [
            .init(name: "app", track: "stable", replicas: 9, image: "registry.example.com/churn/app@\(first)"),
            .init(name: "app-canary", track: "canary", replicas: 1, image: "registry.example.com/churn/app@\(second)"),
        ])
        let canaryYAML = yaml
        #expect(yaml.contains("deploy.mlbuild.dev/release: \"1\""))
        #expect(yaml.contains("deploy.mlbuild.dev/canary-percent: \"10\""))
        #expect(yaml.contains("  selector:\n    app.kubernetes.io/name: app\n  type: ClusterIP\n"), "the Service selects both tracks")
        try Self.expectValidKeys(yaml)
        try Self.validate(ws, "build/deploy/app/kubernetes.yaml")
        #expect(try ws.build(["deploy:app"]).statuses["deploy:app"] == "fresh")

        // Refusals: not a deploy target, no --promote-canary, another channel, no canary.
        let plain = try ws.run(["release", "deploy:app", "--channel", "prod"])
        #expect(plain.status == 2 && plain.stderr.contains("add --promote-canary"), "\(plain.output)")
        let container = try ws.run(["release", "container:app", "--channel", "prod", "--promote-canary"])
        #expect(container.status == 2 && container.stderr.contains("--promote-canary takes the deploy target"), "\(container.output)")
        let other = try ws.run(["release", "deploy:app", "--channel", "staging", "--promote-canary"])
        #expect(other.status == 2 && other.stderr.contains("runs beside channel 'prod', not 'staging'"), "\(other.output)")

        // Promote: the canary's image becomes prod's release #2; the next build renders it stable.
        let promoted = try ws.run(["release", "deploy:app", "--channel", "prod", "--promote-canary"])
        #expect(promoted.status == 0, "\(promoted.output)")
        #expect(promoted.stdout.contains("released container:app \(second) to prod as release #2"), "\(promoted.output)")
        #expect(promoted.stdout.contains("promoted the canary of deploy:app: it replaces release #1 \(first)"), "\(promoted.output)")
        let releases = try ws.run(["releases", "--channel", "prod", "--json"]).stdout.split(separator: "\n").map { try ReleaseFixtures.json(String($0)) }
        #expect(releases.first?["image_digest"] as? String == second)
        let audit = try ws.run(["audit", "--json"]).stdout.split(separator: "\n").compactMap { try? ReleaseFixtures.json(String($0)) }
        let entry = audit.last { $0["action"] as? String == "release" }
        #expect((entry?["details"] as? [String: String])?["canary_of"] == "deploy:app", "\(String(describing: entry))")

        // The release is part of the deploy target's key: it renders again, now all on the new image.
        let rerendered = try ws.build(["deploy:app", "--explain"])
        try #require(rerendered.result.status == 0, "\(rerendered.result.output)")
        #expect(rerendered.targets("built") == ["deploy:app"], "\(rerendered.statuses)")
        #expect(rerendered.result.output.contains("derived.stable"), "\(rerendered.result.output)")
        #expect(Self.deployments(try Self.manifest(ws)) == [
            .init(name: "app", track: "stable", replicas: 10, image: "registry.example.com/churn/app@\(second)"),
            .init(name: "app-canary", track: "canary", replicas: 0, image: "registry.example.com/churn/app@\(second)"),
        ])
        // Promoting again: nothing to promote.
        let twice = try ws.run(["release", "deploy:app", "--channel", "prod", "--promote-canary"])
        #expect(twice.status == 1 && twice.stderr.contains("nothing to promote"), "\(twice.output)")

        // A rollback of the channel changes the key too (release #1 is current again).
        #expect(try ws.run(["rollback", "--channel", "prod"]).status == 0)
        let afterRollback = try ws.build(["deploy:app"])
        try #require(afterRollback.result.status == 0, "\(afterRollback.result.output)")
        #expect(afterRollback.statuses["deploy:app"] != "fresh", "\(afterRollback.statuses)")
        // The Mlfile still makes the second image: it is the canary again beside release #1, byte for byte.
        #expect(try Self.manifest(ws) == canaryYAML)
        #expect(try ws.run(["audit", "--verify"]).status == 0)
    }

    @Test(.timeLimit(.minutes(10))) func promotingWithoutACanaryOrBeforeTheDeployIsBuiltIsRefused() throws {
        let ws = try ReleaseFixtures.workspace(mlfile: Self.mlfile(deploy: Self.plainDeploy) + """

            deploy other: container:app
                registry = registry.example.com/churn/other
                replicas = 2
                canary = 50
                channel = prod
            """)
        #expect(try ws.build(["container:app"]).result.status == 0)
        let noCanary = try ws.run(["release", "deploy:app", "--channel", "prod", "--promote-canary"])
        #expect(noCanary.status == 1 && noCanary.stderr.contains("deploy:app has no canary to promote"), "\(noCanary.output)")
        let noRelease = try ws.run(["release", "deploy:other", "--channel", "prod", "--promote-canary"])
        #expect(noRelease.status == 1 && noRelease.stderr.contains("channel 'prod' has no release"), "\(noRelease.output)")
        let help = try ws.run(["release", "--help"])
        #expect(help.stdout.contains("--promote-canary"), "\(help.output)")
    }

    // MARK: The image answers the manifest's probes

    @Test(.timeLimit(.minutes(10))) func theImageAnswersTheProbesTheManifestNames() throws {
        let ws = try MLFixtures.workspace(mlfile: Self.mlfile(deploy: Self.plainDeploy))
        let run = try ws.build(["deploy:app"])
        try #require(run.result.status == 0, "\(run.result.output)")
        let yaml = try Self.manifest(ws)
        let digest = try Self.digest(ws)
        #expect(Self.deployments(yaml).map(\.image) == ["registry.example.com/churn/app@\(digest)"])
        // The image the manifest names is the archive's manifest digest.
        let raw = try ProcessRunner.run(try #require(ContainerFixtures.tool("skopeo")),
                                        ["inspect", "--raw", "oci-archive:\(ws.path)/build/container/app/image.tar"])
        try ws.write("manifest.json", raw.stdout)
        #expect(try ContainerFixtures.sha256("\(ws.path)/manifest.json") == digest)

        let lines = yaml.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let paths = lines.filter { $0.hasPrefix("path: ") }.map { String($0.dropFirst(6)) }
        let ports = Set(lines.filter { $0.hasPrefix("port: ") || $0.hasPrefix("containerPort: ") }.compactMap { Int($0.split(separator: " ").last ?? "") })
        #expect(paths == ["/healthz", "/readyz"])
        #expect(ports == [ChrootedServer.port], "the probes and the container port are the port the image serves on")

        let image = try UnpackedImage.unpack("\(ws.path)/build/container/app/image.tar", into: ws.path)
        let server = try ChrootedServer(image, logDirectory: ws.path)
        let ready = try server.waitUntilReady()
        try #require(ready, "the image's server did not become ready: \(server.stderr)")
        for path in paths + ["/metrics"] {
            #expect(try server.request("GET", path).status == 200, "GET \(path)")
        }
        #expect(server.stop() == 0, "\(server.stderr)")
    }

    // MARK: Mlfile errors through the binary

    @Test func aDeployOfAModelOfAnImageThatDoesNotServeOrOfAnUnexposedPortIsAnMlfileError() throws {
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfile() + """

            container packed: model:lr

            deploy a: model:lr
                registry = registry.example.com/churn/app

            deploy b: container:packed
                registry = registry.example.com/churn/app
                canary = 10

            container api: model:lr
                runtime = serve

            deploy c: container:api
                registry = registry.example.com/churn/app
                port = 9000
            """)
        let run = try ws.run(["deploy:a"])
        #expect(run.status == 2)
        let headlines = run.stderr.split(separator: "\n").filter { $0.hasPrefix("Mlfile:") }
        #expect(headlines == [
            "Mlfile:31:11: error: deploy:a deploys a container image: model:lr is not a container target (deploy a: container:NAME)",
            "Mlfile:34:11: error: container:packed is not runnable: a deploy needs an image with runtime = serve (it answers /healthz, /readyz and /metrics)",
            "Mlfile:36:14: error: canary = 10 needs channel = NAME: the release channel whose current release runs as the stable Deployment",
            "Mlfile:36:14: error: canary = 10 needs replicas >= 2 (one stable pod and one canary pod at least), not 1",
            "Mlfile:43:12: error: port 9000 is not exposed by container:api (its exposed ports: 8080/tcp)",
        ], "\(run.stderr)")
        #expect(!ws.exists("build"))
    }

    // MARK: Reading the manifest back

    struct Deployment: Equatable {
        var name: String
        var track: String
        var replicas: Int
        var image: String
    }

    /// The Deployments of the YAML: name, track label, replicas and image, in document order.
    static func deployments(_ yaml: String) -> [Deployment] {
        yaml.components(separatedBy: "---\n").filter { $0.contains("kind: Deployment\n") }.map { document in
            let lines = document.split(separator: "\n").map(String.init)
            func value(_ prefix: String) -> String {
                lines.first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) } ?? ""
            }
            return Deployment(name: value("  name: "), track: value("    track: "), replicas: Int(value("  replicas: ")) ?? -1,
                              image: value("        - image: "))
        }
    }
}
