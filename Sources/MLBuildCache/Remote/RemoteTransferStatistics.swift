/// Counters of one `RemoteCache`, for the build summary and `--events`.
/// `hits`/`misses` count lookups (contains, download, fetchData); `uploadsSkipped` counts
/// `.cas` uploads avoided because a HEAD found the blob already present; `errors` counts
/// operations that failed after their retries, `retries` the extra attempts made.
public struct RemoteTransferStatistics: Sendable, Equatable, CustomStringConvertible {
    public var bytesDown: Int64 = 0
    public var bytesUp: Int64 = 0
    public var hits: Int = 0
    public var misses: Int = 0
    public var uploads: Int = 0
    public var uploadsSkipped: Int = 0
    public var retries: Int = 0
    public var errors: Int = 0

    public init() {}

    public var description: String {
        "remote cache: \(hits) hits, \(misses) misses, \(uploads) uploads (\(uploadsSkipped) skipped), "
            + "\(bytesDown) bytes down, \(bytesUp) bytes up, \(retries) retries, \(errors) errors"
    }
}
