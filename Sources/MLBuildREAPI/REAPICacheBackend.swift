import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import MLBuildCache
import MLBuildCore
import MLBuildEngine
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The engine's remote cache on a Remote Execution API v2 server (`--remote-cache grpc://…`):
/// the Action Cache and the Content Addressable Storage of BuildGrid, Buildbarn, BuildBuddy,
/// NativeLink or buildbox-casd, under `--remote-instance`.
///
/// The same trust and fault rules as the HTTP cache (`RemoteCacheAdapter`): an action result is
/// believed only in the shape `REAPIActionMapping` writes and when it matches the target's
/// declared outputs; every blob is hashed while it arrives and refused on any mismatch of
/// digest or size; the first transport failure (unreachable, timed out, refused credentials)
/// gives one warning and turns the cache off for the rest of the build, which goes on locally.
/// The credential header is sent as gRPC metadata and never printed.
public final class REAPICacheBackend: RemoteCacheBackend {
    public let endpoint: REAPIEndpoint
    public let instance: String
    let metadata: Metadata
    private let timeout: Duration
    private let uploadEnabled: Bool
    private let onWarning: @Sendable (String) -> Void
    let client: GRPCClient<HTTP2ClientTransport.Posix>
    private let state = Mutex(State())
    private let bytesDown = Atomic<UInt64>(0)
    private let bytesUp = Atomic<UInt64>(0)

    private struct State {
        var disabledReason: String?
        var capabilities: Task<Capabilities?, Never>?
    }

    /// What the server said it can do (`GetCapabilities`, asked once).
    struct Capabilities: Sendable {
        /// Largest total of a BatchReadBlobs/BatchUpdateBlobs request; bigger blobs go over ByteStream.
        var batchLimit: Int64
        var updateEnabled: Bool
        var executionEnabled: Bool
    }

    /// gRPC's default largest message is 4 MiB; batches stay below it with room for framing.
    static let defaultBatchLimit: Int64 = 4 * 1024 * 1024 - 64 * 1024
    static let chunkSize = 1024 * 1024

    /// What the one warning of an unreachable server calls it: the cache alone, or the
    /// executor whose cache this is (then the build goes on locally either way).
    public enum Role: Sendable {
        case cache
        case executor
    }

    public let role: Role

    public init(endpoint: REAPIEndpoint, instance: String, header: RemoteCacheHeader?, requestTimeout: Double, uploadEnabled: Bool,
                role: Role = .cache, onWarning: @escaping @Sendable (String) -> Void) throws {
        self.role = role
        self.endpoint = endpoint
        self.instance = instance
        var metadata = Metadata()
        if let header { metadata.addString(header.value, forKey: header.name.lowercased()) }
        self.metadata = metadata
        timeout = .milliseconds(Int64((requestTimeout * 1000).rounded()))
        self.uploadEnabled = uploadEnabled
        self.onWarning = onWarning
        let transport = try HTTP2ClientTransport.Posix(
            target: .dns(host: endpoint.host, port: endpoint.port),
            transportSecurity: endpoint.usesTLS ? .tls : .plaintext)
        let client = GRPCClient(transport: transport)
        self.client = client
        // Runs until `beginGracefulShutdown` (deinit); calls wait for the first connection.
        Task { try? await client.runConnections() }
    }

    deinit {
        client.beginGracefulShutdown()
    }

    /// False once a failure turned the cache off for this build.
    public var isAvailable: Bool { state.withLock { $0.disabledReason == nil } }

    /// Why the server is off for this build (nil while it is not).
    var disabledReason: String? { state.withLock { $0.disabledReason } }

    public var bytesDownloaded: UInt64 { bytesDown.load(ordering: .relaxed) }
    public var bytesUploaded: UInt64 { bytesUp.load(ordering: .relaxed) }

    var callOptions: CallOptions {
        var options = CallOptions.defaults
        options.timeout = timeout
        return options
    }

    // MARK: RemoteCacheBackend

