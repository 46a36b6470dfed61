/// A dense row-major matrix of `Double`: the one numeric container the training core works on.
///
/// Row-major so that one sample's features are contiguous (what every solver and the tree
/// builder's binning pass reads). Value type; copy-on-write through the backing array.
public struct Matrix: Sendable, Equatable {
    public let rows: Int
    public let columns: Int
    /// `rows * columns` values, row `r` at `values[r * columns ..< (r + 1) * columns]`.
    public var values: [Double]

    public init(rows: Int, columns: Int, values: [Double]) {
        precondition(rows >= 0 && columns >= 0 && values.count == rows * columns, "matrix shape mismatch")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    public init(rows: Int, columns: Int, repeating value: Double = 0) {
        self.init(rows: rows, columns: columns, values: Array(repeating: value, count: rows * columns))
    }

    public subscript(row: Int, column: Int) -> Double {
        get { values[row * columns + column] }
        set { values[row * columns + column] = newValue }
    }

    /// The rows at `indices`, in that order.
    public func selecting(rows indices: [Int]) -> Matrix {
        var out = [Double]()
        out.reserveCapacity(indices.count * columns)
        for r in indices { out.append(contentsOf: values[r * columns ..< (r + 1) * columns]) }
        return Matrix(rows: indices.count, columns: columns, values: out)
    }
}
