import MLBuildCore
#if canImport(Glibc)
import Glibc
#endif

/// Expands declared inputs into the sorted list of files whose content enters the key.
/// A plain path is a file, or every file below a directory; a pattern may use `*`, `?`, `[…]`
/// within one path component and `**` for any number of directories (a final `**` matches
/// every file below: `dir/**` is `dir/**/*`).
///
/// Only regular files and directories are inputs; a FIFO, socket or device is an error that
/// names it (it is never opened: reading one could block forever or never end). Symbolic
/// links: a path written in the Mlfile is followed wherever it leads; below it, a link to a
/// regular file counts as that file, while links to directories (and dangling links) are not
/// followed, so a link loop can neither hang a walk nor repeat files.
public enum InputResolver {
    public static func isGlob(_ pattern: String) -> Bool {
        // On bytes, not Characters (grapheme breaking showed up in loading 10,000 targets).
        pattern.utf8.contains(where: { $0 == 42 || $0 == 63 || $0 == 91 })
    }

    /// The directory part before the first component with a wildcard.
    public static func staticPrefix(_ pattern: String) -> String {
        if !isGlob(pattern) { return pattern.isEmpty ? "." : pattern }  // a plain path is its own prefix
        var parts: [Substring] = []
        for part in pattern.split(separator: "/") {
            if isGlob(String(part)) { break }
            parts.append(part)
        }
        return parts.isEmpty ? "." : (pattern.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
    }

    /// `directories` receives every directory whose listing decided the result (so that a
    /// later run can tell, by their mtimes, that no file was added or removed).
    public static func expand(_ input: InputPattern, directories: inout [(String, FileStat?)], disk: any DiskInterface = RealDisk()) throws -> [String] {
        let pattern = PathNormalizer.normalize(input.pattern)
        if !isGlob(pattern) {
            guard let st = disk.stat(pattern, followLinks: true) else {
                if disk.stat(pattern, followLinks: false)?.isSymbolicLink == true {
                    throw located(input, "input '\(input.pattern)' is a symbolic link that leads nowhere (dangling, or a loop)")
                }
                throw located(input, "input '\(input.pattern)' does not exist")
            }
            if st.isRegularFile { return [pattern] }
            guard st.isDirectory else {
                throw located(input, "input '\(input.pattern)' is \(st.kindDescription): inputs must be regular files or directories")
            }
            return try files(under: pattern, input: input, directories: &directories, disk: disk)
        }
        let components = pattern.split(separator: "/").map(String.init)
        var matches: [String] = []
        try walk(base: pattern.hasPrefix("/") ? "/" : "", components: components[...], input: input, into: &matches, directories: &directories, disk: disk)
        if matches.isEmpty { throw located(input, "input pattern '\(input.pattern)' matches no files") }
        return Array(Set(matches)).sorted()
    }

    /// Every regular file below directory `root` (links to regular files included), sorted;
    /// each directory is recorded in `directories` just before it is listed (so a recorded
    /// mtime is never newer than the listing). Iterative: depth costs no stack.
    private static func files(under root: String, input: InputPattern, directories: inout [(String, FileStat?)], disk: any DiskInterface) throws -> [String] {
        var out: [String] = []
        var pending = [root]
        while let directory = pending.popLast() {
            directories.append((directory, disk.stat(directory, followLinks: true)))
            for name in try disk.listDirectory(directory) {
                let child = join(directory == "." ? "" : directory, name)
                if let kind = try regularOrDirectory(child, input: input, disk: disk) {
                    if kind { out.append(child) } else { pending.append(child) }
                }
            }
        }
        return out.sorted()
    }

    /// For a path found by listing a directory: true for a regular file (or a link to one),
    /// false for a real directory (to walk), nil for what is skipped (links to directories,
    /// dangling links); throws for a FIFO, socket or device.
    private static func regularOrDirectory(_ path: String, input: InputPattern, disk: any DiskInterface) throws -> Bool? {
        guard let st = disk.stat(path, followLinks: false) else { return nil }
        if st.isRegularFile { return true }
        if st.isDirectory { return false }
        if st.isSymbolicLink {
            guard let target = disk.stat(path, followLinks: true) else { return nil }
            if target.isRegularFile { return true }
            if target.isDirectory { return nil }
            throw located(input, "input '\(input.pattern)' takes in '\(path)', a link to \(target.kindDescription): inputs must be regular files or directories")
        }
        throw located(input, "input '\(input.pattern)' takes in '\(path)', \(st.kindDescription): inputs must be regular files or directories")
    }

    private static func located(_ input: InputPattern, _ message: String) -> Error {
        if let location = input.location { return Diagnostic(message, at: location) }
        return RuleFailure(message)
    }

    private static func join(_ base: String, _ name: String) -> String {
        base.isEmpty ? name : (base == "/" ? "/\(name)" : "\(base)/\(name)")
    }

    public static func expand(_ input: InputPattern, disk: any DiskInterface = RealDisk()) throws -> [String] {
        var ignored: [(String, FileStat?)] = []
        return try expand(input, directories: &ignored, disk: disk)
    }

    private static func walk(base: String, components: ArraySlice<String>, input: InputPattern,
                             into matches: inout [String], directories: inout [(String, FileStat?)], disk: any DiskInterface) throws {
        guard let first = components.first else {
            let path = base.isEmpty ? "." : base
            if try regularOrDirectory(path, input: input, disk: disk) == true { matches.append(path) }
            return
        }
        let rest = components.dropFirst()
        let directory = base.isEmpty ? "." : base
        if first == "**" {
            // A final `**` means every file below.
            if rest.isEmpty { return try walk(base: base, components: ["**", "*"], input: input, into: &matches, directories: &directories, disk: disk) }
            try walk(base: base, components: rest, input: input, into: &matches, directories: &directories, disk: disk)
            directories.append((directory, disk.stat(directory, followLinks: true)))
            for name in (try? disk.listDirectory(directory)) ?? [] where !name.hasPrefix(".") {
                let child = join(base, name)
                // lstat: a link to a directory is not descended into (a loop would never end).
                if disk.stat(child, followLinks: false)?.isDirectory == true {
                    try walk(base: child, components: components, input: input, into: &matches, directories: &directories, disk: disk)
                }
            }
            return
        }
        if !isGlob(first) {
            let child = join(base, first)
            if disk.stat(child, followLinks: true) != nil {
                try walk(base: child, components: rest, input: input, into: &matches, directories: &directories, disk: disk)
            } else {
                directories.append((directory, disk.stat(directory, followLinks: true)))  // its mtime changes when `first` appears
            }
            return
        }
        directories.append((directory, disk.stat(directory, followLinks: true)))
        for name in (try? disk.listDirectory(directory)) ?? [] where fnmatch(first, name, FNM_PERIOD) == 0 {
            let child = join(base, name)
            // A wildcard walks through real directories only; a literal component may name a link.
            if !rest.isEmpty, disk.stat(child, followLinks: false)?.isDirectory != true { continue }
            try walk(base: child, components: rest, input: input, into: &matches, directories: &directories, disk: disk)
        }
    }
}
