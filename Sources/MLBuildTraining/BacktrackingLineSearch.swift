/// The backtracking (Armijo) line search of the Newton solvers: from `theta` along `step`, halve
/// the step until the objective falls by at least 1e-4 · scale · slope (at most 40 halvings).
/// nil when no step decreases it (the fit is at machine precision).
enum BacktrackingLineSearch {
    static func search<Point>(
        from theta: [Double], step: [Double], slope: Double, objective: Double,
        evaluate: ([Double]) -> Point, objectiveOf: (Point) -> Double
    ) -> (theta: [Double], point: Point)? {
        var scale = 1.0
        for _ in 0 ..< 40 {
            var candidate = theta
            for j in 0 ..< min(candidate.count, step.count) { candidate[j] += scale * step[j] }
            let trial = evaluate(candidate)
            if objectiveOf(trial) <= objective + 1e-4 * scale * slope { return (candidate, trial) }
            scale *= 0.5
        }
        return nil
    }
}
