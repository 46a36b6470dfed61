#if canImport(Glibc)
import Glibc
#endif

/// An executable and every shared object the dynamic loader maps to start it, each with the path
/// where it must be in an image whose root holds nothing else, so that the executable runs there
/// (no base image, no ld.so.cache).
///
/// Resolution follows glibc's `_dl_map_object` for each DT_NEEDED name, breadth-first from the
/// executable: a name already loaded (by DT_NEEDED name or DT_SONAME, the interpreter included)
/// is not searched again; a name with a `/` is a path; else the directories are, in order,
/// DT_RPATH of the object and of the objects that loaded it (only when the object has no
/// DT_RUNPATH), DT_RUNPATH of the object, the ld.so.cache directories, the system directories
/// (`LoaderSearchPath`). A candidate of another ELF class or machine is skipped, as the loader
/// skips it. `$ORIGIN` is the directory of the object whose entry it is.
///
/// Where each file goes in the image (`Member.imagePath`): the executable where the caller
/// says; the interpreter at its PT_INTERP path; a library found through an RPATH/RUNPATH entry
/// where that entry points in the image (`$ORIGIN` is then the image directory of the object);
/// a library found in a system directory at the same path; a library found only through
/// ld.so.conf (which the image lacks) in the directory holding the interpreter's real file
/// (glibc installs ld.so in one of its system directories), or the first system directory.
/// Every member is a regular file in the image (the caller copies content, not symlinks).
public struct DependencyClosure: Sendable {
    public enum Role: String, Sendable { case executable, interpreter, library }

    public struct Member: Sendable, Equatable {
        public var role: Role
        /// The DT_NEEDED name (the file name for the executable, PT_INTERP for the interpreter).
        public var name: String
        /// Where the loader finds it on this machine (symlinks not resolved, as `ldd` prints it).
        public var hostPath: String
        /// Where it goes in the image.
        public var imagePath: String
    }

    /// The executable first, then the interpreter (when linked dynamically), then libraries in
    /// the order the loader maps them.
    public let members: [Member]

    public var libraries: [Member] { members.filter { $0.role == .library } }
    public var interpreter: Member? { members.first { $0.role == .interpreter } }

    private struct Loaded {
        var file: ELFFile
        var hostDirectory: String
        var imageDirectory: String
        /// Index of the object that loaded it (for inherited RPATHs); nil for the executable.
        var loader: Int?
    }

    private struct SearchDirectory {
        var host: String
        /// nil: the directory is not searched in the image (ld.so.conf only): use the fallback.
        var image: String?
    }

