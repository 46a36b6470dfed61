import Foundation

/// Where a served model comes from and what its bytes must digest to, re-read at every (re)load.
///
/// The server module knows no workspace: the command line (MLBuildCLI) builds the expectations,
/// e.g. from `--expect-digest` or from what `.mlbuild/state` recorded for `model:NAME`, and the
/// server calls `expectations()` again at each reload, so a rebuild's new state is what a reload
/// is checked against.
public struct ModelSource: Sendable {
    /// The name requests route by (`/v1/models/NAME/predict`).
    public var name: String
    /// The model.json path as the user gave it (shown in messages and logs).
    public var path: String
    /// Files whose change (by `stat`) reloads this model: the model file, and for `model:NAME`
    /// also `.mlbuild/state`, which a rebuild rewrites after the model.
    public var watchedPaths: [String]
    /// The digests the bytes must have; empty when nothing pins them (the file is then only
    /// checked by decoding). Throws `ModelLoadError` when the pin itself cannot be found.
    public var expectations: @Sendable () throws -> [DigestExpectation]

    public init(name: String, path: String, watchedPaths: [String], expectations: @escaping @Sendable () throws -> [DigestExpectation]) {
        self.name = name
        self.path = path
        self.watchedPaths = watchedPaths
        self.expectations = expectations
    }
}

/// A digest a model file must have, and who says so (`--expect-digest`, `.mlbuild/state record
/// of model:churn`): named in the refusal so an operator knows which pin to fix.
public struct DigestExpectation: Sendable, Equatable {
    /// `sha256:<64 lowercase hex>`.
    public var digest: String
    public var source: String

    public init(digest: String, source: String) {
        self.digest = digest
        self.source = source
    }

    /// `sha256:HEX` in canonical form (lowercase), or nil when `text` is not one.
    public static func canonical(_ text: String) -> String? {
        guard text.hasPrefix("sha256:") else { return nil }
        let hex = text.dropFirst(7).lowercased()
        guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit }) else { return nil }
        return "sha256:" + hex
    }
}

/// A model that cannot be served: the message names the file and the digest of what was read.
public struct ModelLoadError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
