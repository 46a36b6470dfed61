#if canImport(Glibc)
import Glibc
#endif

/// Where glibc's dynamic loader looks for a DT_NEEDED name that no RPATH/RUNPATH entry holds:
/// the directories of `/etc/ld.so.cache` (built by ldconfig from `/etc/ld.so.conf` and its
/// `include`d files, in file order), then its built-in system directories.
///
/// The cache is not read: its directories are read from ld.so.conf, which is what ldconfig
/// reads. The system directories are glibc's for the architecture: the Debian multiarch pair
/// `/lib/TRIPLE`, `/usr/lib/TRIPLE`, then `/lib64`, `/usr/lib64` for 64-bit objects (Fedora,
/// Arch), then `/lib`, `/usr/lib`. `LD_LIBRARY_PATH` and glibc-hwcaps subdirectories are not
/// searched: an image must not depend on the environment of the build.
public struct LoaderSearchPath: Sendable, Equatable {
    /// The ld.so.cache directories, in order.
    public var configured: [String]
    /// The loader's built-in directories, in order.
    public var system: [String]

    public init(configured: [String], system: [String]) {
        self.configured = configured
        self.system = system
    }

    /// This machine's search path for objects of `machine` (e_machine) and class.
    public static func host(machine: UInt16, is64Bit: Bool, configuration: String = "/etc/ld.so.conf") -> LoaderSearchPath {
        var seen = Set<String>()
        var configured: [String] = []
        for directory in readConfiguration(configuration, depth: 0) where seen.insert(directory).inserted {
            configured.append(directory)
        }
        return LoaderSearchPath(configured: configured, system: systemDirectories(machine: machine, is64Bit: is64Bit))
    }

    /// glibc's built-in directories for an architecture (see the type's comment).
    public static func systemDirectories(machine: UInt16, is64Bit: Bool) -> [String] {
        let triples: [UInt16: String] = [
            3: "i386-linux-gnu", 40: "arm-linux-gnueabihf", 62: "x86_64-linux-gnu", 21: "powerpc64le-linux-gnu",
            22: "s390x-linux-gnu", 183: "aarch64-linux-gnu", 243: "riscv64-linux-gnu",
        ]
        var directories: [String] = []
        if let triple = triples[machine] { directories += ["/lib/\(triple)", "/usr/lib/\(triple)"] }
        if is64Bit { directories += ["/lib64", "/usr/lib64"] }
        return directories + ["/lib", "/usr/lib"]
    }

    /// ld.so.conf syntax: `#` comments, `include GLOB` (relative to the including file's
    /// directory; matches in sorted order), `hwcap …` lines (ignored), and directories separated
    /// by blanks, `:` or `,`. A missing file adds nothing (as for ldconfig).
    static func readConfiguration(_ path: String, depth: Int) -> [String] {
        guard depth < 16, let text = readText(path) else { return [] }
        var directories: [String] = []
        let base = path.split(separator: "/").dropLast().joined(separator: "/")
        for rawLine in text.split(whereSeparator: { $0 == "\n" }) {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { " \t\r:,".contains($0) }).map(String.init)
            guard let first = words.first else { continue }
            if first == "include" {
                for pattern in words.dropFirst() {
                    let absolute = pattern.hasPrefix("/") ? pattern : "/\(base)/\(pattern)"
                    for file in glob(absolute) { directories += readConfiguration(file, depth: depth + 1) }
                }
            } else if first == "hwcap" {
                continue
            } else {
                directories += words.filter { $0.hasPrefix("/") }.map(normalize)
            }
        }
        return directories
    }

    private static func readText(_ path: String) -> String? {
        guard let file = try? FileBytes(path: path), file.size <= 1 << 20,
              let bytes = try? file.read(0, Int(file.size), what: "text") else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func glob(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        guard Glibc.glob(pattern, 0, nil, &result) == 0 else { return [] }
        var paths: [String] = []
        for i in 0..<Int(result.gl_pathc) {
            if let path = result.gl_pathv[i] { paths.append(String(cString: path)) }
        }
        return paths.sorted()
    }

    /// `/a//b/./c/` → `/a/b/c`; `..` removes the previous component (lexically, as the loader
    /// concatenates strings).
    public static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }
}
