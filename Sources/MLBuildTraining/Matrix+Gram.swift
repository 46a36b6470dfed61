/// Design-matrix products for the linear solvers, computed in row blocks so the inner loops are
/// long contiguous SIMD dot products (the Hessian pass dominates logistic regression's run time).
extension Matrix {
    /// Over the rows of `self` shifted by `center` and extended by a trailing column of ones
    /// (a_r = [x_r − center, 1], p = columns + 1):
    ///   gram   = Σ_r w_r a_r a_rᵀ  (full symmetric p×p, row-major; empty when `gram` is false)
    ///   moment = Σ_r v_r a_r
    /// `weights` nil means w_r = 1. Chunked with fixed boundaries and fixed reduction order, so the
    /// result is bit-identical whatever the core count.
    func gramAndMoment(center: [Double], weights: [Double]?, vector: [Double], gram wantGram: Bool)
        -> (gram: [Double], moment: [Double])
    {
        let d = columns, p = d + 1
        let chunks = FixedChunks(total: rows, rowsPerChunk: 8192)
        let partials = values.withUnsafeBufferPointer { xs in
            vector.withUnsafeBufferPointer { vs in
                (weights ?? []).withUnsafeBufferPointer { ws in
                    chunks.map { range in
                        Self.accumulateBlocks(
                            x: xs, d: d, range: range, center: center,
                            weights: weights == nil ? nil : ws, vector: vs, gram: wantGram)
                    }
                }
            }
        }
        var gram = [Double](repeating: 0, count: wantGram ? p * p : 0)
        var moment = [Double](repeating: 0, count: p)
        for part in partials {
            for i in 0 ..< gram.count { gram[i] += part.gram[i] }
            for i in 0 ..< p { moment[i] += part.moment[i] }
        }
        if wantGram {  // mirror the upper triangle
            for j in 0 ..< p { for k in 0 ..< j { gram[j * p + k] = gram[k * p + j] } }
        }
        return (gram, moment)
    }

    private static let blockRows = 128

    private static func accumulateBlocks(
        x: UnsafeBufferPointer<Double>, d: Int, range: Range<Int>, center: [Double],
        weights: UnsafeBufferPointer<Double>?, vector: UnsafeBufferPointer<Double>, gram wantGram: Bool
    ) -> (gram: [Double], moment: [Double]) {
        let p = d + 1, b = blockRows
        var gram = [Double](repeating: 0, count: wantGram ? p * p : 0)
        var moment = [Double](repeating: 0, count: p)
        // t: p columns of the block, column-major; u: the same scaled by the weights; v: vector.
        // Rows past the end of the range are zero, which adds exact zeros.
        var t = [Double](repeating: 0, count: p * b)
        var u = [Double](repeating: 0, count: p * b)
        var v = [Double](repeating: 0, count: b)
        var start = range.lowerBound
        while start < range.upperBound {
            let count = min(b, range.upperBound - start)
            for r in 0 ..< b {
                if r < count {
                    let row = start + r, base = row * d
                    let w = weights?[row] ?? 1
                    for j in 0 ..< d {
                        let value = x[base + j] - center[j]
                        t[j * b + r] = value
                        u[j * b + r] = w * value
                    }
                    t[d * b + r] = 1
                    u[d * b + r] = w
                    v[r] = vector[row]
                } else {
                    for j in 0 ..< p { t[j * b + r] = 0; u[j * b + r] = 0 }
                    v[r] = 0
                }
            }
            t.withUnsafeBufferPointer { tp in
                u.withUnsafeBufferPointer { up in
                    v.withUnsafeBufferPointer { vp in
                        let tb = tp.baseAddress!, ub = up.baseAddress!, vb = vp.baseAddress!
                        for j in 0 ..< p { moment[j] += dot(tb + j * b, vb, b) }
                        guard wantGram else { return }
                        gram.withUnsafeMutableBufferPointer { gp in
                            for j in 0 ..< p {
                                let uj = ub + j * b
                                var k = j
                                while k + 4 <= p {
                                    let s = dot4(uj, tb + k * b, b)
                                    gp[j * p + k] += s.0
                                    gp[j * p + k + 1] += s.1
                                    gp[j * p + k + 2] += s.2
                                    gp[j * p + k + 3] += s.3
                                    k += 4
                                }
                                while k < p {
                                    gp[j * p + k] += dot(uj, tb + k * b, b)
                                    k += 1
                                }
                            }
                        }
                    }
                }
            }
            start += count
        }
        return (gram, moment)
    }
}

@inline(__always)
private func load8(_ p: UnsafePointer<Double>) -> SIMD8<Double> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Double>.self)
}

/// Σ a[i] b[i] for n a multiple of 8, in a fixed lane order.
@inline(__always)
private func dot(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ n: Int) -> Double {
    var acc = SIMD8<Double>()
    var i = 0
    while i < n {
        acc += load8(a + i) * load8(b + i)
        i += 8
    }
    return acc.sum()
}

/// Four dot products of `a` with the consecutive columns b, b+n, b+2n, b+3n (one load of `a`
/// feeds four products).
@inline(__always)
private func dot4(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ n: Int)
    -> (Double, Double, Double, Double)
{
    var a0 = SIMD8<Double>(), a1 = SIMD8<Double>(), a2 = SIMD8<Double>(), a3 = SIMD8<Double>()
    var i = 0
    while i < n {
        let x = load8(a + i)
        a0 += x * load8(b + i)
        a1 += x * load8(b + n + i)
        a2 += x * load8(b + 2 * n + i)
        a3 += x * load8(b + 3 * n + i)
        i += 8
    }
    return (a0.sum(), a1.sum(), a2.sum(), a3.sum())
}
