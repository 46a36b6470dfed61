/// What the dynamic loader reads from an ELF executable or shared object to load it
/// (System V ABI, "Program Header" and "Dynamic Section"): the program interpreter (PT_INTERP),
/// and from the dynamic segment (PT_DYNAMIC) DT_NEEDED, DT_RUNPATH, DT_RPATH and DT_SONAME.
///
/// Only the ELF header, the program headers, the dynamic segment and the string table are read
/// (with pread), never the whole file. 32- and 64-bit, little- and big-endian objects are read;
/// strings are found by mapping DT_STRTAB's address through the PT_LOAD segments, as the loader
/// does. A file that is not ELF, or whose headers point outside it, is an `ELFError` naming it.
public struct ELFFile: Sendable, Equatable {
    public enum ObjectType: Sendable, Equatable {
        case executable, sharedObject, other(UInt16)
    }

    public let path: String
    public let is64Bit: Bool
    public let isBigEndian: Bool
    /// e_machine: 62 x86-64, 183 AArch64, 3 i386, 40 ARM, 243 RISC-V, …
    public let machine: UInt16
    public let type: ObjectType
    /// PT_INTERP: the loader's path, for executables linked dynamically; nil for static ones
    /// and for most shared objects.
    public let interpreter: String?
    /// DT_NEEDED, in the order written (the loader's breadth-first order starts from it).
    public let needed: [String]
    /// DT_RUNPATH and DT_RPATH, split at `:` (empty entries dropped; `$ORIGIN` left as written).
    public let runpath: [String]?
    public let rpath: [String]?
    public let soname: String?

    public static let machineX86_64: UInt16 = 62
    public static let machineAArch64: UInt16 = 183

    private static let ptLoad: UInt32 = 1, ptDynamic: UInt32 = 2, ptInterp: UInt32 = 3
    private static let dtNull: UInt64 = 0, dtNeeded: UInt64 = 1, dtStrtab: UInt64 = 5, dtStrsz: UInt64 = 10
    private static let dtSoname: UInt64 = 14, dtRpath: UInt64 = 15, dtRunpath: UInt64 = 29

