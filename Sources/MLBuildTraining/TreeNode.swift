/// One node of a serialized regression tree.
///
/// Internal node: rows with `x[feature] <= threshold` go to `left`, others to `right`; NaN goes
/// left iff `missingGoesLeft`. `threshold` is a raw feature value; the largest finite double marks
/// a "split on missing" (every non-NaN value goes left, +∞ included). Leaf: `feature == -1`,
/// `left == right == -1`, and `value` is added to the raw score (already scaled by the learning
/// rate). Internal nodes keep their own value too, for inspection only.
public struct TreeNode: Codable, Sendable, Equatable {
    public var feature: Int
    public var threshold: Double
    public var missingGoesLeft: Bool
    public var left: Int
    public var right: Int
    public var value: Double

    public init(feature: Int, threshold: Double, missingGoesLeft: Bool, left: Int, right: Int, value: Double) {
        self.feature = feature
        self.threshold = threshold
        self.missingGoesLeft = missingGoesLeft
        self.left = left
        self.right = right
        self.value = value
    }

    public static func leaf(value: Double) -> TreeNode {
        TreeNode(feature: -1, threshold: 0, missingGoesLeft: false, left: -1, right: -1, value: value)
    }

    public var isLeaf: Bool { feature < 0 }
}
