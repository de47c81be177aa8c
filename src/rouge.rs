//! ROUGE-1, ROUGE-2 and ROUGE-L as defined in `taxonomy.md` ("How scores are computed").
//!
//! The definitions follow `shared/tools/peer_baseline.py` (`rouge_tokens`, `rouge_n`,
//! `rouge_l`) exactly, so that numbers from the Rust CLI and the Python baseline can be put
//! side by side in one table.
//!
//! Tokenisation decisions (each checked against the Python reference):
//! - NFC first, then lower-case (Python's `str.lower` and Rust's `str::to_lowercase` agree on
//!   Vietnamese, including `Đ`→`đ` and precomposed tone marks).
//! - Whitespace is Python's `str.split()` set: Unicode `White_Space` plus U+001C..U+001F,
//!   which Python counts as whitespace and Rust's `char::is_whitespace` does not.
//! - "Punctuation" means Unicode general category `P*` only, as in the reference. `%` is `Po`,
//!   so `"5,05%."` → `5,05`; symbols (`S*`: `+ $ ₫ ° ~`) are kept, so `"+3,2%"` → `+3,2` and
//!   `"20°C"` → `20°c`. Only the ends of a token are stripped: `"29-NQ/TW,"` → `29-nq/tw`,
//!   `"1.000"` stays one token, `"“Make in Vietnam”"` → `make in vietnam`.
//! - A token that was only punctuation (`–`, `…`, `--`) disappears.
//! - ROUGE-L is the LCS of the two whole token sequences, not the per-sentence ROUGE-Lsum.

use std::collections::HashMap;

use unicode_normalization::UnicodeNormalization;

/// ROUGE scores of one candidate against one reference, each an F1 × 100.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Rouge {
    pub r1: f64,
    pub r2: f64,
    pub rl: f64,
}

/// Syllable tokens as ROUGE sees them (see the module docs for the exact rules).
pub fn tokens(text: &str) -> Vec<String> {
    let normalised: String = text.nfc().collect();
    let lowered = normalised.to_lowercase();
    lowered
        .split(is_python_space)
        .filter_map(|raw| {
            let t = raw.trim_matches(is_punctuation);
            (!t.is_empty()).then(|| t.to_string())
        })
        .collect()
}

/// ROUGE-1/2/L F1 × 100 of `candidate` against `reference`.
pub fn rouge(candidate: &str, reference: &str) -> Rouge {
    let c = tokens(candidate);
    let r = tokens(reference);
    Rouge {
        r1: 100.0 * rouge_n(&c, &r, 1),
        r2: 100.0 * rouge_n(&c, &r, 2),
        rl: 100.0 * f1(lcs_len(&c, &r), c.len(), r.len()),
    }
}

/// Macro average over articles; an empty slice gives all zeros rather than NaN so that a
/// report over an empty split still serialises as numbers.
pub fn mean(scores: &[Rouge]) -> Rouge {
    if scores.is_empty() {
        return Rouge::default();
    }
    let n = scores.len() as f64;
    let (r1, r2, rl) = scores.iter().fold((0.0, 0.0, 0.0), |(a, b, c), s| {
        (a + s.r1, b + s.r2, c + s.rl)
    });
    Rouge {
        r1: r1 / n,
        r2: r2 / n,
        rl: rl / n,
    }
}

/// F1 from an overlap count; zero whenever either side is empty or nothing overlaps, as in
/// the reference `_f1` (this also avoids 0/0).
fn f1(overlap: usize, n_candidate: usize, n_reference: usize) -> f64 {
    if overlap == 0 || n_candidate == 0 || n_reference == 0 {
        return 0.0;
    }
    let p = overlap as f64 / n_candidate as f64;
    let r = overlap as f64 / n_reference as f64;
    2.0 * p * r / (p + r)
}

fn ngram_counts(toks: &[String], n: usize) -> HashMap<&[String], usize> {
    let mut counts = HashMap::new();
    if n == 0 || toks.len() < n {
        return counts;
    }
    for w in toks.windows(n) {
        *counts.entry(w).or_insert(0) += 1;
    }
    counts
}

/// Clipped n-gram overlap: a candidate n-gram only scores as often as the reference has it.
fn rouge_n(candidate: &[String], reference: &[String], n: usize) -> f64 {
    let c = ngram_counts(candidate, n);
    let r = ngram_counts(reference, n);
    let overlap: usize = c
        .iter()
        .map(|(g, &k)| k.min(r.get(g).copied().unwrap_or(0)))
        .sum();
    f1(overlap, c.values().sum(), r.values().sum())
}

