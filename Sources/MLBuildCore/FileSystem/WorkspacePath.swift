#if canImport(Glibc)
import Glibc
#endif

/// Paths as mlbuild accepts them, and the check that makes writing below one safe.
///
/// A path is canonical when its components are separated by single `/`s and none is empty,
/// `.` or `..`, with no trailing `/`. Every path an Mlfile declares (and every path an action
/// result names) must be canonical: one file has one spelling, so two spellings of one output
/// cannot slip past the overlap checks, and no spelling (`.`, `a/..`, `./`) can name the
/// workspace root, whose removal would wipe the workspace. A non-canonical spelling is an error
/// that shows the canonical one rather than something fixed up silently.
public enum WorkspacePath {
    /// Why `path` is not acceptable, as a phrase that follows the quoted path ("'./x' has a '.'
    /// component (write 'x')"); nil when it is canonical.
    /// `absolute`: an absolute path is accepted (an input outside the workspace).
    /// `leadingParent`: leading `..` components are accepted (an input beside the workspace);
    /// a `..` after a name (`a/../b`) never is.
    public static func problem(_ path: String, absolute: Bool = false, leadingParent: Bool = false) -> String? {
        if isPlainRelative(path) { return nil }  // the common case, without allocating
        if path.isEmpty { return "is empty" }
        let isAbsolute = path.hasPrefix("/")
        if isAbsolute && !absolute { return "is absolute: it must be a path inside the workspace" }
        let components = (isAbsolute ? path.dropFirst() : path[...]).split(separator: "/", omittingEmptySubsequences: false)
        var sawName = false
        var reason: String?
        for (index, component) in components.enumerated() {
            switch component {
            case "":
                reason = reason ?? (index == components.count - 1 ? "ends with '/'" : "has an empty component")
            case ".":
                reason = reason ?? "has a '.' component"
            case "..":
                if sawName || isAbsolute || !leadingParent { reason = reason ?? "has a '..' component" }
            default:
                sawName = true
            }
        }
        guard let reason else { return nil }
        let normal = lexicallyNormalized(path)
        if normal == "." { return "names the workspace root" }
        if normal == "/" { return "names the file system root" }
        if normal == ".." || normal.hasPrefix("../") {
            if !leadingParent { return "leaves the workspace ('..')" }
        }
        if normal.hasPrefix("/") && !absolute { return "is absolute: it must be a path inside the workspace" }
        return "\(reason) (write '\(normal)')"
    }

    /// A relative path whose components are all names (no empty, `.` or `..` component): the
    /// spelling almost every path has, checked in one pass over its bytes.
    static func isPlainRelative(_ path: String) -> Bool {
        var length = 0, dots = 0
        for byte in path.utf8 {
            if byte == UInt8(ascii: "/") {
                if length == 0 || length == dots && dots <= 2 { return false }
                length = 0
                dots = 0
            } else {
                length += 1
                if byte == UInt8(ascii: ".") { dots += 1 }
            }
        }
        return length > 0 && !(length == dots && dots <= 2)
    }

    /// Where a path points relative to the workspace, by its spelling alone.
    public enum Placement: Sendable { case inside, root, outside }

    /// The one "is it inside the workspace" test of every module: absolute paths and paths that
    /// leave through `..` are `outside`, `.` (and spellings of it, such as `a/..`) is the `root`.
    public static func placement(of path: String) -> Placement {
        if path.hasPrefix("/") { return .outside }
        if isPlainRelative(path) { return .inside }
        let normal = lexicallyNormalized(path)
        if normal == "." { return .root }
        if normal == ".." || normal.hasPrefix("../") { return .outside }
        return .inside
    }

    /// Whether `path` names something below the workspace root (not the root itself).
    public static func isInside(_ path: String) -> Bool { placement(of: path) == .inside }

