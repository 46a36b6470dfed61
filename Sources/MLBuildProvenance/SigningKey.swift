import Crypto
import Foundation
import MLBuildBasics

/// An Ed25519 key pair for signing provenance, kept in the PEM files OpenSSL writes and reads
/// (`openssl pkey -in KEY`): the private key as PKCS#8 (`-----BEGIN PRIVATE KEY-----`), the
/// public key as SubjectPublicKeyInfo (`-----BEGIN PUBLIC KEY-----`). Both DER forms have a
/// fixed 12/16-byte prefix before the 32 key bytes (RFC 8410), so no ASN.1 parser is needed.
///
/// The private key is a secret: its bytes and its file's path never enter an action key, a
/// log line or an artifact. Only the `keyID` (the SHA-256 of the public key) does.
public struct SigningKey: Sendable {
    let key: Curve25519.Signing.PrivateKey

    public var publicKey: VerifyingKey { VerifyingKey(key: key.publicKey) }

    /// A fresh random key.
    public static func generate() -> SigningKey { SigningKey(key: Curve25519.Signing.PrivateKey()) }

    /// Reads a PKCS#8 PEM private key; the error names the file, never its content.
    public init(contentsOf path: String) throws {
        let text = try PEM.read(path, what: "the signing key")
        guard let der = PEM.decode(text, label: "PRIVATE KEY"), der.count == 48,
              Array(der.prefix(16)) == Self.pkcs8Prefix,
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: der.suffix(32))
        else {
            throw ProvenanceError("the signing key '\(path)' is not an Ed25519 private key in PKCS#8 PEM form (mlbuild keygen writes one)")
        }
        self.key = key
    }

    init(key: Curve25519.Signing.PrivateKey) { self.key = key }

    /// The PKCS#8 PEM text of the private key.
    public var pem: String { PEM.encode(Self.pkcs8Prefix + Array(key.rawRepresentation), label: "PRIVATE KEY") }

    /// Ed25519 (RFC 8032) is deterministic: the same key and message give the same signature.
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        Array(try key.signature(for: message))
    }

    static let pkcs8Prefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]

    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain,
           let code = POSIXErrorCode(rawValue: Int32(underlying.code)) {
            return String(cString: strerror(code.rawValue))
        }
        if ns.domain == NSCocoaErrorDomain, ns.code == NSFileReadNoSuchFileError { return "No such file or directory" }
        return ns.localizedDescription
    }
}

/// The public half of a `SigningKey`.
public struct VerifyingKey: Sendable, Equatable {
    let key: Curve25519.Signing.PublicKey

    public static func == (a: VerifyingKey, b: VerifyingKey) -> Bool { a.key.rawRepresentation == b.key.rawRepresentation }

    /// Reads a SubjectPublicKeyInfo PEM public key.
    public init(contentsOf path: String) throws {
        let text = try PEM.read(path, what: "the public key")
        guard let der = PEM.decode(text, label: "PUBLIC KEY"), der.count == 44, Array(der.prefix(12)) == Self.spkiPrefix,
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: der.suffix(32))
        else {
            throw ProvenanceError("the public key '\(path)' is not an Ed25519 public key in PEM form (mlbuild keygen writes one)")
        }
        self.key = key
    }

    init(key: Curve25519.Signing.PublicKey) { self.key = key }

    public var pem: String { PEM.encode(Self.spkiPrefix + Array(key.rawRepresentation), label: "PUBLIC KEY") }

    /// The key's name in a DSSE signature: SHA-256 of the 32 public key bytes, hex.
    public var keyID: String { ContentDigest.of(Array(key.rawRepresentation)).hex }

    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        key.isValidSignature(signature, for: message)
    }

    static let spkiPrefix: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]
}

/// RFC 7468 text encoding: base64 in 64-column lines between BEGIN/END lines.
enum PEM {
    /// The file's text; the error names the file and why, never its content.
    static func read(_ path: String, what: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ProvenanceError("cannot read \(what) '\(path)': \(SigningKey.reason(error))")
        }
    }

    static func encode(_ der: [UInt8], label: String) -> String {
        let base64 = Data(der).base64EncodedString()
        var lines = ["-----BEGIN \(label)-----"]
        var index = base64.startIndex
        while index < base64.endIndex {
            let end = base64.index(index, offsetBy: 64, limitedBy: base64.endIndex) ?? base64.endIndex
            lines.append(String(base64[index..<end]))
            index = end
        }
        lines.append("-----END \(label)-----")
        return lines.joined(separator: "\n") + "\n"
    }

    static func decode(_ text: String, label: String) -> [UInt8]? {
        let begin = "-----BEGIN \(label)-----", end = "-----END \(label)-----"
        guard let start = text.range(of: begin), let stop = text.range(of: end, range: start.upperBound..<text.endIndex) else {
            return nil
        }
        let body = text[start.upperBound..<stop.lowerBound].filter { !$0.isWhitespace }
        return Data(base64Encoded: String(body)).map(Array.init)
    }
}
