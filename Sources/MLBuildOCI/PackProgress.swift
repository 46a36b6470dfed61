/// Told while an image is packed: the file bytes of its own layers packed so far (a layer
/// taken from the layer cache counts at once) and their total. Called on the packing thread,
/// once per chunk; the container rule turns it into `RuleProgress` reports (unit `bytes`).
public typealias PackProgress = (_ done: Int64, _ total: Int64) -> Void
