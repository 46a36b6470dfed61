/// Told by a fit as it goes: `done` steps of `total` (boosting iterations, Newton steps), on the
/// fitting thread, cheap enough to call every step. The training core knows nothing of builds:
/// the model rule turns these into its `RuleProgress` reports (`ModelTrainer.progressUnit`).
public typealias TrainingProgress = (_ done: Int, _ total: Int) -> Void
