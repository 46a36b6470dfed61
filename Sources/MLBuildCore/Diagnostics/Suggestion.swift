/// "Did you mean …?" candidates by Levenshtein distance.
public enum Suggestion {
    /// The closest candidate within a distance that still looks like a typo, or nil.
    /// Ties go to the candidate that sorts first.
    public static func closest(to word: String, among candidates: [String]) -> String? {
        // Nobody types a name this long by hand, and the distance costs length² per candidate.
        let length = word.utf8.count
        guard length <= maximumWordLength else { return nil }
        let limit = max(1, word.count / 3)
        var best: (String, Int)?
        for candidate in candidates {
            // The distance is at least the difference in length: skip without computing it.
            guard abs(candidate.utf8.count - length) <= limit else { continue }
            let d = distance(word, candidate)
            guard d <= limit else { continue }
            if let (name, bestDistance) = best, d > bestDistance || (d == bestDistance && name < candidate) { continue }
            best = (candidate, d)
        }
        return best?.0
    }

    /// Longer words get no suggestion.
    public static let maximumWordLength = 256

    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// ` (did you mean 'x'?)` or the empty string.
    public static func hint(for word: String, among candidates: [String]) -> String {
        closest(to: word, among: candidates).map { " (did you mean '\($0)'?)" } ?? ""
    }

    /// `hint`, or else a candidate with the same letters in another order (`acu`, `ture`): the
    /// distance rule rejects swapped letters in names as short as metric and class names.
    public static func hintAllowingSwaps(for word: String, among candidates: [String]) -> String {
        let close = hint(for: word, among: candidates)
        if !close.isEmpty { return close }
        let letters = word.lowercased().sorted()
        return candidates.first { $0.lowercased().sorted() == letters }.map { " (did you mean '\($0)'?)" } ?? ""
    }
}
