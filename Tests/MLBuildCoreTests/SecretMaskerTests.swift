import MLBuildCore
import Testing

/// Masking works on UTF-8 bytes: any secret of one byte or more, and a secret followed by a
/// combining mark (which a grapheme-based search does not see as a match).
@Suite("secret masking")
struct SecretMaskerTests {
    @Test func shortSecretsAreMasked() {
        let masker = SecretMasker(["x", "42"])
        #expect(masker.mask("a x b 42 c 4 2") == "a *** b *** c 4 2")
    }

    @Test func aSecretFollowedByACombiningMarkIsMasked() {
        let masker = SecretMasker(["abc"])
        // "abc" + U+0301: the last Character is "c\u{301}", so `replacingOccurrences` missed it.
        #expect(masker.mask("token=abc\u{0301}!") == "token=***\u{0301}!")
        #expect(SecretMasker(["\u{00E9}"]).mask("caf\u{00E9} and cafe\u{0301}") == "caf*** and cafe\u{0301}",
                "bytes, not canonical equivalence: only the secret's own spelling is masked")
    }

    @Test func theLongestSecretWinsWhereTwoStartTogether() {
        let masker = SecretMasker(["pass", "password1"])
        #expect(masker.mask("password1 password pass") == "*** ***word ***")
    }

    @Test func emptySecretsAreIgnoredAndTheReplacementIsConfigurable() {
        #expect(SecretMasker(["", "k"], replacement: "<redacted>").mask("kk") == "<redacted><redacted>")
        #expect(SecretMasker([""]).isEmpty)
        #expect(SecretMasker([]).mask("unchanged") == "unchanged")
    }

    @Test func aStreamMasksSecretsSplitAcrossPieces() {
        let masker = SecretMasker(["s3cr3t-value", "s3"])
        let text = Array("begin s3cr3t-value middle s3cr3 s3 end s3cr3t-val".utf8)
        // Every way of cutting the text in two, and byte by byte.
        let whole = masker.mask(text)
        #expect(String(decoding: whole, as: UTF8.self) == "begin *** middle ***cr3 *** end ***cr3t-val")
        for cut in 0...text.count {
            var stream = SecretMasker.Stream(masker)
            let out = stream.feed(text[..<cut]) + stream.feed(text[cut...]) + stream.finish()
            #expect(out == whole, "cut at \(cut)")
        }
        var stream = SecretMasker.Stream(masker)
        var out: [UInt8] = []
        for byte in text { out += stream.feed([byte]) }
        out += stream.finish()
        #expect(out == whole)
    }
}
