import MLBuildBasics
import Testing
@testable import MLBuildRegistry

@Suite struct RegistryReferenceTests {
    @Test func partsOfValidReferences() throws {
        let tagged = try RegistryReference(parsing: "127.0.0.1:5000/churn/app:1.0")
        #expect(tagged.host == "127.0.0.1:5000" && tagged.repository == "churn/app" && tagged.tag == "1.0" && tagged.digest == nil)
        #expect(tagged.description == "127.0.0.1:5000/churn/app:1.0" && tagged.explicitScheme == nil)

        let untagged = try RegistryReference(parsing: "localhost/app")
        #expect(untagged.tag == "latest" && untagged.manifestReference == "latest")

        let hex = String(repeating: "0f", count: 32)
        let pinned = try RegistryReference(parsing: "https://registry.example.com/team/a.b_c--d@sha256:\(hex)")
        #expect(pinned.explicitScheme == .https && pinned.tag == nil && pinned.digest?.hex == hex)
        #expect(pinned.manifestReference == "sha256:\(hex)" && pinned.repository == "team/a.b_c--d")

        let hub = try RegistryReference(parsing: "docker.io/busybox:1")
        #expect(hub.host == "registry-1.docker.io" && hub.repository == "library/busybox")
        #expect(try RegistryReference(parsing: "http://LOCALHOST:5000/x").host == "localhost:5000")
    }

    @Test(arguments: [
        ("churn/app:1.0", "'churn' is not a registry host"),
        ("127.0.0.1:5000", "no repository after the host"),
        ("127.0.0.1:5000/Churn/app", "'Churn/app' is not a valid repository name"),
        ("127.0.0.1:5000/churn//app", "'churn//app' is not a valid repository name"),
        ("127.0.0.1:5000/churn/app:-bad", "'-bad' is not a valid tag"),
        ("127.0.0.1:99999/app", "'127.0.0.1:99999' is not a valid HOST[:PORT]"),
        ("127.0.0.1:5000/app@sha256:abc", "'sha256:abc' is not a sha256:<64 hex digits> digest"),
    ])
    func invalidReferencesSayWhy(text: String, reason: String) {
        #expect {
            _ = try RegistryReference(parsing: text)
        } throws: { error in
            let error = error as? RegistryError
            return error?.kind == .invalidReference
                && error?.message.hasPrefix("invalid registry reference '\(text)': \(reason)") == true
                && error?.message.hasSuffix(" (expected HOST[:PORT]/REPOSITORY[:TAG], e.g. 127.0.0.1:5000/churn/app:1.0)") == true
        }
    }

    @Test func challengesParse() throws {
        let bearer = try #require(RegistryChallenge(header: #"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push""#))
        #expect(bearer.scheme == "bearer")
        #expect(bearer.parameters == ["realm": "https://auth.example.com/token", "service": "registry.example.com", "scope": "repository:a/b:pull,push"])
        let basic = try #require(RegistryChallenge(header: #"Basic realm="say \"hi\"""#))
        #expect(basic.scheme == "basic" && basic.parameters == ["realm": #"say "hi""#])
        #expect(RegistryChallenge(header: "  ") == nil)
    }
}
