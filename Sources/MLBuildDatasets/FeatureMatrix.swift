import Foundation
import MLBuildTraining
import MLBuildBasics

/// A feature matrix with its labels: `train.bin` / `test.bin` (version 1, little-endian):
///
///     magic      8 bytes "MLBMATX\0"
///     version    u32     1
///     rows       u64
///     columns    u64     feature count (names in feature_names.json)
///     has_label  u8      0 or 1
///     features   rows × columns × f64, row-major
///     labels     rows × f64 (only when has_label = 1): class index or regression target
public struct FeatureMatrix: Sendable, Equatable {
    public var features: Matrix
    public var labels: [Double]?

    public init(features: Matrix, labels: [Double]?) {
        self.features = features
        self.labels = labels
    }

    static let magic: [UInt8] = Array("MLBMATX\0".utf8)

    public func binaryData() -> [UInt8] {
        var w = BinaryWriter()
        w.reserve(40 + features.values.count * 8 + (labels?.count ?? 0) * 8)
        w.raw(Self.magic)
        w.u32(1)
        w.u64(UInt64(features.rows))
        w.u64(UInt64(features.columns))
        w.u8(labels == nil ? 0 : 1)
        w.doubles(features.values)
        if let labels { w.doubles(labels) }
        return w.bytes
    }

    /// Streams the header, then the values straight from the matrix (no second copy in memory).
    public func write(to url: URL) throws {
        try AtomicFile.stream(to: url.path) { stream in
            try stream.write(Self.header(rows: features.rows, columns: features.columns, hasLabels: labels != nil))
            try features.values.withUnsafeBufferPointer { try Self.writeLittleEndian($0, to: &stream) }
            try labels?.withUnsafeBufferPointer { try Self.writeLittleEndian($0, to: &stream) }
        }
    }

    /// Streams a matrix file to `url` without the matrix in memory: the header, the feature rows
    /// `features` hands to the writer it is given (`rows` of them in all), then `labels()`,
    /// asked for after the rows so that errors come in the order building the matrix in memory
    /// meets them. `beforeCommit` runs once the file is complete and before it replaces `url`
    /// (nothing replaces `url` when anything throws).
    static func stream(
        to url: URL, rows: Int, columns: Int, hasLabels: Bool,
        features: (_ write: (UnsafeBufferPointer<Double>) throws -> Void) throws -> Void,
        labels: () throws -> [Double]?, beforeCommit: () throws -> Void
    ) throws {
        try AtomicFile.stream(to: url.path) { stream in
            try stream.write(header(rows: rows, columns: columns, hasLabels: hasLabels))
            var values = 0
            try features { chunk in
                values += chunk.count
                try writeLittleEndian(chunk, to: &stream)
            }
            guard values == rows * columns else {
                throw DatasetError.format(path: url.path, message: "internal: \(values) feature values streamed, \(rows * columns) expected")
            }
            let labels = try labels()
            guard (labels != nil) == hasLabels, labels.map({ $0.count == rows }) ?? true else {
                throw DatasetError.format(path: url.path, message: "internal: the labels do not match the \(rows) rows")
            }
            try labels?.withUnsafeBufferPointer { try writeLittleEndian($0, to: &stream) }
            try beforeCommit()
        }
    }

    private static func header(rows: Int, columns: Int, hasLabels: Bool) -> [UInt8] {
        var w = BinaryWriter()
        w.raw(magic)
        w.u32(1)
        w.u64(UInt64(rows))
        w.u64(UInt64(columns))
        w.u8(hasLabels ? 1 : 0)
        return w.bytes
    }

    private static func writeLittleEndian(_ values: UnsafeBufferPointer<Double>, to stream: inout AtomicFile.Stream) throws {
        #if _endian(little)
        try stream.write(UnsafeRawBufferPointer(values))
        #else
        try values.map(\.bitPattern.littleEndian).withUnsafeBytes { try stream.write($0) }
        #endif
    }

    public static func read(from url: URL) throws -> FeatureMatrix {
        try decode(try CSVSource.readAll(url, name: url.path), path: url.path)
    }

    public static func decode(_ bytes: [UInt8], path: String) throws -> FeatureMatrix {
        // A truncated file says so with the file's name in front.
        do { return try decodeSections(bytes, path: path) } catch let malformed as BinaryReader.Malformed {
            throw DatasetError.format(path: path, message: malformed.detail)
        }
    }

    private static func decodeSections(_ bytes: [UInt8], path: String) throws -> FeatureMatrix {
        var r = BinaryReader(bytes: bytes)
        guard Array(try r.raw(8, "magic")) == magic else {
            throw DatasetError.format(path: path, message: "not an mlbuild feature matrix (bad magic)")
        }
        let version = try r.u32("version")
        guard version == 1 else { throw DatasetError.format(path: path, message: "matrix version \(version) is not supported") }
        let rows = try r.u64("rows")
        let columns = try r.u64("columns")
        guard rows <= UInt64(bytes.count), columns <= UInt64(bytes.count), rows * columns <= UInt64(bytes.count) else {
            throw DatasetError.format(path: path, message: "shape \(rows)×\(columns) exceeds the file size")
        }
        let hasLabel = try r.u8("label flag")
        let values = try r.doubles(count: Int(rows * columns), "features")
        let labels = hasLabel == 1 ? try r.doubles(count: Int(rows), "labels") : nil
        try r.expectEnd()
        return FeatureMatrix(features: Matrix(rows: Int(rows), columns: Int(columns), values: values), labels: labels)
    }
}