    public func lookupAction(_ key: ContentDigest, target: TargetReference, declared: DeclaredOutputs) async -> RemoteLookup {
        guard await capabilities() != nil else { return .unavailable }
        let answer: REActionResult?
        do {
            var request = Build_Bazel_Remote_Execution_V2_GetActionResultRequest()
            request.instanceName = instance
            request.actionDigest = try REAPIActionMapping.actionBlobs(for: key).action
            let cache = Build_Bazel_Remote_Execution_V2_ActionCache.Client(wrapping: client)
            answer = try await retrying { try await cache.getActionResult(request, metadata: self.metadata, options: self.callOptions) { response in
                do {
                    return try response.message
                } catch let error as RPCError where error.code == .notFound {
                    return nil
                }
            } }
        } catch {
            fail(error)
            return isAvailable ? .miss : .unavailable
        }
        guard let answer else { return .miss }
        let result: ActionResult
        do {
            result = try REAPIActionMapping.local(answer)
        } catch {
            onWarning("warning: remote cache \(endpoint) action result for \(target) (key \(key.hex)) refused: \(error); building locally")
            return .rejected
        }
        // The trust boundary: nothing the target did not declare is ever restored.
        if let mismatch = declared.mismatch(in: result) {
            onWarning("warning: remote cache \(endpoint) action result for \(target) does not match its declared outputs (\(mismatch)); building locally")
            return .rejected
        }
        return .hit(result)
    }

    public func fetchBlob(_ digest: ContentDigest, size: UInt64, into store: ContentStore) async -> Bool {
        guard let capabilities = await capabilities() else { return false }
        do { try FileSystem.createDirectories(store.layout.tempDirectory) } catch { return false }
        let temp = "\(store.layout.tempDirectory)/remote.\(getpid()).\(UInt64.random(in: 0 ... .max))"
        do {
            let verified: Bool
            if Int64(clamping: size) <= capabilities.batchLimit {
                verified = try await batchRead(digest, size: size, to: temp)
            } else {
                verified = try await streamRead(digest, size: size, to: temp)
            }
            guard verified else {
                unlink(temp)
                return false
            }
            try store.adopt(verifiedFile: temp, digest: digest)
            return true
        } catch let refused as REAPIActionMapping.Refused {
            unlink(temp)
            onWarning("warning: remote cache \(endpoint) served a bad blob \(digest.hex) (\(refused)); ignoring it")
            return false
        } catch {
            unlink(temp)
            fail(error)
            return false
        }
    }

    public func upload(result: ActionResult, key: ContentDigest, store: ContentStore) async {
        guard uploadEnabled, let capabilities = await capabilities(), capabilities.updateEnabled else { return }
        do {
            let (action, actionBlobs) = try REAPIActionMapping.actionBlobs(for: key)
            let (remote, extraBlobs) = try REAPIActionMapping.remote(result)
            // Small blobs in memory; output files read from the store only if the server lacks them.
            // One entry per digest (the empty input root and an empty output file share one).
            var blobs: [String: (digest: REDigest, content: REAPIMerkleTree.Content)] = [:]
            for output in result.outputs {
                if let digest = output.digest {
                    blobs[digest.hex] = (REAPIActionMapping.digest(digest, size: output.size), .file(store.path(of: digest)))
                }
            }
            for (digest, bytes) in actionBlobs + extraBlobs { blobs[digest.hash] = (digest, .bytes(bytes)) }
            try await uploadMissing(blobs, capabilities: capabilities)
            // The action result goes last, so a reader never sees it before its blobs.
            var request = Build_Bazel_Remote_Execution_V2_UpdateActionResultRequest()
            request.instanceName = instance
            request.actionDigest = action
            request.actionResult = remote
            let cache = Build_Bazel_Remote_Execution_V2_ActionCache.Client(wrapping: client)
            _ = try await retrying { try await cache.updateActionResult(request, metadata: self.metadata, options: self.callOptions) }
        } catch {
            fail(error)
        }
    }

    // MARK: Calls