    /// Whether a symbolic link's `target`, read from the directory that holds `link` (a path
    /// inside the workspace), names a path inside the workspace (lexically: the directories on
    /// the way are outputs, checked the same way).
    public static func staysInside(link: String, target: String) -> Bool {
        guard !target.isEmpty, !target.hasPrefix("/"), !target.utf8.contains(0) else { return false }
        var depth = link.split(separator: "/").count - 1
        for part in target.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..":
                if depth == 0 { return false }
                depth -= 1
            default: depth += 1
            }
        }
        return true
    }

    /// `path` with empty and `.` components dropped and `name/..` pairs resolved, without
    /// looking at the disk (so `..` after a symbolic link is resolved by spelling only; the
    /// result is for messages and comparisons, never for opening files). `.` for the root of a
    /// relative path.
    public static func lexicallyNormalized(_ path: String) -> String {
        let isAbsolute = path.hasPrefix("/")
        var stack: [Substring] = []
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..":
                if let last = stack.last, last != ".." {
                    stack.removeLast()
                } else if !isAbsolute {
                    stack.append(component)
                }
            default: stack.append(component)
            }
        }
        let joined = stack.joined(separator: "/")
        if isAbsolute { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }

    /// A path below which mlbuild will not remove or write: why, naming the path.
    public struct UnsafePath: Error, Sendable, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "output '\(path)': \(reason)" }
    }

    /// Fails unless every directory on the way to `path` (relative to the working directory,
    /// which is the workspace root) that exists is a real directory. A symbolic link there
    /// would make removing or writing `path` land wherever the link points, outside the
    /// workspace too; mlbuild never writes or removes through one. `path` itself may be a
    /// symbolic link: removing one removes the link, and writing one replaces it.
    /// Call it right before removing, creating or restoring an output. `root`: the workspace
    /// root when it is not the working directory.
    public static func checkParents(of path: String, in root: String? = nil) throws {
        try checkParents(of: path) { parent in
            let full = root.map { "\($0)/\(parent)" } ?? parent
            var st = stat()
            if lstat(full, &st) != 0 {
                if errno == ENOENT { return nil }
                throw UnsafePath(path: path, reason: "cannot inspect '\(parent)': \(String(cString: strerror(errno)))")
            }
            switch st.st_mode & S_IFMT {
            case S_IFDIR: return .directory
            case S_IFLNK: return .symbolicLink(try? FileSystem.readLink(full))
            default: return .other
            }
        }
    }

    /// The same check through `disk` (the engine's file-system seam). On the real disk it is
    /// the check above (whose message keeps the errno of a parent that cannot be inspected);
    /// elsewhere a parent that cannot be stat'ed counts as missing.
    public static func checkParents(of path: String, disk: any DiskInterface) throws {
        if disk is RealDisk { return try checkParents(of: path) }
        try checkParents(of: path) { parent in
            guard let st = disk.stat(parent, followLinks: false) else { return nil }
            if st.isDirectory { return .directory }
            if st.isSymbolicLink { return .symbolicLink(try? disk.readLink(parent)) }
            return .other
        }
    }

    /// What a parent directory of an output turned out to be (nil from `inspect`: it does not exist).
    private enum Parent { case directory, symbolicLink(String?), other }

    private static func checkParents(of path: String, inspect: (String) throws -> Parent?) throws {
        if let problem = problem(path) { throw UnsafePath(path: path, reason: "the path \(problem)") }
        var parent = ""
        var components = path.split(separator: "/")
        components.removeLast()
        for component in components {
            parent = parent.isEmpty ? String(component) : "\(parent)/\(component)"
            switch try inspect(parent) {
            case nil: return  // created by mlbuild, as a real directory, when needed
            case .directory: continue
            case let .symbolicLink(target):
                let shown = target.map { " to '\($0)'" } ?? ""
                throw UnsafePath(path: path, reason: "'\(parent)' is a symbolic link\(shown), and mlbuild never writes or removes through one")
            case .other:
                throw UnsafePath(path: path, reason: "'\(parent)' is not a directory")
            }
        }
    }
}
