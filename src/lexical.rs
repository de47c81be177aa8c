//! Non-neural baselines: TF-IDF prototype classification, lexical TextRank and Lead-N.
//!
//! They exist so that the encoder-based numbers have a floor to be compared with: a neural
//! classifier that does not beat word overlap with the theme descriptions, or a summariser
//! that does not beat the first sentences, is not earning its cost.
//!
//! Terms are syllables as ROUGE sees them ([`crate::rouge::tokens`]) plus syllable
//! bigrams, since most Vietnamese words are two syllables ("công nghiệp", "chuyển đổi") and
//! single syllables are highly ambiguous ("công" alone is in công nghiệp, công nghệ,
//! công bố). Bigrams are formed over the token stream, so they may span a comma: that adds
//! a little noise but no false matches across documents that a human would not also see.

use std::collections::{BTreeSet, HashMap};

/// ROUGE tokens: NFC, lower-case, whitespace-split, punctuation stripped at token ends.
pub fn syllables(text: &str) -> Vec<String> {
    crate::rouge::tokens(text)
}

/// Sparse vector as (term id, weight) pairs, sorted by id with unique ids when built by
/// [`TfIdf::vector`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseVec(pub Vec<(u32, f32)>);

impl SparseVec {
    /// Cosine similarity; 0.0 when either vector is empty or all-zero.
    ///
    /// Accumulates in f64: summing hundreds of small f32 products loses digits that decide
    /// ties in TextRank. Vectors built by hand in any id order are accepted (they are sorted
    /// into a copy first).
    pub fn cosine(&self, other: &SparseVec) -> f32 {
        let a = sorted(&self.0);
        let b = sorted(&other.0);
        let norm = |v: &[(u32, f32)]| {
            v.iter()
                .map(|&(_, w)| f64::from(w).powi(2))
                .sum::<f64>()
                .sqrt()
        };
        let (na, nb) = (norm(&a), norm(&b));
        if na == 0.0 || nb == 0.0 {
            return 0.0;
        }
        let (mut i, mut j, mut dot) = (0, 0, 0.0f64);
        while i < a.len() && j < b.len() {
            match a[i].0.cmp(&b[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    dot += f64::from(a[i].1) * f64::from(b[j].1);
                    i += 1;
                    j += 1;
                }
            }
        }
        (dot / (na * nb)) as f32
    }
}

fn sorted(v: &[(u32, f32)]) -> std::borrow::Cow<'_, [(u32, f32)]> {
    if v.windows(2).all(|w| w[0].0 < w[1].0) {
        std::borrow::Cow::Borrowed(v)
    } else {
        // Merge duplicate ids by summing, which is what the vector they stand for means.
        let mut owned = v.to_vec();
        owned.sort_by_key(|&(id, _)| id);
        let mut merged: Vec<(u32, f32)> = Vec::with_capacity(owned.len());
        for (id, w) in owned {
            match merged.last_mut() {
                Some(last) if last.0 == id => last.1 += w,
                _ => merged.push((id, w)),
            }
        }
        std::borrow::Cow::Owned(merged)
    }
}

/// TF-IDF model over syllable unigrams and bigrams.
///
/// idf is scikit-learn's smoothed form, `ln((1 + N) / (1 + df)) + 1`: a term in every document
/// keeps weight 1 instead of vanishing, which matters when the corpus is a handful of theme
/// descriptions that all share "công nghiệp". tf is sublinear, `1 + ln(count)`, so that a
/// syllable repeated ten times in a long article does not drown the rest.
#[derive(Debug, Clone, Default)]
pub struct TfIdf {
    vocab: HashMap<String, u32>,
    idf: Vec<f32>,
}

impl TfIdf {
    /// Learns the vocabulary and document frequencies from `docs`. Ids follow the sorted
    /// order of the terms, so the same corpus always gives the same ids (and the same ties).
    /// Terms that never occur in `docs` are ignored by [`TfIdf::vector`]: fit on the articles
    /// and the theme descriptions together when classifying.
    pub fn fit(docs: &[&str]) -> TfIdf {
        let mut df: HashMap<String, usize> = HashMap::new();
        for doc in docs {
            let unique: BTreeSet<String> = terms(doc).into_iter().collect();
            for t in unique {
                *df.entry(t).or_insert(0) += 1;
            }
        }
        let mut entries: Vec<(String, usize)> = df.into_iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let n = docs.len() as f64;
        let mut vocab = HashMap::with_capacity(entries.len());
        let mut idf = Vec::with_capacity(entries.len());
        for (id, (term, d)) in entries.into_iter().enumerate() {
            // A vocabulary of 2^32 terms would need well over 100 GB of term strings first.
            vocab.insert(term, id as u32);
            idf.push(((1.0 + n) / (1.0 + d as f64)).ln() as f32 + 1.0);
        }
        TfIdf { vocab, idf }
    }

