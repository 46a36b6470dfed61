import Foundation
import Testing
@testable import MLBuildRegistry

@Suite struct RegistryCredentialsTests {
    @Test func environmentComesFirstAndIsNeverShown() throws {
        let basic = try #require(try RegistryCredentials.resolve(host: "h:1", environment: ["MLBUILD_REGISTRY_AUTH": "bob:p:a:ss"]))
        #expect(basic.secret == .basic(username: "bob", password: "p:a:ss"))
        #expect(basic.description == "user 'bob' (from MLBUILD_REGISTRY_AUTH)")
        #expect(!String(reflecting: basic).contains("p:a:ss") && !"\(basic)".contains("p:a:ss"))
        let bearer = try #require(try RegistryCredentials.resolve(host: "h:1", environment: ["MLBUILD_REGISTRY_AUTH": "bearer:tok"]))
        #expect(bearer.secret == .bearer(token: "tok"))
        #expect {
            _ = try RegistryCredentials.resolve(host: "h:1", environment: ["MLBUILD_REGISTRY_AUTH": "justatoken"])
        } throws: { ($0 as? RegistryError)?.message == "MLBUILD_REGISTRY_AUTH must be USER:PASSWORD or bearer:TOKEN (it has no ':')" }
    }

    @Test func dockerConfigAuthsMatchTheHostWhateverTheKeySpelling() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mlbuild-cred-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let auth = Data("carol:pw".utf8).base64EncodedString()
        try Data(#"{"auths":{"https://reg.example.com:5000/v1/":{"auth":"\#(auth)"},"other:1":{"username":"u","password":"p"}}}"#.utf8)
            .write(to: directory.appendingPathComponent("config.json"))
        let environment = ["DOCKER_CONFIG": directory.path]
        let found = try RegistryCredentials.resolve(host: "reg.example.com:5000", environment: environment)
        #expect(found?.secret == .basic(username: "carol", password: "pw"))
        #expect(found?.source == directory.path + "/config.json")
        #expect(try RegistryCredentials.resolve(host: "other:1", environment: environment)?.secret == .basic(username: "u", password: "p"))
        #expect(try RegistryCredentials.resolve(host: "none:1", environment: environment) == nil)
        #expect(try RegistryCredentials.resolve(host: "none:1", environment: ["HOME": "/nonexistent"]) == nil)
    }
}