    /// - Parameters:
    ///   - executable: the executable on this machine.
    ///   - imagePath: where it goes in the image (absolute).
    ///   - search: the ld.so.cache and system directories; default: this machine's.
    public init(executable: String, imagePath: String, search: LoaderSearchPath? = nil) throws {
        guard imagePath.hasPrefix("/") else { throw ELFError("image path '\(imagePath)' is not absolute") }
        let main = try ELFFile(path: executable)
        guard main.type == .executable || main.type == .sharedObject else {
            throw ELFError("'\(executable)' is not an executable")
        }
        let search = search ?? .host(machine: main.machine, is64Bit: main.is64Bit)
        let system = Set(search.system)
        var members = [Member(role: .executable, name: Self.lastComponent(executable), hostPath: executable,
                              imagePath: LoaderSearchPath.normalize(imagePath))]
        var loaded = [Loaded(file: main, hostDirectory: Self.directory(of: Self.realPath(executable) ?? executable),
                             imageDirectory: Self.directory(of: members[0].imagePath), loader: nil)]
        var known: Set<String> = []
        var imagePaths: [String: String] = [members[0].imagePath: executable]

        var fallback = search.system.first ?? "/lib"
        if let interp = main.interpreter {
            guard interp.hasPrefix("/") else { throw ELFError("'\(executable)': its interpreter '\(interp)' is not an absolute path") }
            let file = try ELFFile(path: interp)
            members.append(Member(role: .interpreter, name: interp, hostPath: interp, imagePath: LoaderSearchPath.normalize(interp)))
            imagePaths[LoaderSearchPath.normalize(interp)] = interp
            known.insert(Self.lastComponent(interp))
            if let soname = file.soname { known.insert(soname) }
            if let real = Self.realPath(interp), system.contains(Self.directory(of: real)) { fallback = Self.directory(of: real) }
        } else if !main.needed.isEmpty {
            throw ELFError("'\(executable)' needs shared libraries but names no interpreter (PT_INTERP)")
        }

        var next = 0
        while next < loaded.count {
            let object = loaded[next]
            let current = next
            next += 1
            // The same for every name this object needs (found lazily: most objects need nothing new).
            var searched: [SearchDirectory]?
            for name in object.file.needed where !known.contains(name) {
                known.insert(name)
                var found: (path: String, file: ELFFile, image: String)?
                if name.contains("/") {
                    guard name.hasPrefix("/") else {
                        throw ELFError("'\(object.file.path)' needs '\(name)', a relative path (it would depend on the working directory)")
                    }
                    found = (name, try ELFFile(path: name), LoaderSearchPath.normalize(name))
                } else {
                    if searched == nil { searched = try Self.directories(for: current, loaded: loaded, search: search) }
                    for directory in searched ?? [] {
                        let candidate = directory.host.hasSuffix("/") ? directory.host + name : directory.host + "/" + name
                        guard Self.isRegularFile(candidate), let file = try? ELFFile(path: candidate),
                              file.is64Bit == main.is64Bit, file.machine == main.machine else { continue }
                        let imageDirectory = directory.image ?? fallback
                        found = (candidate, file, LoaderSearchPath.normalize(imageDirectory + "/" + name))
                        break
                    }
                }
                guard let (path, file, image) = found else {
                    throw ELFError("'\(object.file.path)' needs '\(name)', which is in none of the loader's directories")
                }
                if let soname = file.soname { known.insert(soname) }
                if let other = imagePaths[image] {
                    throw ELFError("'\(path)' and '\(other)' would both be '\(image)' in the image")
                }
                imagePaths[image] = path
                members.append(Member(role: .library, name: name, hostPath: path, imagePath: image))
                loaded.append(Loaded(file: file, hostDirectory: Self.directory(of: path),
                                     imageDirectory: Self.directory(of: image), loader: current))
            }
        }
        self.members = members
    }

    /// The directories searched for a name `loaded[index]` needs, in the loader's order.
    private static func directories(for index: Int, loaded: [Loaded], search: LoaderSearchPath) throws -> [SearchDirectory] {
        var out: [SearchDirectory] = []
        func add(_ entries: [String], of object: Loaded) throws {
            for entry in entries {
                let host = try expand(entry, origin: object.hostDirectory, object: object.file.path)
                let image = try expand(entry, origin: object.imageDirectory, object: object.file.path)
                out.append(SearchDirectory(host: host, image: LoaderSearchPath.normalize(image)))
            }
        }
        let object = loaded[index]
        if object.file.runpath == nil {
            var chain: Int? = index
            while let at = chain {
                try add(loaded[at].file.rpath ?? [], of: loaded[at])
                chain = loaded[at].loader
            }
        }
        try add(object.file.runpath ?? [], of: object)
        let system = Set(search.system)
        for directory in search.configured {
            out.append(SearchDirectory(host: directory, image: system.contains(directory) ? directory : nil))
        }
        for directory in search.system { out.append(SearchDirectory(host: directory, image: directory)) }
        return out
    }

    /// `$ORIGIN` / `${ORIGIN}` replaced; other dynamic string tokens are refused, since their
    /// value depends on the machine that runs the image.
    private static func expand(_ entry: String, origin: String, object: String) throws -> String {
        var text = entry.replacingOccurrences(of: "${ORIGIN}", with: origin)
        text = text.replacingOccurrences(of: "$ORIGIN", with: origin)
        if text.contains("$") {
            throw ELFError("'\(object)': search path entry '\(entry)' uses a token other than $ORIGIN")
        }
        guard text.hasPrefix("/") else {
            throw ELFError("'\(object)': search path entry '\(entry)' is relative (it would depend on the working directory)")
        }
        return text
    }

    static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func directory(of path: String) -> String {
        let parts = path.split(separator: "/")
        return "/" + parts.dropLast().joined(separator: "/")
    }

    static func lastComponent(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}
