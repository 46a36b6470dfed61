import Foundation

/// out[base + c] = e^(z_c − max z) / Σ_j e^(z_j − max z) for the K scores z[base ..< base + K]:
/// shifted by the maximum so that no exponential overflows; the sum runs in class order.
@inline(__always)
func softmax(_ z: UnsafeBufferPointer<Double>, _ base: Int, _ k: Int, into out: UnsafeMutableBufferPointer<Double>) {
    var m = z[base]
    for c in 1 ..< k { m = max(m, z[base + c]) }
    var sum = 0.0
    for c in 0 ..< k {
        let e = exp(z[base + c] - m)
        out[base + c] = e
        sum += e
    }
    for c in 0 ..< k { out[base + c] /= sum }
}

/// Softmax of every row of a rows × K matrix of raw scores, in fixed chunks.
func softmaxRows(_ raw: [Double], rows: Int, classCount k: Int) -> [Double] {
    var out = [Double](repeating: 0, count: raw.count)
    raw.withUnsafeBufferPointer { r in
        out.withUnsafeMutableBufferPointer { o in
            FixedChunks(total: rows, rowsPerChunk: 4096).forEach { range in
                for i in range { softmax(r, i * k, k, into: o) }
            }
        }
    }
    return out
}
