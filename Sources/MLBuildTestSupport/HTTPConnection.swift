import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.1 client connection to 127.0.0.1 (blocking sockets, keep-alive), for tests that
/// must know exactly when a request was sent and whether its answer came back whole: curl
/// hides that, and a process per request is too slow for 64 concurrent clients.
public final class HTTPConnection: @unchecked Sendable {  // used from one thread at a time
    public struct Response: Sendable {
        public var status: Int
        /// Header names lowercased, in the order received.
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]

        public var text: String { String(decoding: body, as: UTF8.self) }
        public func header(_ name: String) -> String? {
            headers.first { $0.name == name.lowercased() }?.value
        }
    }

    public enum Failure: Error, CustomStringConvertible {
        case connect(Int32)
        /// The connection ended (or timed out) before a whole response arrived.
        case incomplete(String)

        public var description: String {
            switch self {
            case .connect(let e): "connect failed: \(String(cString: strerror(e)))"
            case .incomplete(let why): "incomplete response: \(why)"
            }
        }
    }

    private let fd: Int32
    private var buffered: [UInt8] = []

    /// Connects to 127.0.0.1:`port`; reads give up after `timeout` seconds of silence.
    public init(port: Int, timeout: Int = 60) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure.connect(errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let error = errno
            Glibc.close(fd)
            throw Failure.connect(error)
        }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { Glibc.close(fd) }

    /// Writes one request (with Content-Length when there is a body); returns once written.
    public func send(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []) throws {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        try sendRaw(Array(head.utf8) + body)
    }

    /// Writes `bytes` as they are (a partial request, a malformed one).
    public func sendRaw(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure.incomplete("send failed: \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    /// Reads one whole response (Content-Length, chunked, or up to the close).
    public func receive() throws -> Response {
        let headEnd = try readUntil { Self.find([13, 10, 13, 10], in: $0) }
        let head = String(decoding: buffered[..<headEnd], as: UTF8.self)
        buffered.removeFirst(headEnd + 4)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw Failure.incomplete("bad status line in \(head)") }
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        let response = Response(status: status, headers: headers, body: [])
        var body: [UInt8] = []
        if let length = response.header("content-length").flatMap({ Int($0) }) {
            _ = try readUntil { $0.count >= length ? length : nil }
            body = Array(buffered[..<length])
            buffered.removeFirst(length)
        } else if response.header("transfer-encoding")?.lowercased() == "chunked" {
            while true {
                let lineEnd = try readUntil { Self.find([13, 10], in: $0) }
                let sizeText = String(decoding: buffered[..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { throw Failure.incomplete("bad chunk size") }
                buffered.removeFirst(lineEnd + 2)
                _ = try readUntil { $0.count >= size + 2 ? size : nil }
                body += buffered[..<size]
                buffered.removeFirst(size + 2)
                if size == 0 { break }
            }
        } else {
            while try fill() {}
            body = buffered
            buffered = []
        }
        return Response(status: status, headers: headers, body: body)
    }

    public func request(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []) throws -> Response {
        try send(method, path, headers: headers, body: body)
        return try receive()
    }

    /// Reads until `done` finds what it looks for in the buffer.
    private func readUntil(_ done: ([UInt8]) -> Int?) throws -> Int {
        while true {
            if let found = done(buffered) { return found }
            guard try fill() else { throw Failure.incomplete("connection closed after \(buffered.count) bytes") }
        }
    }

    /// One read into the buffer; false at the end of the stream.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw Failure.incomplete("recv failed: \(String(cString: strerror(errno)))") }
            if n == 0 { return false }
            buffered += chunk[..<n]
            return true
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0 ... haystack.count - needle.count where haystack[i] == needle[0] {
            if Array(haystack[i ..< i + needle.count]) == needle { return i }
        }
        return nil
    }
}