/// Two-row dynamic programme: summaries are short, but articles used as candidates in
/// oracle searches are not, so memory stays O(len(b)).
fn lcs_len(a: &[String], b: &[String]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for x in a {
        cur[0] = 0;
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = if x == y {
                prev[j] + 1
            } else {
                prev[j + 1].max(cur[j])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Python's `str.split()` separators: `White_Space` plus the ASCII information separators.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1C}'..='\u{1F}').contains(&c)
}

/// Unicode general category P* (Pc, Pd, Ps, Pe, Pi, Pf, Po).
fn is_punctuation(c: char) -> bool {
    let cp = c as u32;
    PUNCT_RANGES
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                std::cmp::Ordering::Less
            } else if lo > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

// Generated from Python 3.11 `unicodedata` (Unicode 14.0.0): every code point whose
// category starts with "P", as inclusive ranges. Taken from the same source as the Python
// reference so that the two tokenisers agree code point for code point.
#[rustfmt::skip]
const PUNCT_RANGES: &[(u32, u32)] = &[
    (0x0021, 0x0023), (0x0025, 0x002A), (0x002C, 0x002F), (0x003A, 0x003B), (0x003F, 0x0040),
    (0x005B, 0x005D), (0x005F, 0x005F), (0x007B, 0x007B), (0x007D, 0x007D), (0x00A1, 0x00A1),
    (0x00A7, 0x00A7), (0x00AB, 0x00AB), (0x00B6, 0x00B7), (0x00BB, 0x00BB), (0x00BF, 0x00BF),
    (0x037E, 0x037E), (0x0387, 0x0387), (0x055A, 0x055F), (0x0589, 0x058A), (0x05BE, 0x05BE),
    (0x05C0, 0x05C0), (0x05C3, 0x05C3), (0x05C6, 0x05C6), (0x05F3, 0x05F4), (0x0609, 0x060A),
    (0x060C, 0x060D), (0x061B, 0x061B), (0x061D, 0x061F), (0x066A, 0x066D), (0x06D4, 0x06D4),
    (0x0700, 0x070D), (0x07F7, 0x07F9), (0x0830, 0x083E), (0x085E, 0x085E), (0x0964, 0x0965),
    (0x0970, 0x0970), (0x09FD, 0x09FD), (0x0A76, 0x0A76), (0x0AF0, 0x0AF0), (0x0C77, 0x0C77),
    (0x0C84, 0x0C84), (0x0DF4, 0x0DF4), (0x0E4F, 0x0E4F), (0x0E5A, 0x0E5B), (0x0F04, 0x0F12),
    (0x0F14, 0x0F14), (0x0F3A, 0x0F3D), (0x0F85, 0x0F85), (0x0FD0, 0x0FD4), (0x0FD9, 0x0FDA),
    (0x104A, 0x104F), (0x10FB, 0x10FB), (0x1360, 0x1368), (0x1400, 0x1400), (0x166E, 0x166E),
    (0x169B, 0x169C), (0x16EB, 0x16ED), (0x1735, 0x1736), (0x17D4, 0x17D6), (0x17D8, 0x17DA),
    (0x1800, 0x180A), (0x1944, 0x1945), (0x1A1E, 0x1A1F), (0x1AA0, 0x1AA6), (0x1AA8, 0x1AAD),
    (0x1B5A, 0x1B60), (0x1B7D, 0x1B7E), (0x1BFC, 0x1BFF), (0x1C3B, 0x1C3F), (0x1C7E, 0x1C7F),
    (0x1CC0, 0x1CC7), (0x1CD3, 0x1CD3), (0x2010, 0x2027), (0x2030, 0x2043), (0x2045, 0x2051),
    (0x2053, 0x205E), (0x207D, 0x207E), (0x208D, 0x208E), (0x2308, 0x230B), (0x2329, 0x232A),
    (0x2768, 0x2775), (0x27C5, 0x27C6), (0x27E6, 0x27EF), (0x2983, 0x2998), (0x29D8, 0x29DB),
    (0x29FC, 0x29FD), (0x2CF9, 0x2CFC), (0x2CFE, 0x2CFF), (0x2D70, 0x2D70), (0x2E00, 0x2E2E),
    (0x2E30, 0x2E4F), (0x2E52, 0x2E5D), (0x3001, 0x3003), (0x3008, 0x3011), (0x3014, 0x301F),
    (0x3030, 0x3030), (0x303D, 0x303D), (0x30A0, 0x30A0), (0x30FB, 0x30FB), (0xA4FE, 0xA4FF),
    (0xA60D, 0xA60F), (0xA673, 0xA673), (0xA67E, 0xA67E), (0xA6F2, 0xA6F7), (0xA874, 0xA877),
    (0xA8CE, 0xA8CF), (0xA8F8, 0xA8FA), (0xA8FC, 0xA8FC), (0xA92E, 0xA92F), (0xA95F, 0xA95F),
    (0xA9C1, 0xA9CD), (0xA9DE, 0xA9DF), (0xAA5C, 0xAA5F), (0xAADE, 0xAADF), (0xAAF0, 0xAAF1),
    (0xABEB, 0xABEB), (0xFD3E, 0xFD3F), (0xFE10, 0xFE19), (0xFE30, 0xFE52), (0xFE54, 0xFE61),
    (0xFE63, 0xFE63), (0xFE68, 0xFE68), (0xFE6A, 0xFE6B), (0xFF01, 0xFF03), (0xFF05, 0xFF0A),
    (0xFF0C, 0xFF0F), (0xFF1A, 0xFF1B), (0xFF1F, 0xFF20), (0xFF3B, 0xFF3D), (0xFF3F, 0xFF3F),
    (0xFF5B, 0xFF5B), (0xFF5D, 0xFF5D), (0xFF5F, 0xFF65), (0x10100, 0x10102), (0x1039F, 0x1039F),
    (0x103D0, 0x103D0), (0x1056F, 0x1056F), (0x10857, 0x10857), (0x1091F, 0x1091F), (0x1093F, 0x1093F),
    (0x10A50, 0x10A58), (0x10A7F, 0x10A7F), (0x10AF0, 0x10AF6), (0x10B39, 0x10B3F), (0x10B99, 0x10B9C),
    (0x10EAD, 0x10EAD), (0x10F55, 0x10F59), (0x10F86, 0x10F89), (0x11047, 0x1104D), (0x110BB, 0x110BC),
    (0x110BE, 0x110C1), (0x11140, 0x11143), (0x11174, 0x11175), (0x111C5, 0x111C8), (0x111CD, 0x111CD),
    (0x111DB, 0x111DB), (0x111DD, 0x111DF), (0x11238, 0x1123D), (0x112A9, 0x112A9), (0x1144B, 0x1144F),
    (0x1145A, 0x1145B), (0x1145D, 0x1145D), (0x114C6, 0x114C6), (0x115C1, 0x115D7), (0x11641, 0x11643),
    (0x11660, 0x1166C), (0x116B9, 0x116B9), (0x1173C, 0x1173E), (0x1183B, 0x1183B), (0x11944, 0x11946),
    (0x119E2, 0x119E2), (0x11A3F, 0x11A46), (0x11A9A, 0x11A9C), (0x11A9E, 0x11AA2), (0x11C41, 0x11C45),
    (0x11C70, 0x11C71), (0x11EF7, 0x11EF8), (0x11FFF, 0x11FFF), (0x12470, 0x12474), (0x12FF1, 0x12FF2),
    (0x16A6E, 0x16A6F), (0x16AF5, 0x16AF5), (0x16B37, 0x16B3B), (0x16B44, 0x16B44), (0x16E97, 0x16E9A),
    (0x16FE2, 0x16FE2), (0x1BC9F, 0x1BC9F), (0x1DA87, 0x1DA8B), (0x1E95E, 0x1E95F),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tricky_tokens_match_python_reference() {
        // Expected values printed by peer_baseline.rouge_tokens on the same strings.
        assert_eq!(tokens("tăng 5,05%."), ["tăng", "5,05"]);
        assert_eq!(
            tokens("Nghị quyết 29-NQ/TW,"),
            ["nghị", "quyết", "29-nq/tw"]
        );
        assert_eq!(tokens("“Make in Vietnam”"), ["make", "in", "vietnam"]);
        assert_eq!(
            tokens("(GDP) 1.000 tỷ USD… – đạt +3,2% — 20°C $5 ₫ 'a' \"b\" ... -- «x»"),
            ["gdp", "1.000", "tỷ", "usd", "đạt", "+3,2", "20°c", "$5", "₫", "a", "b", "x"]
        );
        assert_eq!(tokens("ĐỔI MỚI\u{1C}X"), ["đổi", "mới", "x"]);
        assert_eq!(tokens("U.S."), ["u.s"]);
        assert_eq!(tokens("#1 @user 100+ ~x"), ["1", "user", "100+", "~x"]);
        assert!(tokens(" \n\t… – ").is_empty());
    }

    #[test]
    fn nfd_input_is_composed() {
        let nfd: String = "Chuyển đổi số".nfd().collect();
        assert_ne!(nfd, "Chuyển đổi số");
        assert_eq!(tokens(&nfd), ["chuyển", "đổi", "số"]);
    }

    #[test]
    fn python_selftest_example() {
        // The hand-computed case from peer_baseline.selftest (hypothesis in NFD on purpose).
        // ref: bộ công thương công bố quy hoạch điện          (8 tokens)
        // hyp: bộ công thương đã công bố quy hoạch            (8 tokens)
        // R1: overlap bộ1 công2 thương1 bố1 quy1 hoạch1 = 7 -> P = R = 7/8 -> 87.5
        // R2: 7 bigrams each; common bộ-công công-thương công-bố bố-quy quy-hoạch = 5
        //     -> P = R = 5/7 -> 500/7
        // RL: LCS bộ công thương công bố quy hoạch = 7 -> 87.5
        let reference = "Bộ Công Thương công bố quy hoạch điện.";
        let hyp: String = "“Bộ Công Thương” đã công bố quy hoạch!".nfd().collect();
        assert_eq!(
            tokens(&hyp),
            ["bộ", "công", "thương", "đã", "công", "bố", "quy", "hoạch"]
        );
        let s = rouge(&hyp, reference);
        assert!((s.r1 - 87.5).abs() < 1e-9, "{s:?}");
        assert!((s.r2 - 500.0 / 7.0).abs() < 1e-9, "{s:?}");
        assert!((s.rl - 87.5).abs() < 1e-9, "{s:?}");
    }

    #[test]
    fn unequal_lengths_and_clipping() {
        // cand: a a a b (4), ref: a b c (3)
        // R1: clipped overlap min(3,1)+min(1,1) = 2; P = 2/4, R = 2/3
        //     F = 2*(1/2)(2/3)/(1/2+2/3) = (2/3)/(7/6) = 4/7 -> 400/7
        // R2: cand bigrams aa, aa, ab (3); ref ab, bc (2); overlap ab = 1
        //     P = 1/3, R = 1/2, F = 2*(1/6)/(5/6) = 2/5 -> 40
        // RL: LCS "a b" = 2 -> same as R1 = 400/7
        let s = rouge("a a a b", "a b c");
        assert!((s.r1 - 400.0 / 7.0).abs() < 1e-9, "{s:?}");
        assert!((s.r2 - 40.0).abs() < 1e-9, "{s:?}");
        assert!((s.rl - 400.0 / 7.0).abs() < 1e-9, "{s:?}");
    }

    #[test]
    fn lcs_is_order_sensitive_where_rouge1_is_not() {
        // cand: c b a, ref: a b c. R1 = 100 (bag of words), R2 = 0 (cb, ba vs ab, bc),
        // RL: LCS = 1 -> P = R = 1/3 -> 33.33
        let s = rouge("c b a", "a b c");
        assert!((s.r1 - 100.0).abs() < 1e-9);
        assert_eq!(s.r2, 0.0);
        assert!((s.rl - 100.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn empty_sides_score_zero() {
        assert_eq!(rouge("", "a b"), Rouge::default());
        assert_eq!(rouge("a b", "…"), Rouge::default());
        // single tokens have no bigram: R2 = 0 even on an exact match
        let s = rouge("Hà Nội", "hà nội.");
        assert_eq!((s.r1, s.r2, s.rl), (100.0, 100.0, 100.0));
        let s = rouge("Hà", "hà");
        assert_eq!((s.r1, s.r2, s.rl), (100.0, 0.0, 100.0));
    }

    #[test]
    fn mean_is_macro() {
        // (10+30)/2 = 20, (0+50)/2 = 25, (100+0)/2 = 50
        let m = mean(&[
            Rouge {
                r1: 10.0,
                r2: 0.0,
                rl: 100.0,
            },
            Rouge {
                r1: 30.0,
                r2: 50.0,
                rl: 0.0,
            },
        ]);
        assert_eq!(
            m,
            Rouge {
                r1: 20.0,
                r2: 25.0,
                rl: 50.0
            }
        );
        assert_eq!(mean(&[]), Rouge::default());
    }
}