    /// Uploads the blobs the server lacks (FindMissingBlobs first): small ones in batches
    /// within the server's limit, large ones through ByteStream.
    func uploadMissing(_ blobs: [String: (digest: REDigest, content: REAPIMerkleTree.Content)], capabilities: Capabilities) async throws {
        let wanted = blobs.keys.sorted().compactMap { blobs[$0]?.digest }
        let missing = Set(try await findMissing(wanted).map(\.hash))
        var batch: [(REDigest, Data)] = []
        var batchBytes: Int64 = 0
        for hash in missing.sorted() {
            guard let (digest, content) = blobs[hash] else { continue }
            if digest.sizeBytes > capabilities.batchLimit {
                switch content {
                case let .file(path): try await streamWrite(path: path, digest: digest)
                case let .bytes(bytes): try await streamWrite(bytes: bytes, digest: digest)
                }
                continue
            }
            let bytes: Data
            switch content {
            case let .bytes(known): bytes = known
            case let .file(path): bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            }
            guard Int64(bytes.count) == digest.sizeBytes else {
                throw REAPIActionMapping.Refused(description: "the file for blob \(digest.hash) changed size while it was uploaded")
            }
            if batchBytes + digest.sizeBytes > capabilities.batchLimit, !batch.isEmpty {
                try await batchUpdate(batch)
                batch = []
                batchBytes = 0
            }
            batch.append((digest, bytes))
            batchBytes += digest.sizeBytes
        }
        if !batch.isEmpty { try await batchUpdate(batch) }
    }

    /// The server's capabilities, asked once; nil when it cannot be reached (one warning) or
    /// does not offer what mlbuild needs.
    func capabilities() async -> Capabilities? {
        let task: Task<Capabilities?, Never>? = state.withLock { state in
            guard state.disabledReason == nil else { return nil }
            if let existing = state.capabilities { return existing }
            let task = Task { await self.askCapabilities() }
            state.capabilities = task
            return task
        }
        guard let task, let capabilities = await task.value, isAvailable else { return nil }
        return capabilities
    }

    private func askCapabilities() async -> Capabilities? {
        var request = Build_Bazel_Remote_Execution_V2_GetCapabilitiesRequest()
        request.instanceName = instance
        do {
            let service = Build_Bazel_Remote_Execution_V2_Capabilities.Client(wrapping: client)
            let answer = try await retrying(on: [.resourceExhausted]) { try await service.getCapabilities(request, metadata: self.metadata, options: self.callOptions) }
            let cache = answer.cacheCapabilities
            guard cache.digestFunctions.isEmpty || cache.digestFunctions.contains(.sha256) else {
                disable(reason: "no SHA-256",
                        warning: "warning: remote cache \(endpoint) does not offer SHA-256 digests; continuing with the local cache")
                return nil
            }
            let limit = cache.maxBatchTotalSizeBytes > 0 ? min(cache.maxBatchTotalSizeBytes, Self.defaultBatchLimit) : Self.defaultBatchLimit
            let update = !cache.hasActionCacheUpdateCapabilities || cache.actionCacheUpdateCapabilities.updateEnabled
            let execution = answer.hasExecutionCapabilities && answer.executionCapabilities.execEnabled
            return Capabilities(batchLimit: limit, updateEnabled: update, executionEnabled: execution)
        } catch {
            fail(error)
            return nil
        }
    }

    func findMissing(_ digests: [REDigest]) async throws -> [REDigest] {
        guard !digests.isEmpty else { return [] }
        var request = Build_Bazel_Remote_Execution_V2_FindMissingBlobsRequest()
        request.instanceName = instance
        request.blobDigests = digests
        let cas = Build_Bazel_Remote_Execution_V2_ContentAddressableStorage.Client(wrapping: client)
        return try await retrying { try await cas.findMissingBlobs(request, metadata: self.metadata, options: self.callOptions).missingBlobDigests }
    }

    func batchUpdate(_ blobs: [(REDigest, Data)]) async throws {
        var request = Build_Bazel_Remote_Execution_V2_BatchUpdateBlobsRequest()
        request.instanceName = instance
        request.requests = blobs.map { digest, bytes in
            var one = Build_Bazel_Remote_Execution_V2_BatchUpdateBlobsRequest.Request()
            one.digest = digest
            one.data = bytes
            return one
        }
        let cas = Build_Bazel_Remote_Execution_V2_ContentAddressableStorage.Client(wrapping: client)
        let answer = try await retrying { try await cas.batchUpdateBlobs(request, metadata: self.metadata, options: self.callOptions) }
        for response in answer.responses where response.status.code != 0 {
            throw RPCError(code: Self.code(response.status.code), message: "upload of blob \(response.digest.hash) refused: \(response.status.message)")
        }
        bytesUp.add(UInt64(blobs.reduce(0) { $0 + $1.1.count }), ordering: .relaxed)
    }

