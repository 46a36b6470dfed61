import MLBuildCache

/// One HTTP exchange with a registry (or its token service): `CurlHTTPClient` for real, a fake
/// in tests. No retries or policy; `RegistryClient` judges the answer.
public protocol RegistryHTTP: Sendable {
    func send(_ request: CurlHTTPRequest) async throws -> CurlHTTPResponse
}

extension CurlHTTPClient: RegistryHTTP {}