    /// L2-normalised tf-idf vector of `text` (empty when no term is in the vocabulary).
    pub fn vector(&self, text: &str) -> SparseVec {
        let mut counts: HashMap<u32, u32> = HashMap::new();
        for t in terms(text) {
            if let Some(&id) = self.vocab.get(&t) {
                *counts.entry(id).or_insert(0) += 1;
            }
        }
        let mut v: Vec<(u32, f32)> = counts
            .into_iter()
            .map(|(id, c)| (id, (1.0 + (c as f32).ln()) * self.idf[id as usize]))
            .collect();
        v.sort_unstable_by_key(|&(id, _)| id);
        let norm = v
            .iter()
            .map(|&(_, w)| f64::from(w).powi(2))
            .sum::<f64>()
            .sqrt();
        if norm > 0.0 {
            for (_, w) in &mut v {
                *w = (f64::from(*w) / norm) as f32;
            }
        }
        SparseVec(v)
    }

    /// The idf of a term (a syllable, or two syllables joined by one space), if known.
    pub fn idf(&self, term: &str) -> Option<f32> {
        self.vocab.get(term).map(|&id| self.idf[id as usize])
    }
}

/// Unigrams then bigrams ("a b", joined by a space, which no token can contain).
fn terms(text: &str) -> Vec<String> {
    let syl = syllables(text);
    let mut out = Vec::with_capacity(syl.len() * 2);
    for w in syl.windows(2) {
        out.push(format!("{} {}", w[0], w[1]));
    }
    out.extend(syl);
    out
}

/// TF-IDF prototype classifier: themes given as (id, description text incl. examples);
/// returns (id, score) sorted by score desc
///
/// The score is the cosine between the text and the theme description. Equal scores keep the
/// order of `themes`, so a text with no known term gets the first theme with score 0.
pub fn classify(tfidf: &TfIdf, text: &str, themes: &[(String, String)]) -> Vec<(String, f32)> {
    let v = tfidf.vector(text);
    let mut scored: Vec<(String, f32)> = themes
        .iter()
        .map(|(id, desc)| (id.clone(), v.cosine(&tfidf.vector(desc))))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored
}

/// Lexical TextRank over sentences (tf-idf cosine graph, damping 0.85, 50 iterations or
/// convergence); returns the indices of the n best sentences in original order
///
/// Weighted PageRank (Mihalcea & Tarau 2004) in its probability form: scores sum to 1, and
/// a sentence sharing no term with any other spreads its score evenly instead of leaking it,
/// so isolated sentences (captions, bylines) neither win nor distort the rest. Convergence is
/// an L1 change below 1e-6. Equal scores prefer the earlier sentence, which is what a reader
/// of news (inverted pyramid) would pick.
pub fn textrank(tfidf: &TfIdf, sentences: &[&str], n: usize) -> Vec<usize> {
    const DAMPING: f64 = 0.85;
    const MAX_ITER: usize = 50;
    const TOL: f64 = 1e-6;
    let m = sentences.len();
    if m == 0 || n == 0 {
        return Vec::new();
    }
    let vecs: Vec<SparseVec> = sentences.iter().map(|s| tfidf.vector(s)).collect();
    let mut w = vec![vec![0.0f64; m]; m];
    for i in 0..m {
        for j in (i + 1)..m {
            let c = f64::from(vecs[i].cosine(&vecs[j])).max(0.0);
            w[i][j] = c;
            w[j][i] = c;
        }
    }
    let out: Vec<f64> = w.iter().map(|row| row.iter().sum()).collect();
    let mut score = vec![1.0 / m as f64; m];
    for _ in 0..MAX_ITER {
        let dangling: f64 = (0..m).filter(|&j| out[j] == 0.0).map(|j| score[j]).sum();
        let base = (1.0 - DAMPING) / m as f64 + DAMPING * dangling / m as f64;
        let next: Vec<f64> = (0..m)
            .map(|i| {
                let flow: f64 = (0..m)
                    .filter(|&j| out[j] > 0.0)
                    .map(|j| w[j][i] / out[j] * score[j])
                    .sum();
                base + DAMPING * flow
            })
            .collect();
        let delta: f64 = next.iter().zip(&score).map(|(a, b)| (a - b).abs()).sum();
        score = next;
        if delta < TOL {
            break;
        }
    }
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
    order.truncate(n);
    order.sort_unstable();
    order
}

