extension FittedTransform.ColumnTransform {
    /// Writes this step's features for every row of `rows` a column at a time, for the common
    /// cases: a one_hot step over a text column (each dictionary code mapped to its feature
    /// once, not each row's text compared with every category) and a numeric step over a
    /// number column without log1p. Returns false, having written nothing, for anything else, and
    /// for a null that has no impute (the row-by-row `write` then reports it with its line). The
    /// values written are exactly `write`'s.
    func fillColumn(
        _ column: Column, rows: UnsafeBufferPointer<Int>, into out: UnsafeMutableBufferPointer<Double>, width: Int, offset: Int
    ) throws -> Bool {
        switch (kind, column.storage) {
        case ("one_hot", .codes(let codes, let dictionary)):
            let categories = self.categories ?? []
            let featureOfCode = dictionary.map { categories.firstIndex(of: $0) ?? -1 }
            let imputed = imputeText.map { categories.firstIndex(of: $0) ?? -1 }
            if imputed == nil, rows.contains(where: { column.nulls[$0] }) { return false }
            for (i, r) in rows.enumerated() {
                let code = Int(codes[r])
                let k = column.nulls[r] ? (imputed ?? -1) : (code < featureOfCode.count ? featureOfCode[code] : -1)
                if k >= 0 { out[i * width + offset + k] = 1 }
            }
            return true
        case ("numeric", .float), ("numeric", .int):
            guard !log1p else { return false }
            if imputeValue == nil, rows.contains(where: { column.nulls[$0] }) { return false }
            let impute = imputeValue ?? 0
            func scaled(_ x: Double) -> Double {
                guard let center, let scale else { return x }
                let d = x - center
                // As `write`: x and center on opposite sides of ±1e308, the same quotient from halves.
                return d.isFinite ? d / scale : (x / 2 - center / 2) / scale * 2
            }
            if case .float(let v) = column.storage {
                for (i, r) in rows.enumerated() { out[i * width + offset] = scaled(column.nulls[r] ? impute : v[r]) }
            } else if case .int(let v) = column.storage {
                for (i, r) in rows.enumerated() { out[i * width + offset] = scaled(column.nulls[r] ? impute : Double(v[r])) }
            }
            return true
        default:
            return false
        }
    }
}
