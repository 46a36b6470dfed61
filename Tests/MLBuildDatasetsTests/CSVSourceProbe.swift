import MLBuildDatasets

/// Flattens a CSV source's batches into string records for assertions.
enum CSVSourceProbe {
    static func scan(_ text: String, header: ([String]) -> Void, batch: ([String], Int) -> Void) throws {
        try CSVSource(name: "t.csv", text: text).scan(header: header) { b in
            for r in 0 ..< b.count { batch((0 ..< b.fieldCount).map { b.string(r, $0) }, b.line(r)) }
        }
    }
}
