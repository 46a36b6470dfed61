/// What a model predicts: the probability of class 1 (labels 0/1) or a real value.
public enum TrainingTask: String, Codable, Sendable, CaseIterable {
    case classification
    case regression
}
