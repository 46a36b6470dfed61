import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loopback TCP proxy in front of a real server that misbehaves on demand, for testing how
/// clients survive sick servers. POSIX sockets and one thread per connection; no HTTP
/// library. The mode applies to connections accepted after it is set; setting it also cuts
/// the open connections so that pooled keep-alive connections cannot bypass the new mode.
/// Call `stop()` when done (its threads hold the proxy alive until then); `lifetime` is the
/// backstop: after it the proxy stops by itself, so no test can leave it running.
public final class FaultProxy: @unchecked Sendable {
    public enum Mode: Sendable, Equatable {
        /// Relay both ways unchanged.
        case pass
        /// Hold the connection this long before relaying anything (a slow server).
        case delay(milliseconds: Int)
        /// Read one request, answer `500 Internal Server Error`, close.
        case respond500
        /// Relay, but close after this many response bytes (headers included).
        case truncate(afterBytes: Int)
        /// Reset (RST) each connection right after accepting it.
        case reset
    }

    public let port: Int
    public var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

    private let upstreamPort: Int
    private let deadline: Date
    private let listener: Int32
    /// Guards `currentMode`, `stopped`, `openSockets`, `accepted` and `served500`.
    private let lock = NSLock()
    private var currentMode: Mode
    private var stopped = false
    private var openSockets: Set<Int32> = []
    private var accepted = 0
    private var served500 = 0

    public init(upstreamPort: Int, mode: Mode = .pass, lifetime: Double = 60) throws {
        self.upstreamPort = upstreamPort
        self.currentMode = mode
        self.deadline = Date().addingTimeInterval(lifetime)
        (listener, port) = try LoopbackListener.open(owner: "FaultProxy")
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    deinit { stop() }

    public var mode: Mode {
        get { locked { currentMode } }
        set {
            let open = locked { () -> Set<Int32> in
                currentMode = newValue
                return openSockets
            }
            for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    /// Connections accepted so far.
    public var connectionCount: Int { locked { accepted } }
    /// Requests answered with 500 in `.respond500` mode.
    public var responses500: Int { locked { served500 } }

    public func stop() {
        let open = locked { () -> Set<Int32> in
            stopped = true
            return openSockets
        }
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    // MARK: - Internals

    private func locked<R>(_ body: () -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    private var shouldStop: Bool { locked { stopped } || Date() >= deadline }

    private func acceptLoop() {
        defer { close(listener) }
        while !shouldStop {
            var pollFD = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&pollFD, 1, 50) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            let mode = locked { () -> Mode in
                accepted += 1
                openSockets.insert(client)
                return currentMode
            }
            Thread.detachNewThread { [self] in
                handle(client: client, mode: mode)
                locked { _ = openSockets.remove(client) }
                close(client)
            }
        }
    }

    private func handle(client: Int32, mode: Mode) {
        switch mode {
        case .reset:
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            setsockopt(client, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        case .respond500:
            answer500(client)
        case .pass:
            relay(client, responseLimit: nil)
        case .delay(let milliseconds):
            let until = Date().addingTimeInterval(Double(milliseconds) / 1000)
            while Date() < until, !shouldStop { usleep(10_000) }
            if !shouldStop { relay(client, responseLimit: nil) }
        case .truncate(let bytes):
            relay(client, responseLimit: bytes)
        }
    }

    private func answer500(_ client: Int32) {
        // Read the request head; drain a body unless the client waits for `100 Continue`.
        var head = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !head.containsHeadTerminator {
            guard waitReadable(client), !shouldStop else { return }
            let count = recv(client, &buffer, buffer.count, 0)
            guard count > 0 else { return }
            head.append(contentsOf: buffer[0..<count])
            if head.count > 1 << 20 { return }
        }
        let text = String(decoding: head, as: UTF8.self).lowercased()
        if !text.contains("expect: 100-continue"),
            let lengthLine = text.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
            let length = Int(lengthLine.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
        {
            var remaining = length - (head.count - head.headEnd)
            while remaining > 0, waitReadable(client), !shouldStop {
                let count = recv(client, &buffer, min(buffer.count, remaining), 0)
                guard count > 0 else { break }
                remaining -= count
            }
        }
        let response = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        locked { served500 += 1 }
        _ = sendAll(client, Array(response.utf8))
        shutdown(client, Int32(SHUT_WR))
    }

    private func relay(_ client: Int32, responseLimit: Int?) {
        let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard upstream >= 0 else { return }
        defer { close(upstream) }
        locked { _ = openSockets.insert(upstream) }
        defer { locked { _ = openSockets.remove(upstream) } }
        var address = NginxServer.loopbackAddress(port: upstreamPort)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else { return }
        var sentToClient = 0
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        var fds = [pollfd(fd: client, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: upstream, events: Int16(POLLIN), revents: 0)]
        while !shouldStop {
            fds[0].revents = 0
            fds[1].revents = 0
            let ready = poll(&fds, 2, 100)
            if ready < 0 { return }
            if ready == 0 { continue }
            if fds[0].revents != 0 {
                let count = recv(client, &buffer, buffer.count, 0)
                if count <= 0 { return }
                if !sendAll(upstream, Array(buffer[0..<count])) { return }
            }
            if fds[1].revents != 0 {
                let count = recv(upstream, &buffer, buffer.count, 0)
                if count <= 0 { return }
                var chunk = Array(buffer[0..<count])
                if let responseLimit {
                    chunk = Array(chunk.prefix(max(0, responseLimit - sentToClient)))
                }
                if !sendAll(client, chunk) { return }
                sentToClient += chunk.count
                if let responseLimit, sentToClient >= responseLimit { return }
            }
        }
    }

    private func waitReadable(_ fd: Int32) -> Bool {
        while !shouldStop {
            var pollFD = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pollFD, 1, 100)
            if ready > 0 { return true }
            if ready < 0 { return false }
        }
        return false
    }

    private func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { return false }
            offset += count
        }
        return true
    }
}

private extension Array where Element == UInt8 {
    /// Index just past the first CRLFCRLF, or `count`.
    var headEnd: Int {
        guard count >= 4 else { return count }
        for index in 0...(count - 4)
        where self[index] == 13 && self[index + 1] == 10 && self[index + 2] == 13 && self[index + 3] == 10 {
            return index + 4
        }
        return count
    }

    var containsHeadTerminator: Bool { headEnd < count || (count >= 4 && Array(suffix(4)) == [13, 10, 13, 10]) }
}
