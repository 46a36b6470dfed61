@testable import MLBuildREAPI
import Testing

@Suite("REAPI endpoint: grpc:// and grpcs:// addresses")
struct REAPIEndpointTests {
    @Test(arguments: [
        ("grpc://127.0.0.1:8980", "127.0.0.1", 8980, false),
        ("grpcs://cache.example.com:443/", "cache.example.com", 443, true),
        ("GRPC://Farm:50051", "Farm", 50051, false),
        ("grpc://[::1]:9000", "::1", 9000, false),
    ])
    func goodAddressesParse(_ text: String, _ host: String, _ port: Int, _ tls: Bool) throws {
        let endpoint = try REAPIEndpoint(parsing: text)
        #expect(endpoint == REAPIEndpoint(host: host, port: port, usesTLS: tls))
        #expect(REAPIEndpoint.isGRPC(text))
        #expect(try REAPIEndpoint(parsing: endpoint.description) == endpoint)
    }

    @Test(arguments: [
        ("grpc://host", "the port is missing"),
        ("grpc://:80", "the host is missing"),
        ("grpc://host:0", "'0' is not a port"),
        ("grpc://host:99999", "'99999' is not a port"),
        ("grpc://host:80/instance", "without a path"),
        ("grpc://user@host:80", "without a path, user or query"),
        ("http://host:80", "is not a grpc:// or grpcs:// address"),
        ("grpc://[::1]9000", "expected grpc://[IPV6]:PORT"),
    ])
    func badAddressesSayWhatIsWrong(_ text: String, _ message: String) {
        #expect {
            try REAPIEndpoint(parsing: text)
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test func httpAddressesAreNotGRPC() {
        #expect(!REAPIEndpoint.isGRPC("http://127.0.0.1:8080"))
        #expect(!REAPIEndpoint.isGRPC("https://cache"))
    }
}
