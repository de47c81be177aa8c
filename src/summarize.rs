//! Extractive summaries: sentence centrality against the article's representation, a position
//! prior (news puts the essentials first), similarity to the headline, and maximal marginal
//! relevance against redundancy. Sentences come out in their original order.

use crate::classify::dot;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Length {
    Sentences(usize),
    Words(usize),
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Params {
    /// Weight of similarity to the article centroid.
    pub centrality: f32,
    /// Weight of the position prior 1/(1 + i)^decay, i = sentence index.
    pub position: f32,
    pub decay: f32,
    /// Weight of similarity to the headline.
    pub title: f32,
    /// MMR trade-off: 1 = relevance only.
    pub lambda: f32,
    /// Sentences shorter than this (in syllables) are never chosen.
    pub min_words: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            centrality: 1.0,
            position: 0.1,
            decay: 1.0,
            title: 0.3,
            lambda: 0.6,
            min_words: 8,
        }
    }
}

/// One candidate sentence with its embedding.
pub struct Candidate<'a> {
    pub text: &'a str,
    pub vector: &'a [f32],
}

pub fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

/// A heading or a caption-like fragment: short and without final punctuation, or a numbered
/// section heading ("Phần 3: …", "Mục II. …").
pub fn is_fragment(s: &str) -> bool {
    let t = s.trim_end_matches(['"', '”', '’', ')', '»', ' ']);
    if !t.ends_with(['.', '!', '?', '…', ':', ';']) && words(s) < 25 {
        return true;
    }
    let mut w = s.split_whitespace();
    let (Some(first), Some(second)) = (w.next(), w.next()) else {
        return false;
    };
    let label = second.trim_end_matches([':', '.']);
    ["Phần", "Mục", "Chương", "PHẦN", "MỤC", "CHƯƠNG"].contains(&first)
        && second.len() > label.len()
        && !label.is_empty()
        && label
            .chars()
            .all(|c| c.is_ascii_digit() || "IVXLC".contains(c))
}

/// Indices of the chosen sentences, in original order.
pub fn select(
    cands: &[Candidate],
    centroid: &[f32],
    title: Option<&[f32]>,
    length: Length,
    p: &Params,
) -> Vec<usize> {
    let eligible: Vec<usize> = (0..cands.len())
        .filter(|&i| words(cands[i].text) >= p.min_words && !is_fragment(cands[i].text))
        .collect();
    // A text of fragments only still gets a summary rather than none.
    let pool: Vec<usize> = if eligible.is_empty() {
        (0..cands.len()).collect()
    } else {
        eligible
    };
    let relevance: Vec<f32> = (0..cands.len())
        .map(|i| {
            let c = dot(cands[i].vector, centroid);
            let t = title.map(|t| dot(cands[i].vector, t)).unwrap_or(0.0);
            let pos = 1.0 / (1.0 + i as f32).powf(p.decay);
            p.centrality * c + p.title * t + p.position * pos
        })
        .collect();
    let mut chosen: Vec<usize> = Vec::new();
    let mut used_words = 0;
    loop {
        let done = match length {
            Length::Sentences(n) => chosen.len() >= n,
            Length::Words(n) => used_words >= n,
        };
        if done {
            break;
        }
        let best = pool
            .iter()
            .filter(|i| !chosen.contains(i))
            .map(|&i| {
                let redundancy = chosen
                    .iter()
                    .map(|&j| dot(cands[i].vector, cands[j].vector))
                    .fold(0f32, f32::max);
                (i, p.lambda * relevance[i] - (1.0 - p.lambda) * redundancy)
            })
            // Ties go to the earlier sentence.
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        let Some((i, _)) = best else { break };
        if let Length::Words(n) = length {
            // Never overshoot a word budget by more than half a sentence, unless nothing fits.
            if !chosen.is_empty()
                && used_words + words(cands[i].text) > n + words(cands[i].text) / 2
            {
                break;
            }
        }
        used_words += words(cands[i].text);
        chosen.push(i);
    }
    chosen.sort_unstable();
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn picks_central_sentences_avoids_duplicates_keeps_order() {
        let long = "một hai ba bốn năm sáu bảy tám chín mười mười một.";
        let v = [
            unit(&[1.0, 0.1, 0.0]), // 0: central
            unit(&[1.0, 0.1, 0.0]), // 1: duplicate of 0
            unit(&[0.0, 1.0, 0.0]), // 2: off-topic
            unit(&[0.8, 0.0, 0.6]), // 3: central-ish, different
        ];
        let cands: Vec<Candidate> = v
            .iter()
            .map(|x| Candidate {
                text: long,
                vector: x,
            })
            .collect();
        let centroid = unit(&[1.0, 0.0, 0.2]);
        let p = Params {
            position: 0.0,
            title: 0.0,
            lambda: 0.5,
            ..Params::default()
        };
        let got = select(&cands, &centroid, None, Length::Sentences(2), &p);
        assert_eq!(got, vec![0, 3]);
    }

    #[test]
    fn skips_headings_and_short_fragments() {
        let v = unit(&[1.0, 0.0]);
        let cands = vec![
            Candidate {
                text: "Tin liên quan",
                vector: &v,
            },
            Candidate {
                text: "Bộ Công Thương công bố kế hoạch phát triển công nghiệp hỗ trợ đến năm 2030.",
                vector: &v,
            },
        ];
        let got = select(&cands, &v, None, Length::Sentences(1), &Params::default());
        assert_eq!(got, vec![1]);
        assert!(is_fragment(
            "Kết hợp hài hoà giữa công nghiệp hoá và phát triển đô thị"
        ));
        assert!(!is_fragment("Ông nói: “Đây là bước đi quan trọng.”"));
        assert!(is_fragment("Phần 3: Quan điểm, định hướng và cơ chế, chính sách phát triển các ngành công nghiệp mới."));
        assert!(!is_fragment(
            "Phần lớn doanh nghiệp cho biết chi phí logistics tăng mạnh trong năm nay."
        ));
    }

    #[test]
    fn word_budget() {
        let v = unit(&[1.0, 0.0]);
        let s = "a b c d e f g h i j."; // 10 words
        let cands: Vec<Candidate> = (0..5)
            .map(|_| Candidate {
                text: s,
                vector: &v,
            })
            .collect();
        let p = Params {
            min_words: 1,
            lambda: 1.0,
            ..Params::default()
        };
        assert_eq!(select(&cands, &v, None, Length::Words(20), &p).len(), 2);
    }
}
