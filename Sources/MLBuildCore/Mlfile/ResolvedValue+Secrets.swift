/// `${secret:NAME}` references, which the resolver leaves in a value as
/// `secretOpen NAME secretClose` so that only the code that runs a target ever sees a value.
extension ResolvedValue {
    /// The secret names referenced in `scalars`, in order of appearance.
    public static func secretNames(in scalars: [Unicode.Scalar]) -> [String] {
        var names: [String] = []
        _ = replacingSecrets(in: scalars) { name in
            names.append(name)
            return ""
        }
        return names
    }

    /// `scalars` as text, each secret reference replaced by `replacement(NAME)`.
    public static func replacingSecrets(in scalars: [Unicode.Scalar], with replacement: (String) -> String) -> String {
        var out = String.UnicodeScalarView()
        var name: String.UnicodeScalarView? = nil
        for scalar in scalars {
            if scalar == secretOpen {
                name = String.UnicodeScalarView()
            } else if scalar == secretClose, let current = name {
                out.append(contentsOf: replacement(String(current)).unicodeScalars)
                name = nil
            } else if name != nil {
                name?.append(scalar)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }
}