    /// One blob through BatchReadBlobs, checked and written to `path`; false when the server does not have it.
    func batchRead(_ digest: ContentDigest, size: UInt64, to path: String) async throws -> Bool {
        var request = Build_Bazel_Remote_Execution_V2_BatchReadBlobsRequest()
        request.instanceName = instance
        request.digests = [REAPIActionMapping.digest(digest, size: size)]
        let cas = Build_Bazel_Remote_Execution_V2_ContentAddressableStorage.Client(wrapping: client)
        let answer = try await retrying { try await cas.batchReadBlobs(request, metadata: self.metadata, options: self.callOptions) }
        guard let response = answer.responses.first(where: { $0.digest.hash == digest.hex }) else {
            throw REAPIActionMapping.Refused(description: "the answer does not name the blob asked for")
        }
        if response.status.code == Int32(RPCError.Code.notFound.rawValue) { return false }
        guard response.status.code == 0 else {
            throw RPCError(code: Self.code(response.status.code), message: response.status.message)
        }
        let data = response.data
        guard UInt64(data.count) == size else {
            throw REAPIActionMapping.Refused(description: "\(data.count) bytes where \(size) were declared")
        }
        guard ContentDigest.of(data) == digest else {
            throw REAPIActionMapping.Refused(description: "its content has another SHA-256")
        }
        try data.write(to: URL(fileURLWithPath: path))
        bytesDown.add(UInt64(data.count), ordering: .relaxed)
        return true
    }

    /// A blob's bytes in memory (a tree, a log), verified; nil when the server lacks it.
    func readData(_ digest: ContentDigest, size: UInt64) async throws -> Data? {
        let temp = NSTemporaryDirectory() + "mlbuild-read.\(getpid()).\(UInt64.random(in: 0 ... .max))"
        defer { unlink(temp) }
        let found: Bool
        if let capabilities = await capabilities(), Int64(clamping: size) <= capabilities.batchLimit {
            found = try await batchRead(digest, size: size, to: temp)
        } else {
            found = try await streamRead(digest, size: size, to: temp)
        }
        return found ? try Data(contentsOf: URL(fileURLWithPath: temp)) : nil
    }

    /// Tells the user something once (the caller decides what is worth it).
    func warn(_ text: String) { onWarning(text) }

    /// The ByteStream resource of a blob to read.
    private func readResource(_ digest: ContentDigest, size: UInt64) -> String {
        (instance.isEmpty ? "" : instance + "/") + "blobs/\(digest.hex)/\(size)"
    }

