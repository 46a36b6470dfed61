import Foundation
import MLBuildDatasets

/// A DSSE envelope (github.com/secure-systems-lab/dsse, v1.0): the payload, its type and the
/// signatures over the pre-authentication encoding
///
///     PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
///
/// where LEN is the decimal byte count. Written as canonical JSON (keys sorted):
///
///     {"payload": BASE64, "payloadType": "application/vnd.in-toto+json",
///      "signatures": [{"keyid": HEX, "sig": BASE64}]}
///
/// An unsigned envelope has an empty `signatures` list.
public struct DSSEEnvelope: Sendable, Equatable {
    public struct Signature: Sendable, Equatable {
        public var keyID: String
        public var bytes: [UInt8]
    }

    public static let inTotoPayloadType = "application/vnd.in-toto+json"

    public var payloadType: String
    public var payload: [UInt8]
    public var signatures: [Signature]

    public init(payloadType: String, payload: [UInt8], signatures: [Signature] = []) {
        self.payloadType = payloadType
        self.payload = payload
        self.signatures = signatures
    }

    /// Signs the payload with `key` (deterministic: Ed25519).
    public static func signed(payloadType: String, payload: [UInt8], key: SigningKey?) throws -> DSSEEnvelope {
        var envelope = DSSEEnvelope(payloadType: payloadType, payload: payload)
        if let key {
            let signature = try key.sign(Self.preAuthenticationEncoding(type: payloadType, body: payload))
            envelope.signatures = [Signature(keyID: key.publicKey.keyID, bytes: signature)]
        }
        return envelope
    }

    public static func preAuthenticationEncoding(type: String, body: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        return Array("DSSEv1 \(typeBytes.count) ".utf8) + typeBytes + Array(" \(body.count) ".utf8) + body
    }

    /// Whether some signature of the envelope verifies under `key` (a signature by another
    /// key id is ignored; one by this key id that does not verify counts as invalid).
    public func isSigned(by key: VerifyingKey) -> Bool {
        let message = Self.preAuthenticationEncoding(type: payloadType, body: payload)
        return signatures.contains { $0.keyID == key.keyID && key.isValidSignature($0.bytes, for: message) }
    }

    public var json: JSONValue {
        .object([
            "payload": .string(Data(payload).base64EncodedString()),
            "payloadType": .string(payloadType),
            "signatures": .array(signatures.map {
                .object(["keyid": .string($0.keyID), "sig": .string(Data($0.bytes).base64EncodedString())])
            }),
        ])
    }

    public var serialized: Data { CanonicalJSON.serialize(json) }

    /// Parses an envelope file; `name` is how errors name it.
    public init(parsing data: Data, name: String) throws {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: data), case .object(let fields) = value else {
            throw ProvenanceError("\(name): not a JSON object (a DSSE envelope was expected)")
        }
        guard case .string(let type)? = fields["payloadType"] else {
            throw ProvenanceError("\(name): no string 'payloadType' (not a DSSE envelope)")
        }
        guard case .string(let encoded)? = fields["payload"], let payload = Data(base64Encoded: encoded) else {
            throw ProvenanceError("\(name): 'payload' is missing or not base64")
        }
        var signatures: [Signature] = []
        if case .array(let list)? = fields["signatures"] {
            for (i, item) in list.enumerated() {
                guard case .object(let signature) = item, case .string(let sig)? = signature["sig"],
                      let bytes = Data(base64Encoded: sig) else {
                    throw ProvenanceError("\(name): signatures[\(i)] has no base64 'sig'")
                }
                var keyID = ""
                if case .string(let id)? = signature["keyid"] { keyID = id }
                signatures.append(Signature(keyID: keyID, bytes: Array(bytes)))
            }
        } else if fields["signatures"] != nil {
            throw ProvenanceError("\(name): 'signatures' is not a list")
        }
        self.init(payloadType: type, payload: Array(payload), signatures: signatures)
    }
}
