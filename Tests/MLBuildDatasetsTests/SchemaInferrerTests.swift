import Testing
@testable import MLBuildDatasets

@Suite struct SchemaInferrerTests {
    @Test func infersTypesCategoriesAndNullability() throws {
        var csv = "id,n,x,ok,contract,flag01,empty,note\n"
        for i in 0 ..< 30 {
            let x = i == 4 ? "" : "\(i).5"
            csv += "C\(i),\(i),\(x),\(i % 2 == 0 ? "Yes" : "no"),\(["two_year", "month-to-month", "one_year"][i % 3]),\(i % 2),,\"n, \(i)\"\n"
        }
        let schema = try SchemaInferrer.infer(CSVSource(name: "c.csv", text: csv))
        #expect(SchemaInferrer.mlfileBlock(schema) == """
            schema = id: string,
                n: int,
                x: float nullable,
                ok: bool,
                contract: category(month-to-month, one_year, two_year),
                flag01: int,
                empty: string nullable,
                note: string

            """)
        // The block parses back to the same schema.
        #expect(try Schema(parsing: schema.text()) == schema)
    }
}