/// Lead-N: the first n sentences
pub fn lead(sentences: &[&str], n: usize) -> Vec<usize> {
    (0..n.min(sentences.len())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f64) -> bool {
        (f64::from(a) - b).abs() < 1e-5
    }

    fn weight(tfidf: &TfIdf, v: &SparseVec, term: &str) -> f32 {
        let id = tfidf.vocab[term];
        v.0.iter()
            .find(|&&(i, _)| i == id)
            .map(|&(_, w)| w)
            .unwrap_or(0.0)
    }

    #[test]
    fn idf_and_tfidf_hand_computed() {
        // d1 "công nghiệp": công, nghiệp, "công nghiệp"
        // d2 "công nghệ":   công, nghệ, "công nghệ"
        // d3 "nghiệp nghiệp số": nghiệp, số, "nghiệp nghiệp", "nghiệp số"
        // N = 3; df(công) = df(nghiệp) = 2, every other term df = 1
        // idf(df=2) = ln(4/3) + 1 = 1.287682; idf(df=1) = ln(4/2) + 1 = 1.693147
        let docs = ["Công nghiệp", "công nghệ.", "nghiệp nghiệp số"];
        let t = TfIdf::fit(&docs);
        assert_eq!(t.vocab.len(), 8);
        assert!(close(t.idf("công").unwrap_or(0.0), 1.287682));
        assert!(close(t.idf("nghiệp").unwrap_or(0.0), 1.287682));
        assert!(close(t.idf("nghiệp số").unwrap_or(0.0), 1.693147));
        assert_eq!(t.idf("xyz"), None);

        // vector(d3): nghiệp tf 2 -> (1 + ln 2) * 1.287682 = 1.693147 * 1.287682 = 2.180235
        //             số, "nghiệp nghiệp", "nghiệp số": 1 * 1.693147
        // norm = sqrt(2.180235^2 + 3 * 1.693147^2) = sqrt(4.753426 + 8.600240) = 3.654267
        // -> nghiệp 0.596627, others 0.463334
        let v = t.vector(docs[2]);
        assert_eq!(v.0.len(), 4);
        assert!(close(weight(&t, &v, "nghiệp"), 0.596627));
        assert!(close(weight(&t, &v, "số"), 0.463334));
        assert!(close(weight(&t, &v, "nghiệp nghiệp"), 0.463334));
        assert!(v.0.windows(2).all(|w| w[0].0 < w[1].0));

        // cos(d1, d2): only "công" is shared.
        // |d1| = sqrt(2 * 1.287682^2 + 1.693147^2) = 2.486563
        // |d2| = sqrt(1.287682^2 + 2 * 1.693147^2) = 2.718753
        // cos = 1.287682^2 / (2.486563 * 2.718753) = 1.658125 / 6.760357 = 0.245272
        assert!(close(
            t.vector(docs[0]).cosine(&t.vector(docs[1])),
            0.245272
        ));

        // unknown terms are ignored; a single known term normalises to weight 1
        let v = t.vector("công xyz");
        assert_eq!(v.0.len(), 1);
        assert!(close(v.0[0].1, 1.0));
        assert!(t.vector("").0.is_empty());
    }

    #[test]
    fn cosine_edge_cases() {
        let a = SparseVec(vec![(1, 3.0), (4, 4.0)]);
        // same direction, unnormalised: 1
        assert!(close(a.cosine(&SparseVec(vec![(1, 0.6), (4, 0.8)])), 1.0));
        // unsorted with a duplicate id: (4, 2) + (4, 2) = (4, 4); (1, 3) -> equal to a
        assert!(close(
            a.cosine(&SparseVec(vec![(4, 2.0), (1, 3.0), (4, 2.0)])),
            1.0
        ));
        // (3,4)·(0,1) = 4, |a| = 5 -> 0.8
        assert!(close(a.cosine(&SparseVec(vec![(4, 1.0), (7, 0.0)])), 0.8));
        assert_eq!(a.cosine(&SparseVec::default()), 0.0);
        assert_eq!(SparseVec(vec![(1, 0.0)]).cosine(&a), 0.0);
    }

    fn themes() -> Vec<(String, String)> {
        [
            ("digital-transformation", "Chuyển đổi số và Công nghiệp 4.0: kinh tế số, chính phủ số, hạ tầng số và nền tảng số, dữ liệu, trí tuệ nhân tạo, cuộc Cách mạng công nghiệp lần thứ tư"),
            ("green-energy", "Chuyển đổi xanh và năng lượng: tăng trưởng xanh, năng lượng tái tạo, an ninh năng lượng, phát thải và phát thải ròng bằng 0, môi trường, kinh tế tuần hoàn"),
            ("investment-trade", "Đầu tư, thương mại và hội nhập: đầu tư trực tiếp nước ngoài (FDI), xuất khẩu và nhập khẩu, hiệp định thương mại, hợp tác quốc tế, chuỗi cung ứng toàn cầu"),
            ("human-resources", "Nguồn nhân lực và lao động: lực lượng lao động, đào tạo nghề và đào tạo đại học, thu hút nhân tài, năng suất lao động"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
    }

    #[test]
    fn classify_picks_the_matching_theme() {
        let th = themes();
        let texts = [
            (
                "Tỉnh đẩy mạnh điện gió và điện mặt trời, phát triển năng lượng tái tạo để giảm phát thải.",
                "green-energy",
            ),
            (
                "Vốn FDI đăng ký tăng 12%, xuất khẩu sang EU hưởng lợi từ hiệp định thương mại EVFTA.",
                "investment-trade",
            ),
            (
                "Bộ xây dựng nền tảng số dùng chung và kho dữ liệu quốc gia cho chính phủ số.",
                "digital-transformation",
            ),
            (
                "Thiếu lao động có tay nghề, doanh nghiệp liên kết với trường nghề để đào tạo nghề.",
                "human-resources",
            ),
        ];
        let mut corpus: Vec<&str> = th.iter().map(|(_, d)| d.as_str()).collect();
        corpus.extend(texts.iter().map(|(t, _)| *t));
        let tfidf = TfIdf::fit(&corpus);
        for (text, want) in texts {
            let ranked = classify(&tfidf, text, &th);
            assert_eq!(ranked.len(), th.len());
            assert_eq!(ranked[0].0, want, "{text}: {ranked:?}");
            assert!(ranked[0].1 > ranked[1].1, "{ranked:?}");
            assert!(ranked.windows(2).all(|w| w[0].1 >= w[1].1));
        }
        // nothing known: all zero, theme order kept
        let ranked = classify(&tfidf, "zzz qqq", &th);
        assert!(ranked.iter().all(|(_, s)| *s == 0.0));
        assert_eq!(ranked[0].0, "digital-transformation");
    }

    #[test]
    fn textrank_picks_the_central_sentence() {
        // Sentence 2 shares terms with each of the others, which barely overlap with one
        // another (only 0 and 1 share "tăng"); 4 is an unrelated caption.
        let sentences = [
            "Xuất khẩu điện tử tăng mạnh.",
            "Vốn đầu tư nước ngoài tăng.",
            "Xuất khẩu điện tử và vốn đầu tư nước ngoài là động lực của chuyển đổi số.",
            "Chuyển đổi số giúp doanh nghiệp nâng năng suất.",
            "Ảnh: Thanh Hà.",
        ];
        let tfidf = TfIdf::fit(&sentences);
        assert_eq!(textrank(&tfidf, &sentences, 1), vec![2]);
        let three = textrank(&tfidf, &sentences, 3);
        assert_eq!(three.len(), 3);
        assert!(three.contains(&2) && !three.contains(&4) && three.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(textrank(&tfidf, &sentences, 10), vec![0, 1, 2, 3, 4]);
        assert!(textrank(&tfidf, &sentences, 0).is_empty());
        assert!(textrank(&tfidf, &[], 2).is_empty());
        // no edges at all: uniform scores, earliest sentences win the tie
        let iso = ["một", "hai", "ba"];
        assert_eq!(textrank(&TfIdf::fit(&iso), &iso, 2), vec![0, 1]);
    }

    #[test]
    fn lead_takes_the_first_sentences() {
        let s = ["a", "b", "c"];
        assert_eq!(lead(&s, 2), vec![0, 1]);
        assert_eq!(lead(&s, 5), vec![0, 1, 2]);
        assert!(lead(&s, 0).is_empty());
        assert!(lead(&[], 3).is_empty());
    }

    #[test]
    fn terms_are_unigrams_and_bigrams() {
        assert_eq!(
            terms("Chuyển đổi số."),
            ["chuyển đổi", "đổi số", "chuyển", "đổi", "số"]
        );
        assert_eq!(syllables("“Make in Vietnam”"), ["make", "in", "vietnam"]);
    }
}
