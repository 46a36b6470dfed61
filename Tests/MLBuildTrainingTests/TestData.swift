import Foundation
@testable import MLBuildTraining

/// Small seeded data sets shared by the tests.
enum TestData {
    static func normal(_ rng: inout SplitMix64) -> Double {
        let u1 = max(rng.nextUnit(), 1e-300), u2 = rng.nextUnit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// n × d standard normal features; label 1 with probability σ(x·w + 0.3) (w_j alternating ±1/(j+1)).
    static func logistic(rows n: Int, columns d: Int, seed: UInt64) -> (Matrix, [Double]) {
        var rng = SplitMix64(seed: seed)
        var values = [Double](), y = [Double]()
        for _ in 0 ..< n {
            var z = 0.3
            for j in 0 ..< d {
                let v = normal(&rng)
                values.append(v)
                z += (j % 2 == 0 ? 1 : -1) * v / Double(j + 1)
            }
            y.append(rng.nextUnit() < 1 / (1 + exp(-z)) ? 1 : 0)
        }
        return (Matrix(rows: n, columns: d, values: values), y)
    }
}
