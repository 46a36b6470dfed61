/// `1 target`, `2 targets`, `0 targets`: counts in messages agree with their noun.
func counted<N: BinaryInteger>(_ count: N, _ singular: String, plural: String? = nil) -> String {
    "\(count) \(count == 1 ? singular : plural ?? singular + "s")"
}
