import Foundation
import MLBuildELF
import MLBuildTestSupport
import Testing

/// The closure read from ELF headers against what the real loader does, as `ldd` reports it
/// (`ldd` runs the loader in trace mode: the oracle, used only here).
@Suite("ELF dependency closure")
struct DependencyClosureTests {
    /// `ldd PATH`: the interpreter's path and NAME → PATH of every library (linux-vdso dropped).
    static func ldd(_ path: String) throws -> (interpreter: String?, libraries: [String: String]) {
        let ldd = try #require(ProcessRunner.which("ldd"), "ldd is not installed (apt-get install -y libc-bin)")
        let result = try ProcessRunner.run(ldd, [path], environment: ["LD_LIBRARY_PATH": nil])
        #expect(result.status == 0, "\(result.output)")
        var interpreter: String?
        var libraries: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if words.count >= 3, words[1] == "=>" {
                libraries[String(words[0])] = String(words[2])
            } else if let first = words.first, first.hasPrefix("/") {
                interpreter = String(first)
            }
        }
        return (interpreter, libraries)
    }

    static func expectClosureMatchesLdd(_ path: String) throws {
        let closure = try DependencyClosure(executable: path, imagePath: "/usr/local/bin/program")
        let oracle = try ldd(path)
        #expect(closure.interpreter?.hostPath == oracle.interpreter)
        var found: [String: String] = [:]
        for library in closure.libraries { found[library.name] = library.hostPath }
        // ldd also lists the interpreter under the name libc needs it by, when libc names it.
        var expected = oracle.libraries
        if let interpreter = oracle.interpreter {
            expected = expected.filter { $0.value != interpreter }
        }
        #expect(found == expected)
        #expect(closure.members.first?.imagePath == "/usr/local/bin/program")
        #expect(closure.members.first?.role == .executable)
    }

    @Test func mlbuildItselfMatchesLdd() throws {
        try Self.expectClosureMatchesLdd(MLBuildBinary.path)
        // The debug build links the Swift runtime from the toolchain through its RUNPATH: those
        // libraries keep the toolchain's path in the image; the system ones their directory.
        let closure = try DependencyClosure(executable: MLBuildBinary.path, imagePath: "/usr/local/bin/mlbuild")
        let readelf = try ProcessRunner.run(try #require(ProcessRunner.which("readelf")), ["-d", MLBuildBinary.path])
        let elf = try ELFFile(path: MLBuildBinary.path)
        let needed = readelf.stdout.split(separator: "\n").filter { $0.contains("(NEEDED)") }
            .compactMap { $0.split(separator: "[").last?.split(separator: "]").first.map(String.init) }
        #expect(elf.needed == needed)
        #expect(elf.interpreter == "/lib64/ld-linux-x86-64.so.2")
        #expect(closure.interpreter?.imagePath == "/lib64/ld-linux-x86-64.so.2")
        for library in closure.libraries {
            #expect(library.imagePath == library.hostPath, "\(library)")
        }
        if let runpath = elf.runpath, runpath.contains("/opt/swift/usr/lib/swift/linux") {
            #expect(closure.libraries.contains { $0.imagePath == "/opt/swift/usr/lib/swift/linux/libswiftCore.so" })
        }
    }

    @Test func binLsMatchesLdd() throws {
        try Self.expectClosureMatchesLdd("/bin/ls")
    }

    /// A program and two libraries built here: `app` finds libgreet through `$ORIGIN/../lib`
    /// (RUNPATH, or an inherited RPATH), libgreet needs libinner, which only app's RPATH names.
    @Test(arguments: ["--enable-new-dtags", "--disable-new-dtags"])
    func originEntriesAreMappedIntoTheImage(dtags: String) throws {
        let cc = try #require(ProcessRunner.which("cc"), "no C compiler (apt-get install -y gcc)")
        let dir = try TemporaryDirectory(prefix: "mlbuild-elf")
        try dir.write("src/inner.c", "int inner(void) { return 41; }\n")
        try dir.write("src/greet.c", "int inner(void);\nint greet(void) { return inner() + 1; }\n")
        try dir.write("src/app.c", "int greet(void);\nint main(void) { return greet() == 42 ? 0 : 1; }\n")
        try FileManager.default.createDirectory(atPath: "\(dir.path)/lib", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(dir.path)/bin", withIntermediateDirectories: true)
        // A RUNPATH serves only its own object's names: libgreet then needs its own ($ORIGIN);
        // an RPATH is inherited: libgreet has none and libinner is found through app's.
        let greetRunpath = dtags == "--enable-new-dtags" ? ["-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN"] : []
        let commands = [
            [cc, "-shared", "-fPIC", "-o", "lib/libinner.so", "-Wl,-soname,libinner.so", "src/inner.c"],
            [cc, "-shared", "-fPIC", "-o", "lib/libgreet.so", "-Wl,-soname,libgreet.so", "src/greet.c", "-Llib", "-linner"] + greetRunpath,
            [cc, "-o", "bin/app", "src/app.c", "-Llib", "-lgreet", "-Wl,-rpath-link,lib", "-Wl,\(dtags)", "-Wl,-rpath,$ORIGIN/../lib"],
        ]
        for command in commands {
            let result = try ProcessRunner.run(command[0], Array(command.dropFirst()), in: dir.path)
            try #require(result.status == 0, "\(command): \(result.output)")
        }
        let run = try ProcessRunner.run("\(dir.path)/bin/app", [])
        #expect(run.status == 0)
        let app = try ELFFile(path: "\(dir.path)/bin/app")
        if dtags == "--enable-new-dtags" {
            #expect(app.runpath == ["$ORIGIN/../lib"] && app.rpath == nil)
        } else {
            #expect(app.rpath == ["$ORIGIN/../lib"] && app.runpath == nil)
        }
        #expect(app.needed == ["libgreet.so", "libc.so.6"])
        try Self.expectClosureMatchesLdd("\(dir.path)/bin/app")

        let closure = try DependencyClosure(executable: "\(dir.path)/bin/app", imagePath: "/opt/app/bin/app")
        let images = Dictionary(uniqueKeysWithValues: closure.libraries.map { ($0.name, $0.imagePath) })
        #expect(images["libgreet.so"] == "/opt/app/lib/libgreet.so")
        #expect(images["libinner.so"] == "/opt/app/lib/libinner.so")
    }

    /// A library found only through ld.so.conf (the image has no ld.so.cache) goes where the
    /// image's loader searches by default: the directory of the interpreter's real file.
    @Test func aLibraryFoundThroughLdSoConfGoesToASystemDirectory() throws {
        let cc = try #require(ProcessRunner.which("cc"), "no C compiler (apt-get install -y gcc)")
        let dir = try TemporaryDirectory(prefix: "mlbuild-elf")
        try dir.write("greet.c", "int greet(void) { return 42; }\n")
        try dir.write("app.c", "int greet(void);\nint main(void) { return greet() == 42 ? 0 : 1; }\n")
        try FileManager.default.createDirectory(atPath: "\(dir.path)/opt/lib", withIntermediateDirectories: true)
        for command in [
            [cc, "-shared", "-fPIC", "-o", "opt/lib/libgreet.so", "-Wl,-soname,libgreet.so", "greet.c"],
            [cc, "-o", "app", "app.c", "-Lopt/lib", "-lgreet"],
        ] {
            let result = try ProcessRunner.run(command[0], Array(command.dropFirst()), in: dir.path)
            try #require(result.status == 0, "\(command): \(result.output)")
        }
        try dir.write("ld.so.conf", "# test\ninclude conf.d/*.conf\n")
        try dir.write("conf.d/b.conf", "/nonexistent\n")
        try dir.write("conf.d/a.conf", "\(dir.path)/opt/lib  # after a comment\n")
        let elf = try ELFFile(path: "\(dir.path)/app")
        let host = LoaderSearchPath.host(machine: elf.machine, is64Bit: elf.is64Bit, configuration: "\(dir.path)/ld.so.conf")
        #expect(host.configured == ["\(dir.path)/opt/lib", "/nonexistent"])
        let closure = try DependencyClosure(executable: "\(dir.path)/app", imagePath: "/app", search: host)
        let greet = try #require(closure.libraries.first { $0.name == "libgreet.so" })
        #expect(greet.hostPath == "\(dir.path)/opt/lib/libgreet.so")
        let interpreter = try #require(closure.interpreter)
        let realDirectory = URL(fileURLWithPath: interpreter.hostPath).resolvingSymlinksInPath().deletingLastPathComponent().path
        #expect(greet.imagePath == "\(realDirectory)/libgreet.so")
        #expect(host.system.contains(realDirectory))

        // Without that configuration the library is found nowhere: the error names who needs it.
        #expect {
            try DependencyClosure(executable: "\(dir.path)/app", imagePath: "/app", search: LoaderSearchPath(configured: [], system: host.system))
        } throws: { error in
            "\(error)" == "'\(dir.path)/app' needs 'libgreet.so', which is in none of the loader's directories"
        }
    }

    @Test func filesThatAreNotELFAreNamed() throws {
        let dir = try TemporaryDirectory(prefix: "mlbuild-elf")
        try dir.write("text", "#!/bin/sh\necho hi\n")
        #expect { try ELFFile(path: "\(dir.path)/text") } throws: { "\($0)" == "'\(dir.path)/text' is not an ELF file" }
        let ls = try Data(contentsOf: URL(fileURLWithPath: "/bin/ls"))
        try dir.write("truncated", ls.prefix(200))
        #expect { try ELFFile(path: "\(dir.path)/truncated") } throws: {
            "\($0)".hasPrefix("'\(dir.path)/truncated' is truncated: its ")
        }
        #expect { try ELFFile(path: "\(dir.path)/missing") } throws: {
            "\($0)" == "cannot open '\(dir.path)/missing': No such file or directory"
        }
    }
}