    /// One blob through ByteStream Read, hashed as it streams to `path`; stops past `size`.
    func streamRead(_ digest: ContentDigest, size: UInt64, to path: String) async throws -> Bool {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw REAPIActionMapping.Refused(description: "cannot write \(path)")
        }
        defer { try? handle.close() }
        var request = Google_Bytestream_ReadRequest()
        request.resourceName = readResource(digest, size: size)
        let stream = Google_Bytestream_ByteStream.Client(wrapping: client)
        let written: UInt64? = try await stream.read(request, metadata: metadata, options: callOptions) { response in
            var hasher = SHA256()
            var count: UInt64 = 0
            do {
                for try await message in response.messages {
                    count += UInt64(message.data.count)
                    guard count <= size else { throw REAPIActionMapping.Refused(description: "more than the \(size) bytes declared") }
                    hasher.update(data: message.data)
                    try handle.write(contentsOf: message.data)
                }
            } catch let error as RPCError where error.code == .notFound {
                return nil
            }
            guard count == size else { throw REAPIActionMapping.Refused(description: "\(count) bytes where \(size) were declared") }
            guard ContentDigest(hasher.finalize()) == digest else {
                throw REAPIActionMapping.Refused(description: "its content has another SHA-256")
            }
            return count
        }
        guard let written else { return false }
        bytesDown.add(written, ordering: .relaxed)
        return true
    }

    /// In-memory bytes through ByteStream Write (a spec or a tree too large for a batch).
    func streamWrite(bytes: Data, digest: REDigest) async throws {
        let path = NSTemporaryDirectory() + "mlbuild-upload.\(getpid()).\(UInt64.random(in: 0 ... .max))"
        try bytes.write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        try await streamWrite(path: path, digest: digest)
    }

    /// One file through ByteStream Write, in chunks. A stream that breaks on a transient
    /// error is resumed where the server says it has got to (QueryWriteStatus), under the same
    /// upload name, with backoff between attempts.
    func streamWrite(path: String, digest: REDigest) async throws {
        let resource = (instance.isEmpty ? "" : instance + "/") + "uploads/\(UUID().uuidString.lowercased())/blobs/\(digest.hash)/\(digest.sizeBytes)"
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw REAPIActionMapping.Refused(description: "cannot read \(path)")
        }
        defer { try? handle.close() }
        let total = digest.sizeBytes
        let stream = Google_Bytestream_ByteStream.Client(wrapping: client)
        var start: Int64 = 0
        var attempt = 0
        while true {
            do {
                try handle.seek(toOffset: UInt64(start))
                let from = start
                let answer = try await stream.write(metadata: metadata, options: callOptions, requestProducer: { writer in
                    var offset = from
                    var first = true
                    repeat {
                        let chunk = try handle.read(upToCount: Self.chunkSize) ?? Data()
                        var request = Google_Bytestream_WriteRequest()
                        if first { request.resourceName = resource }
                        first = false
                        request.writeOffset = offset
                        request.data = chunk
                        offset += Int64(chunk.count)
                        request.finishWrite = offset >= total || chunk.isEmpty
                        try await writer.write(request)
                        if request.finishWrite { break }
                    } while true
                })
                guard answer.committedSize == total else {
                    throw RPCError(code: .dataLoss, message: "the server committed \(answer.committedSize) of \(total) bytes of \(digest.hash)")
                }
                bytesUp.add(UInt64(total - from), ordering: .relaxed)
                return
            } catch let error as RPCError where Self.isTransient(error.code) && attempt < Self.retryDelays.count {
                try? await Task.sleep(for: Self.retryDelays[attempt])
                attempt += 1
                var query = Google_Bytestream_QueryWriteStatusRequest()
                query.resourceName = resource
                if let status = try? await stream.queryWriteStatus(query, metadata: metadata, options: callOptions) {
                    if status.complete { return }
                    start = max(0, min(status.committedSize, total))
                } else {
                    start = 0
                }
            }
        }
    }

    // MARK: Retries

    /// Waits before each retry of a transient failure.
    /// About 16 s in all: long enough for a farm's server to restart.
    public static let retryDelays: [Duration] = [.milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8)]

    /// UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED: worth asking again.
    static func isTransient(_ code: RPCError.Code) -> Bool {
        code == .unavailable || code == .resourceExhausted || code == .deadlineExceeded
    }

    /// `body`, again after each transient failure (`codes`), with backoff; the last failure is thrown.
    func retrying<T: Sendable>(on codes: Set<RPCError.Code> = [.unavailable, .resourceExhausted, .deadlineExceeded],
                               _ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch let error as RPCError where codes.contains(error.code) && attempt < Self.retryDelays.count && !Task.isCancelled {
                try? await Task.sleep(for: Self.retryDelays[attempt])
                attempt += 1
            }
        }
    }

    // MARK: Faults

    /// Any failure of a call: the cache is off for the rest of the build, said once.
    func fail(_ error: any Error) {
        let reason: String
        if let rpc = error as? RPCError {
            reason = "\(Self.name(of: rpc.code)): \(rpc.message)"
        } else {
            reason = "\(error)"
        }
        switch role {
        case .cache:
            disable(reason: reason, warning: "warning: remote cache \(endpoint) unavailable (\(reason)); continuing with the local cache")
        case .executor:
            disable(reason: reason, warning: "warning: remote executor \(endpoint) unavailable (\(reason)); building locally")
        }
    }

    private func disable(reason: String, warning: String) {
        let first = state.withLock { state -> Bool in
            guard state.disabledReason == nil else { return false }
            state.disabledReason = reason
            return true
        }
        if first { onWarning(warning) }
    }

    /// A google.rpc.Status code as an error code (unknown for OK or anything unheard of).
    static func code(_ raw: Int32) -> RPCError.Code {
        Status.Code(rawValue: Int(raw)).flatMap { RPCError.Code($0) } ?? .unknown
    }

    /// gRPC's upper-case status names (UNAVAILABLE, DEADLINE_EXCEEDED, …), as servers log them.
    static func name(of code: RPCError.Code) -> String {
        var out = ""
        for character in "\(code)" {
            if character.isUppercase, !out.isEmpty { out += "_" }
            out += character.uppercased()
        }
        return out
    }
}
