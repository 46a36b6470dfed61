/// Masks secret values in text meant for people (a task's captured output, error messages).
///
/// Matching is on UTF-8 bytes, not on `Character`s: a grapheme-based search misses a secret
/// followed by a combining mark (in `abc` + U+0301 the last grapheme is `ć`, not `c`), and
/// masking must not depend on what follows a secret. Every secret of at least one byte is masked (a
/// short secret makes noisy output, but printing it would be worse). At each position the
/// longest secret that matches wins, so a secret that contains another is masked whole.
/// UTF-8 is self-synchronizing, so a match of valid UTF-8 secret bytes in valid UTF-8 text
/// always starts and ends on character boundaries.
public struct SecretMasker: Sendable {
    /// Distinct non-empty secrets as bytes, longest first.
    private let secrets: [[UInt8]]
    private let replacement: [UInt8]
    /// Whether some secret starts with the byte (the scan skips other bytes quickly).
    private let starts: [Bool]

    public init(_ values: some Sequence<String>, replacement: String = "***") {
        let distinct = Set(values.map { Array($0.utf8) }).filter { !$0.isEmpty }
        secrets = distinct.sorted { $0.count != $1.count ? $0.count > $1.count : $0.lexicographicallyPrecedes($1) }
        self.replacement = Array(replacement.utf8)
        var starts = [Bool](repeating: false, count: 256)
        for secret in secrets { starts[Int(secret[0])] = true }
        self.starts = starts
    }

    /// True when there is nothing to mask.
    public var isEmpty: Bool { secrets.isEmpty }

    public func mask(_ text: String) -> String {
        if isEmpty { return text }
        return String(decoding: mask(Array(text.utf8)), as: UTF8.self)
    }

    public func mask(_ bytes: [UInt8]) -> [UInt8] {
        if isEmpty { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        _ = scan(bytes, final: true, into: &out)
        return out
    }

    /// Masks `bytes` into `out` up to the point where a secret might continue in bytes not seen
    /// yet (unless `final`); returns how many bytes were consumed.
    private func scan(_ bytes: [UInt8], final: Bool, into out: inout [UInt8]) -> Int {
        bytes.withUnsafeBufferPointer { buffer in
            let count = buffer.count
            var i = 0
            var copiedUpTo = 0
            scanning: while i < count {
                guard starts[Int(buffer[i])] else { i += 1; continue }
                for secret in secrets where secret[0] == buffer[i] {
                    let available = min(secret.count, count - i)
                    var equal = true
                    for k in 1..<max(available, 1) where buffer[i + k] != secret[k] { equal = false; break }
                    guard equal else { continue }
                    if available == secret.count {
                        out.append(contentsOf: buffer[copiedUpTo..<i])
                        out.append(contentsOf: replacement)
                        i += secret.count
                        copiedUpTo = i
                        continue scanning
                    }
                    // The bytes so far are a prefix of this secret: wait for more (a longer
                    // secret is tried before a shorter one that may match here already).
                    if !final {
                        out.append(contentsOf: buffer[copiedUpTo..<i])
                        return i
                    }
                }
                i += 1
            }
            out.append(contentsOf: buffer[copiedUpTo..<count])
            return count
        }
    }

    /// Masking of a stream that arrives in pieces: a secret split across two pieces is still
    /// masked (the bytes that could begin one are held back until the next piece or `finish`).
    public struct Stream: Sendable {
        public let masker: SecretMasker
        private var pending: [UInt8] = []

        public init(_ masker: SecretMasker) { self.masker = masker }

        /// The masked bytes that can be released after `bytes`.
        public mutating func feed(_ bytes: some Collection<UInt8>) -> [UInt8] {
            if masker.isEmpty { return Array(bytes) }
            pending.append(contentsOf: bytes)
            var out: [UInt8] = []
            let consumed = masker.scan(pending, final: false, into: &out)
            pending.removeFirst(consumed)
            return out
        }

        /// The rest, once the stream has ended.
        public mutating func finish() -> [UInt8] {
            defer { pending = [] }
            return masker.mask(pending)
        }
    }
}
