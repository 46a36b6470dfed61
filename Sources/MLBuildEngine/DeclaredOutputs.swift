import MLBuildCache
import MLBuildCore

/// A target's declared outputs, and the trust boundary of every action result: a result read
/// from the local action cache, from the workspace state or from a remote cache is used only
/// when `mismatch(in:)` finds nothing wrong, so that a result can never name a path the target
/// does not own.
///
/// A result matches the declaration when:
/// - every entry is well formed (`ActionResult.isWellFormed`: canonical path, valid digest);
/// - every entry is a declared output itself, or lies below a declared output (a directory);
///   nothing else (`.git/hooks/…`, the Mlfile, another target's files) is ever accepted;
/// - no path is listed twice and no entry lies below another entry (a file or a symlink has
///   nothing below it, a directory entry stands for an empty directory);
/// - every declared output is covered: by an entry equal to it, or by at least one entry below
///   it (an empty declared directory has a `directory` entry), so an empty list is never a hit;
/// - one digest has one size;
/// - a symlink's target, resolved lexically from the link's directory, stays in the workspace.
public struct DeclaredOutputs: Sendable {
    /// Normalized workspace-relative paths, as the Mlfile declares them.
    public let paths: [String]

    public init(_ outputs: [String]) {
        paths = outputs.map(PathNormalizer.normalize)
    }

    /// Why `result` does not match the declaration, in words fit for a warning; nil when it does.
    public func mismatch(in result: ActionResult) -> String? {
        // The common case, one declared output and one entry for it: the checks below reduce to
        // the entry's form and, for a symlink, its target (nothing else to own, cover or repeat).
        if paths.count == 1, result.outputs.count == 1, let output = result.outputs.first, output.path == paths[0],
           ActionResult.isCanonicalRelativePath(paths[0]), ActionResult.isWellFormed(output),
           output.symlinkTarget.map({ WorkspacePath.staysInside(link: output.path, target: $0) }) ?? true {
            return nil
        }
        var seen: Set<String> = []
        var sizes: [String: UInt64] = [:]
        var covered: Set<String> = []
        for output in result.outputs {
            let path = output.path
            guard ActionResult.isWellFormed(output) else {
                if !ActionResult.isCanonicalRelativePath(path) {
                    return "path '\(Self.printable(path))' is not canonical (empty, absolute, or with a '.', '..' or empty component)"
                }
                return output.isFile ? "'\(Self.printable(path))' has a malformed digest or size" : "symlink '\(Self.printable(path))' has an empty or absolute target"
            }
            guard seen.insert(path).inserted else { return "'\(Self.printable(path))' is listed twice" }
            let owners = paths.filter { ActionResult.isCanonicalRelativePath($0) && PathNormalizer.isSameOrInside(path, $0) }
            guard !owners.isEmpty else { return "'\(Self.printable(path))' is not a declared output" }
            covered.formUnion(owners)
            if let digest = output.digest {
                if let size = sizes[digest.hex], size != output.size { return "blob \(digest.hex) is listed with two sizes" }
                sizes[digest.hex] = output.size
            }
            if let target = output.symlinkTarget, !WorkspacePath.staysInside(link: path, target: target) {
                return "symlink '\(Self.printable(path))' points outside the workspace ('\(Self.printable(target))')"
            }
        }
        // A file, a symlink or an empty directory has nothing below it.
        for path in seen.sorted() {
            var ancestor = Substring(path)
            while let slash = ancestor.lastIndex(of: "/") {
                ancestor = ancestor[..<slash]
                if seen.contains(String(ancestor)) {
                    return "'\(Self.printable(path))' lies below another entry, '\(Self.printable(String(ancestor)))'"
                }
            }
        }
        if let missing = paths.first(where: { !covered.contains($0) }) {
            return "declared output '\(missing)' is missing"
        }
        return nil
    }

    /// A path as it may appear in a warning: control characters escaped, long paths cut.
    static func printable(_ path: String) -> String {
        var out = ""
        for scalar in path.unicodeScalars.prefix(200) {
            out += scalar.value < 0x20 || scalar.value == 0x7f ? scalar.escaped(asASCII: true) : String(scalar)
        }
        return out
    }
}
