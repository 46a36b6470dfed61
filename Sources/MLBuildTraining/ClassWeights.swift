/// Class weights as scikit-learn's `class_weight`, turned into per-row sample weights (which is
/// how scikit-learn applies them in both LogisticRegression and HistGradientBoostingClassifier).
public enum ClassWeights {
    /// scikit-learn's `compute_class_weight("balanced")`: n_rows / (n_classes · count_k), where
    /// n_classes counts the classes that have rows (scikit-learn only knows the labels it sees).
    /// A class with no rows gets 0: no row carries it, so the value is never used.
    public static func balanced(labels: [Double], classCount: Int) -> [Double] {
        var counts = [Int](repeating: 0, count: max(classCount, 0))
        for label in labels {
            let k = Int(exactly: label) ?? -1
            if counts.indices.contains(k) { counts[k] += 1 }
        }
        let present = Double(counts.filter { $0 > 0 }.count)
        let n = Double(labels.count)
        return counts.map { $0 > 0 ? n / (present * Double($0)) : 0 }
    }

    /// Row i's weight = classWeights[labels[i]]; a label outside the table gets weight 1 (the
    /// trainers reject such labels with the row at fault).
    public static func sampleWeights(labels: [Double], classWeights: [Double]) -> [Double] {
        labels.map { label in
            let k = Int(exactly: label) ?? -1
            return classWeights.indices.contains(k) ? classWeights[k] : 1
        }
    }
}
