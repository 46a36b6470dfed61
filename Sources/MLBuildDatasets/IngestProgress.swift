/// Told while a source is read: the rows read so far, and the total when it can be estimated
/// (nil otherwise); the last call is `(rows, rows)`. Called on the reading thread after each
/// batch; the dataset rule turns it into `RuleProgress` reports (unit `rows`).
public typealias IngestProgress = (_ rows: Int, _ estimatedTotal: Int?) -> Void
