import MLBuildCore
#if canImport(Glibc)
import Glibc
#endif

/// Expands declared inputs into the sorted list of files whose content enters the key.
/// A plain path is a file, or every file below a directory; a pattern may use `*`, `?`, `[…]`
/// within one path component and `**` for any number of directories.
public enum InputResolver {
    public static func isGlob(_ pattern: String) -> Bool {
        pattern.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" })
    }

    /// The directory part before the first component with a wildcard.
    public static func staticPrefix(_ pattern: String) -> String {
        var parts: [Substring] = []
        for part in pattern.split(separator: "/") {
            if isGlob(String(part)) { break }
            parts.append(part)
        }
        return parts.isEmpty ? "." : (pattern.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
    }

    /// `directories` receives every directory whose listing decided the result (so that a
    /// later run can tell, by their mtimes, that no file was added or removed).
    public static func expand(_ input: InputPattern, directories: inout [(String, FileStat?)]) throws -> [String] {
        let pattern = PathNormalizer.normalize(input.pattern)
        if !isGlob(pattern) {
            guard let st = FileStat.of(pattern) else {
                throw located(input, "input '\(input.pattern)' does not exist")
            }
            guard st.isDirectory else { return [pattern] }
            var listed: [(String, FileStat?)] = []
            let files = try FileSystem.regularFiles(under: pattern) { listed.append(($0, FileStat.of($0))) }
            directories.append(contentsOf: listed)
            return files
        }
        let components = pattern.split(separator: "/").map(String.init)
        var matches: [String] = []
        try walk(base: pattern.hasPrefix("/") ? "/" : "", components: components[...], into: &matches, directories: &directories)
        if matches.isEmpty { throw located(input, "input pattern '\(input.pattern)' matches no files") }
        return Array(Set(matches)).sorted()
    }

    private static func located(_ input: InputPattern, _ message: String) -> Error {
        if let location = input.location { return Diagnostic(message, at: location) }
        return RuleFailure(message)
    }

    private static func join(_ base: String, _ name: String) -> String {
        base.isEmpty ? name : (base == "/" ? "/\(name)" : "\(base)/\(name)")
    }

    public static func expand(_ input: InputPattern) throws -> [String] {
        var ignored: [(String, FileStat?)] = []
        return try expand(input, directories: &ignored)
    }

    private static func walk(base: String, components: ArraySlice<String>, into matches: inout [String], directories: inout [(String, FileStat?)]) throws {
        guard let first = components.first else {
            let path = base.isEmpty ? "." : base
            if FileStat.of(path)?.isRegularFile == true { matches.append(path) }
            return
        }
        let rest = components.dropFirst()
        let directory = base.isEmpty ? "." : base
        if first == "**" {
            try walk(base: base, components: rest, into: &matches, directories: &directories)
            directories.append((directory, FileStat.of(directory)))
            for name in (try? FileSystem.listDirectory(directory)) ?? [] where !name.hasPrefix(".") {
                let child = join(base, name)
                if FileStat.of(child)?.isDirectory == true { try walk(base: child, components: components, into: &matches, directories: &directories) }
            }
            return
        }
        if !isGlob(first) {
            let child = join(base, first)
            if FileStat.of(child) != nil {
                try walk(base: child, components: rest, into: &matches, directories: &directories)
            } else {
                directories.append((directory, FileStat.of(directory)))  // its mtime changes when `first` appears
            }
            return
        }
        directories.append((directory, FileStat.of(directory)))
        for name in (try? FileSystem.listDirectory(directory)) ?? [] where fnmatch(first, name, FNM_PERIOD) == 0 {
            try walk(base: join(base, name), components: rest, into: &matches, directories: &directories)
        }
    }
}
