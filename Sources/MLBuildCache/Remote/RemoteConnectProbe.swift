import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A bounded TCP connect to the cache server, once at the start of a build. Each request has
/// libcurl's connect timeout too, but an unreachable (blackholed) server would then cost
/// `connectTimeout` per attempt and retry, for every transfer in flight; the probe turns that
/// into one wait of at most `connectTimeout` and one warning before any transfer starts.
enum RemoteConnectProbe {
    /// nil when a connection was established, else why not.
    static func check(host: String, port: Int, timeout: Double) async -> RemoteTransportFailure? {
        await withCheckedContinuation { continuation in
            // Blocking resolver and poll: keep them off the cooperative thread pool.
            DispatchQueue.global().async {
                continuation.resume(returning: checkBlocking(host: host, port: port, timeout: timeout))
            }
        }
    }

    private static func checkBlocking(host: String, port: Int, timeout: Double) -> RemoteTransportFailure? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let hostName = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        guard getaddrinfo(hostName, String(port), &hints, &list) == 0, let first = list else {
            return .hostNotFound
        }
        defer { freeaddrinfo(list) }
        var failure: RemoteTransportFailure = .connectionRefused
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            cursor = info.pointee.ai_next
            let outcome = connectOnce(info.pointee, timeout: timeout)
            guard let outcome else { return nil }
            failure = outcome
        }
        return failure
    }

    private static func connectOnce(_ info: addrinfo, timeout: Double) -> RemoteTransportFailure? {
        let fd = socket(info.ai_family, info.ai_socktype, info.ai_protocol)
        guard fd >= 0 else { return .socket(errno: errno) }
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        if connect(fd, info.ai_addr, info.ai_addrlen) == 0 { return nil }
        guard errno == EINPROGRESS else { return errno == ECONNREFUSED ? .connectionRefused : .socket(errno: errno) }
        var pollFD = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let ready = poll(&pollFD, 1, Int32(max(1, timeout * 1000)))
        guard ready > 0 else { return .timedOut }
        var socketError: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &socketError, &length) == 0 else {
            return .socket(errno: errno)
        }
        switch socketError {
        // A reset after the handshake means a server answered: HTTP requests will tell more.
        case 0, ECONNRESET, EPIPE: return nil
        case ECONNREFUSED: return .connectionRefused
        case ETIMEDOUT: return .timedOut
        default: return .socket(errno: socketError)
        }
    }
}
