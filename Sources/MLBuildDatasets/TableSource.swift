/// Where a dataset's rows come from. CSV (`CSVSource`) is the one implementation today; another
/// format (Parquet, a database cursor) plugs in by delivering the same header + batch stream.
/// A consumer that is done with early batches says so through `RecordBatch.consumed`, so a large
/// source need not stay resident.
///
/// Records arrive in batches of raw UTF-8 field bytes, so consumers parse numbers straight from
/// the bytes, column by column, without a String per field. A source must check that every
/// record has as many fields as the header and throw `DatasetError.csv` naming the line
/// otherwise.
public protocol TableSource: Sendable {
    /// The source as shown in messages (the path as the user wrote it).
    var name: String { get }
    /// Calls `header` once with the column names, then `batch` for consecutive groups of data
    /// records in file order, then `end` exactly once (also when scanning stops with an error,
    /// before the error propagates). A batch's bytes stay valid until `end` returns (or until
    /// the consumer marks them consumed), so a consumer may process batches on another thread
    /// and wait for it in `end`.
    func scan(header: ([String]) throws -> Void, batch: (RecordBatch) throws -> Void, end: () throws -> Void) throws
}

extension TableSource {
    /// `scan` for consumers that finish each batch inside its callback.
    public func scan(header: ([String]) throws -> Void, batch: (RecordBatch) throws -> Void) throws {
        try scan(header: header, batch: batch, end: {})
    }
}

/// A group of records with the same field count, as byte ranges into the source's buffer.
public struct RecordBatch {
    public let count: Int
    public let fieldCount: Int
    let base: UnsafePointer<UInt8>
    let spans: UnsafePointer<FieldSpan>
    let lineNumbers: UnsafePointer<Int>
    /// The source's guess of its total record count (0 = unknown), so consumers can size their
    /// columns once instead of growing them by doubling.
    public var estimatedTotalCount = 0
    /// Source offset just past this batch's last record, for `consumed`.
    public var endOffset = 0
    /// Where a consumer says, inside the `batch` callback, up to which source offset it has
    /// finished with earlier batches' bytes (a batch's `endOffset`); the source may then drop
    /// those bytes before `end`. Left alone, everything stays valid until `end`.
    public var consumed: ConsumedMark?

    /// - Parameters:
    ///   - base: the buffer the spans index into.
    ///   - spans: `count * fieldCount` spans, record-major.
    ///   - lines: `count` physical line numbers.
    public init(
        count: Int, fieldCount: Int, base: UnsafePointer<UInt8>, spans: UnsafePointer<FieldSpan>, lines: UnsafePointer<Int>
    ) {
        self.count = count
        self.fieldCount = fieldCount
        self.base = base
        self.spans = spans
        self.lineNumbers = lines
    }

    /// Physical 1-based line where record `r` starts (header = line 1; quoted newlines count).
    @inline(__always)
    public func line(_ r: Int) -> Int { lineNumbers[r] }

    /// The field's unescaped bytes (quotes removed, `""` turned into `"`).
    @inline(__always)
    public func bytes(_ r: Int, _ f: Int) -> UnsafeBufferPointer<UInt8> {
        let s = spans[r * fieldCount + f]
        return UnsafeBufferPointer(start: base + s.start, count: s.length)
    }

    public func string(_ r: Int, _ f: Int) -> String {
        String(decoding: bytes(r, f), as: UTF8.self)
    }
}

/// One field: `length` bytes at offset `start` from the batch's base.
public struct FieldSpan: Sendable {
    public var start: Int
    public var length: Int

    public init(start: Int, length: Int) {
        self.start = start
        self.length = length
    }
}

/// See `RecordBatch.consumed`: written and read on the scanning thread only.
public final class ConsumedMark {
    public var offset = 0
    public init() {}
}