    public init(path: String) throws {
        let file = try FileBytes(path: path)
        self.path = path
        let ident = try file.read(0, 16, what: "ELF identification")
        guard ident[0] == 0x7f, ident[1] == 0x45, ident[2] == 0x4c, ident[3] == 0x46 else {
            throw ELFError("'\(path)' is not an ELF file")
        }
        guard ident[4] == 1 || ident[4] == 2 else { throw ELFError("'\(path)': unknown ELF class \(ident[4])") }
        guard ident[5] == 1 || ident[5] == 2 else { throw ELFError("'\(path)': unknown ELF byte order \(ident[5])") }
        is64Bit = ident[4] == 2
        isBigEndian = ident[5] == 2
        file.bigEndian = isBigEndian
        let word = is64Bit ? 8 : 4

        let header = try file.read(0, is64Bit ? 64 : 52, what: "ELF header")
        let rawType = UInt16(file.integer(header, at: 16, width: 2))
        type = rawType == 2 ? .executable : rawType == 3 ? .sharedObject : .other(rawType)
        machine = UInt16(file.integer(header, at: 18, width: 2))
        let phoff = file.integer(header, at: is64Bit ? 32 : 28, width: word)
        let phentsize = Int(file.integer(header, at: is64Bit ? 54 : 42, width: 2))
        let phnum = Int(file.integer(header, at: is64Bit ? 56 : 44, width: 2))
        guard phnum != 0xffff else { throw ELFError("'\(path)': more than 65534 program headers are not supported") }
        guard phnum == 0 || phentsize >= (is64Bit ? 56 : 32) else {
            throw ELFError("'\(path)': program header entries of \(phentsize) bytes are too small")
        }

        struct Segment { var type: UInt32; var offset: UInt64; var vaddr: UInt64; var filesz: UInt64 }
        var segments: [Segment] = []
        if phnum > 0 {
            let table = try file.read(phoff, phnum * phentsize, what: "program header table")
            for i in 0..<phnum {
                let at = i * phentsize
                // Elf64_Phdr: type, flags, offset, vaddr, paddr, filesz…; Elf32_Phdr: type, offset, vaddr, paddr, filesz…
                segments.append(is64Bit
                    ? Segment(type: UInt32(file.integer(table, at: at, width: 4)), offset: file.integer(table, at: at + 8, width: 8),
                              vaddr: file.integer(table, at: at + 16, width: 8), filesz: file.integer(table, at: at + 32, width: 8))
                    : Segment(type: UInt32(file.integer(table, at: at, width: 4)), offset: file.integer(table, at: at + 4, width: 4),
                              vaddr: file.integer(table, at: at + 8, width: 4), filesz: file.integer(table, at: at + 16, width: 4)))
            }
        }

        if let interp = segments.first(where: { $0.type == Self.ptInterp }) {
            guard interp.filesz <= 4096 else { throw ELFError("'\(path)': its PT_INTERP is \(interp.filesz) bytes long") }
            let bytes = try file.read(interp.offset, Int(interp.filesz), what: "PT_INTERP")
            interpreter = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        } else {
            interpreter = nil
        }

        guard let dynamic = segments.first(where: { $0.type == Self.ptDynamic }) else {
            needed = []; runpath = nil; rpath = nil; soname = nil
            return
        }
        guard dynamic.filesz <= 1 << 20 else { throw ELFError("'\(path)': its dynamic segment is \(dynamic.filesz) bytes long") }
        let entries = try file.read(dynamic.offset, Int(dynamic.filesz), what: "dynamic segment")
        var tags: [(tag: UInt64, value: UInt64)] = []
        var at = 0
        while at + 2 * word <= entries.count {
            let tag = file.integer(entries, at: at, width: word)
            if tag == Self.dtNull { break }
            tags.append((tag, file.integer(entries, at: at + word, width: word)))
            at += 2 * word
        }
        guard let strtab = tags.first(where: { $0.tag == Self.dtStrtab })?.value else {
            guard !tags.contains(where: { [Self.dtNeeded, Self.dtSoname, Self.dtRpath, Self.dtRunpath].contains($0.tag) }) else {
                throw ELFError("'\(path)': its dynamic section names libraries but has no string table")
            }
            needed = []; runpath = nil; rpath = nil; soname = nil
            return
        }
        // DT_STRTAB is an address: find the loaded segment holding it, as the loader maps it.
        guard let load = segments.first(where: { $0.type == Self.ptLoad && $0.vaddr <= strtab && strtab - $0.vaddr < $0.filesz })
        else { throw ELFError("'\(path)': its string table address 0x\(String(strtab, radix: 16)) is in no loaded segment") }
        let tableOffset = load.offset + (strtab - load.vaddr)
        let tableSize = min(tags.first(where: { $0.tag == Self.dtStrsz })?.value ?? (load.filesz - (strtab - load.vaddr)),
                            load.filesz - (strtab - load.vaddr))
        // The table also holds every dynamic symbol name (megabytes for a big library): read
        // only the few strings the loader needs, in small pieces.
        func string(_ offset: UInt64) throws -> String {
            guard offset < tableSize else {
                throw ELFError("'\(path)': a dynamic entry points outside its string table")
            }
            var bytes: [UInt8] = []
            var at = offset
            while at < tableSize {
                let piece = try file.read(tableOffset + at, Int(min(256, tableSize - at)), what: "dynamic string table")
                if let end = piece.firstIndex(of: 0) { return String(decoding: bytes + piece[..<end], as: UTF8.self) }
                bytes += piece
                at += UInt64(piece.count)
                guard bytes.count < 1 << 16 else { break }
            }
            throw ELFError("'\(path)': an unterminated string in its dynamic string table")
        }
        func paths(_ tag: UInt64) throws -> [String]? {
            let values = tags.filter { $0.tag == tag }
            guard !values.isEmpty else { return nil }
            return try values.flatMap { try string($0.value).split(separator: ":").map(String.init) }
        }
        needed = try tags.filter { $0.tag == Self.dtNeeded }.map { try string($0.value) }
        runpath = try paths(Self.dtRunpath)
        rpath = try paths(Self.dtRpath)
        soname = try tags.first(where: { $0.tag == Self.dtSoname }).map { try string($0.value) }
    }
}
