//! Abstractive and hybrid summaries for the pipeline. `abstractive` feeds the whole cleaned
//! article to the generator; `hybrid` feeds the extractive selection (the most central
//! sentences), which keeps long articles inside the context window and the prompt short on a
//! CPU. An article too long for `abstractive` falls back to `hybrid`, with a warning: no silent
//! truncation. A failed or flagged generation never replaces the extractive summary, which is
//! always kept beside it.
//!
//! A generated summary is shown instead of the extract only when it passes every check (not
//! empty, Vietnamese, not looping, not cut, and no number, date, document code or name that the
//! article lacks) and its encoder vector is at least as close to the article's centroid as the
//! extract's (see [`gate`]). Otherwise the extract is shown and `gate_reason` says why.

use crate::generate::check::{self, Flag};
use crate::generate::faithful;
use crate::generate::{GenOptions, Generator, StopReason};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Sentences quoted from the article (fast; the default).
    #[default]
    Extractive,
    /// The generator reads the whole cleaned article and writes a summary in fresh words.
    Abstractive,
    /// The generator reads the extractive selection (the most central sentences) and rewrites it.
    Hybrid,
}

impl Mode {
    pub fn as_str(&self) -> &'static str {
        match self {
            Mode::Extractive => "extractive",
            Mode::Abstractive => "abstractive",
            Mode::Hybrid => "hybrid",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: Mode,
    pub gen: GenOptions,
    /// Sentences of the extract the generator reads in hybrid mode.
    pub hybrid_sentences: usize,
    /// Longest input (prompt tokens) fed to the generator; longer articles go hybrid.
    pub max_input_tokens: usize,
    /// Threads for generation (0 = as many as the encoder uses). One-token steps are small:
    /// on a busy machine two threads spend their time waiting for each other.
    pub threads: usize,
    /// The gate's margin (see [`gate`]).
    pub gate_margin: f32,
}

/// What the generator wrote for one article, with what it read and how it went.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AbstractSummary {
    pub text: String,
    /// abstractive | hybrid (what the generator actually read).
    pub mode: String,
    /// Sentences the generator read, of the article's.
    pub input_sentences: usize,
    pub article_sentences: usize,
    pub flags: Vec<Flag>,
    /// No flags: fit to show instead of the extract.
    pub usable: bool,
    pub model: String,
    pub prompt_tokens: usize,
    pub new_tokens: usize,
    pub stop: StopReason,
    pub tokens_per_sec: f32,
    /// Numbers, dates, document codes and names the article does not contain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsupported: Vec<faithful::Span>,
    /// Which summary is shown: the generated one only when it passed the gate.
    #[serde(default)]
    pub shown: Shown,
    #[serde(default)]
    pub gate_reason: String,
    /// Encoder cosine to the article's centroid of the generated text and of the extract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Coverage>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Shown {
    #[default]
    Extract,
    Generated,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    pub generated: f32,
    pub extract: f32,
}

/// How much closer to the article's centroid than the extract a generated summary must be to
/// be shown (cosine; negative = it may be a little less close), for a generator whose manifest
/// gives no `gate_margin`. 0 is the rule as stated ("at least as well as the extract"). A
/// manifest's margin is chosen per model on dev (`bantin eval --labels eval/dev.jsonl
/// --summarizer hybrid`, then `eval/choose_gate.py`), never on test: how close a model's text
/// must come before it reads better than the extract depends on the model.
pub const DEFAULT_GATE_MARGIN: f32 = 0.0;

/// Decides which summary is shown. `coverage` is `None` when it could not be measured (then
/// the extract is shown).
/// `margin`: how much closer to the centroid than the extract the generated text must be.
pub fn gate(s: &mut AbstractSummary, coverage: Result<Coverage, String>, margin: f32) {
    s.coverage = coverage.as_ref().ok().copied();
    let (shown, reason) = if !s.usable {
        let mut why: Vec<String> = s.flags.iter().map(|f| f.describe().to_string()).collect();
        if !s.unsupported.is_empty() {
            let spans: Vec<String> = s
                .unsupported
                .iter()
                .map(|u| format!("{} \"{}\"", u.kind.as_str(), u.text))
                .collect();
            if let Some(w) = why.iter_mut().find(|w| *w == Flag::Unsupported.describe()) {
                *w = format!("{w}: {}", spans.join(", "));
            }
        }
        (Shown::Extract, format!("flagged: {}", why.join("; ")))
    } else {
        match coverage {
            Err(e) => (
                Shown::Extract,
                format!("coverage could not be measured: {e}"),
            ),
            Ok(c) if c.generated >= c.extract + margin => (
                Shown::Generated,
                format!(
                    "passed the checks and covers the article as well as the extract (cosine to centroid {:.3} vs {:.3}, margin {margin:+.3})",
                    c.generated, c.extract
                ),
            ),
            Ok(c) => (
                Shown::Extract,
                format!(
                    "covers the article less well than the extract (cosine to centroid {:.3} vs {:.3}, margin {margin:+.3})",
                    c.generated, c.extract
                ),
            ),
        }
    };
    s.shown = shown;
    s.gate_reason = reason;
}

/// Gate decision with coverage measured by the article's encoder: the generated text and the
/// extract are embedded alike (one passage each) and compared with the article's centroid.
pub fn gate_with_encoder(
    s: &mut AbstractSummary,
    embedder: &crate::encoder::Embedder,
    extract: &str,
    centroid: &[f32],
    margin: f32,
) {
    let coverage = embedder
        .embed(&[s.text.as_str(), extract], crate::encoder::Role::Passage)
        .map_err(|e| e.to_string())
        .and_then(|v| match v.as_slice() {
            [g, x] => Ok(Coverage {
                generated: cosine(&g.vector, centroid),
                extract: cosine(&x.vector, centroid),
            }),
            _ => Err("the encoder returned no vectors".to_string()),
        });
    gate(s, coverage, margin);
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// Totals over a run, for the final line and the eval report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub articles: usize,
    pub usable: usize,
    pub failed: usize,
    pub prompt_tokens: usize,
    pub new_tokens: usize,
    pub prompt_secs: f64,
    pub generate_secs: f64,
    /// How often each flag was raised.
    pub flags: std::collections::BTreeMap<String, usize>,
}

impl Totals {
    pub fn describe(&self) -> String {
        let flags = if self.flags.is_empty() {
            String::new()
        } else {
            format!(
                ": {}",
                self.flags
                    .iter()
                    .map(|(k, v)| format!("{v} {k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        format!(
            "generator: {} summaries ({} usable, {} flagged{flags}, {} failed); prompt {:.0} tok/s, generation {:.1} tok/s",
            self.articles,
            self.usable,
            self.articles.saturating_sub(self.usable + self.failed),
            self.failed,
            self.prompt_tokens as f64 / self.prompt_secs.max(1e-9),
            self.new_tokens as f64 / self.generate_secs.max(1e-9),
        )
    }
}

pub struct Abstractive {
    generator: Mutex<Generator>,
    pool: Option<rayon::ThreadPool>,
    pub settings: Settings,
    /// The run's progress bar: its message shows tokens per second while generating.
    pub bar: Mutex<Option<ProgressBar>>,
    pub totals: Mutex<Totals>,
    model: String,
    describe: String,
}

impl Abstractive {
    pub fn new(generator: Generator, settings: Settings) -> Abstractive {
        let p = &generator.provenance;
        let model = p.model.clone();
        // What a stored result depends on: the weights, the template and every decoding setting.
        let describe = format!(
            "{}|{}|{}|{:?}|{:?}|{}|{}|gate{}",
            settings.mode.as_str(),
            p.model,
            p.weights_sha256.as_deref().unwrap_or("-"),
            generator.template,
            settings.gen,
            settings.hybrid_sentences,
            settings.max_input_tokens,
            settings.gate_margin
        );
        let pool = (settings.threads > 0)
            .then(|| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(settings.threads)
                    .build()
                    .ok()
            })
            .flatten();
        Abstractive {
            generator: Mutex::new(generator),
            pool,
            settings,
            bar: Mutex::new(None),
            totals: Mutex::new(Totals::default()),
            model,
            describe,
        }
    }

    pub fn describe(&self) -> &str {
        &self.describe
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    pub fn totals(&self) -> Totals {
        self.totals.lock().map(|t| t.clone()).unwrap_or_default()
    }

    pub fn set_bar(&self, bar: Option<ProgressBar>) {
        if let Ok(mut b) = self.bar.lock() {
            *b = bar;
        }
    }

    /// A headline for an article that came without one, from `sentences` (a few of its most
    /// central, in article order). `None` when the model cannot be asked for one (a
    /// sequence-to-sequence summariser), the prompt is over the input limit, generation failed,
    /// or the text fails a check: the generator checks on summaries, and a headline's own (one
    /// line, 4 to 25 words, not cut short). The caller then uses an extracted headline.
    pub fn headline(&self, sentences: &[&str]) -> Option<String> {
        let mut gen = self.generator.lock().ok()?;
        let prompt = gen.template.render_headline(&sentences.join(" "))?;
        let opts = GenOptions {
            max_new_tokens: 48,
            stop: vec!["\n".into()],
            ..self.settings.gen.clone()
        };
        let tokens = gen.count_tokens(&prompt).ok()?;
        let context = gen.model.context_length();
        if tokens > self.settings.max_input_tokens || tokens + opts.max_new_tokens > context {
            return None;
        }
        let g: &mut Generator = &mut gen;
        let result = match &self.pool {
            Some(pool) => pool.install(|| g.generate(&prompt, &opts, &mut |_| {})),
            None => g.generate(&prompt, &opts, &mut |_| {}),
        };
        let out = result.ok()?;
        let text = headline_text(&out.text);
        let flags = check::assess(&text, out.stop == StopReason::MaxTokens);
        let words = text.split_whitespace().count();
        let cut = text.ends_with('…') || text.ends_with("...");
        (flags.is_empty() && out.stop != StopReason::Loop && (4..=25).contains(&words) && !cut)
            .then_some(text)
    }

    /// Summarises one article. `body` is every sentence in order; `central` picks the `k` most
    /// central sentences (indices into `body`, in article order) for hybrid input. Returns the
    /// summary and any warning for the article.
    pub fn summarise(
        &self,
        title: &str,
        body: &[&str],
        central: &dyn Fn(usize) -> Vec<usize>,
    ) -> (Option<AbstractSummary>, Vec<String>) {
        let mut warnings = Vec::new();
        let Ok(mut gen) = self.generator.lock() else {
            return (
                None,
                vec!["abstractive summary skipped: the generator failed earlier".into()],
            );
        };
        let s = &self.settings;
        let context = gen.model.context_length();
        let budget = if gen.model.shares_context() {
            s.max_input_tokens
                .min(context.saturating_sub(s.gen.max_new_tokens))
        } else {
            s.max_input_tokens.min(context)
        };
        let render = |idx: &[usize]| {
            let text: Vec<&str> = idx.iter().map(|&i| body[i]).collect();
            gen.template.render(title, &text.join(" "))
        };
        let all: Vec<usize> = (0..body.len()).collect();
        let mut mode = s.mode;
        let mut chosen = match mode {
            Mode::Hybrid => central(s.hybrid_sentences.max(1)),
            _ => all,
        };
        let mut prompt = render(&chosen);
        let mut tokens = match gen.count_tokens(&prompt) {
            Ok(n) => n,
            Err(e) => return (None, vec![format!("abstractive summary failed: {e}")]),
        };
        if tokens > budget && mode == Mode::Abstractive {
            let before = tokens;
            mode = Mode::Hybrid;
            chosen = central(s.hybrid_sentences.max(1));
            prompt = render(&chosen);
            tokens = gen.count_tokens(&prompt).unwrap_or(usize::MAX);
            warnings.push(format!(
                "article is {before} tokens, over the generator's input limit of {budget}: it read the {} most central sentences instead (hybrid)",
                chosen.len()
            ));
        }
        // Even the extract can be too long (very long sentences): drop the least central.
        while tokens > budget && chosen.len() > 1 {
            let keep = chosen.len() - 1;
            chosen = central(keep);
            prompt = render(&chosen);
            tokens = gen.count_tokens(&prompt).unwrap_or(usize::MAX);
            if tokens <= budget {
                warnings.push(format!(
                    "the generator read only {keep} sentence(s): more would exceed its input limit of {budget} tokens"
                ));
            }
        }
        if tokens > budget {
            return (
                None,
                vec![format!(
                    "abstractive summary skipped: even one sentence is over the generator's input limit of {budget} tokens"
                )],
            );
        }
        let bar = self.bar.lock().ok().and_then(|b| b.clone());
        let started = std::time::Instant::now();
        let mut on_token = |n: usize| {
            if let Some(bar) = &bar {
                if n.is_multiple_of(4) {
                    let rate = n as f64 / started.elapsed().as_secs_f64().max(1e-9);
                    bar.set_message(format!("generating {n} tok, {rate:.0} tok/s"));
                }
            }
        };
        let g: &mut Generator = &mut gen;
        let result = match &self.pool {
            Some(pool) => pool.install(|| g.generate(&prompt, &s.gen, &mut on_token)),
            None => g.generate(&prompt, &s.gen, &mut on_token),
        };
        if let Some(bar) = &bar {
            bar.set_message("articles");
        }
        let mut totals = self.totals.lock().ok();
        match result {
            Ok(mut g) => {
                g.text = check::tidy(&g.text);
                let flags = check::assess(&g.text, g.stop == StopReason::MaxTokens);
                let mut flags = flags;
                if g.stop == StopReason::Loop && !flags.contains(&Flag::Looping) {
                    flags.push(Flag::Looping);
                }
                // Checked against the whole article, not only what the generator read: a fact
                // from elsewhere in it is not invented.
                let source = faithful::Source::new(&format!("{title}\n{}", body.join("\n")));
                let unsupported = faithful::unsupported(&g.text, &source);
                if !unsupported.is_empty() {
                    flags.push(Flag::Unsupported);
                }
                let usable = flags.is_empty();
                if let Some(t) = totals.as_mut() {
                    t.articles += 1;
                    t.usable += usable as usize;
                    t.prompt_tokens += g.prompt_tokens;
                    t.new_tokens += g.new_tokens;
                    t.prompt_secs += g.prompt_secs;
                    t.generate_secs += g.generate_secs;
                    for f in &flags {
                        *t.flags.entry(f.describe().to_string()).or_default() += 1;
                    }
                }
                if !usable {
                    let spans: Vec<String> = unsupported
                        .iter()
                        .map(|u| format!("\"{}\"", u.text))
                        .collect();
                    warnings.push(format!(
                        "abstractive summary flagged ({}{}): the extractive summary is shown",
                        flags
                            .iter()
                            .map(|f| f.describe())
                            .collect::<Vec<_>>()
                            .join(", "),
                        if spans.is_empty() {
                            String::new()
                        } else {
                            format!(": {} not in the article", spans.join(", "))
                        }
                    ));
                }
                (
                    Some(AbstractSummary {
                        text: g.text.clone(),
                        mode: mode.as_str().into(),
                        input_sentences: chosen.len(),
                        article_sentences: body.len(),
                        flags,
                        usable,
                        model: self.model.clone(),
                        prompt_tokens: g.prompt_tokens,
                        new_tokens: g.new_tokens,
                        stop: g.stop,
                        tokens_per_sec: (g.tokens_per_sec() * 10.0).round() as f32 / 10.0,
                        unsupported,
                        shown: Shown::Extract,
                        gate_reason: "not yet compared with the extract".into(),
                        coverage: None,
                    }),
                    warnings,
                )
            }
            Err(e) => {
                if let Some(t) = totals.as_mut() {
                    t.articles += 1;
                    t.failed += 1;
                }
                warnings.push(format!("abstractive summary failed: {e}"));
                (None, warnings)
            }
        }
    }
}

/// The generated headline as one plain line: the first line only, without a "Tiêu đề:" label,
/// surrounding quotation marks or a final full stop.
fn headline_text(generated: &str) -> String {
    let tidy = check::tidy(
        generated
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or(""),
    );
    let mut t = tidy.trim();
    for label in ["Tiêu đề:", "TIÊU ĐỀ:", "Tiêu đề :"] {
        if let Some(rest) = t.strip_prefix(label) {
            t = rest.trim();
        }
    }
    let quotes: &[(char, char)] = &[('"', '"'), ('“', '”'), ('«', '»'), ('\'', '\'')];
    for &(open, close) in quotes {
        if let Some(inner) = t.strip_prefix(open).and_then(|r| r.strip_suffix(close)) {
            if !inner.contains(open) && !inner.contains(close) {
                t = inner.trim();
            }
        }
    }
    match t.strip_suffix('.') {
        Some(rest) if !rest.ends_with('.') => rest.trim_end().to_string(),
        _ => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::tests::generator;

    fn settings(mode: Mode, max_input_tokens: usize) -> Settings {
        Settings {
            mode,
            gen: GenOptions {
                max_new_tokens: 20,
                repeat_penalty: 1.0,
                ..GenOptions::default()
            },
            hybrid_sentences: 2,
            max_input_tokens,
            threads: 0,
            gate_margin: DEFAULT_GATE_MARGIN,
        }
    }

    const BODY: &[&str] = &["x x x.", "y y y.", "x y x.", "y x y."];

    /// "Most central" = the first k, in order: enough to see which sentences were read.
    fn first_k(k: usize) -> Vec<usize> {
        (0..k.min(BODY.len())).collect()
    }

    #[test]
    fn abstractive_reads_the_whole_article_and_keeps_a_good_summary() {
        let g = generator(
            &["Chính", "phủ", "ban", "hành", "nghị", "định.", "<eos>"],
            4096,
        );
        let ab = Abstractive::new(g, settings(Mode::Abstractive, 1000));
        let (s, warnings) = ab.summarise("", BODY, &first_k);
        let s = s.expect("a summary");
        assert_eq!(s.text, "Chính phủ ban hành nghị định.");
        assert_eq!(
            (s.mode.as_str(), s.input_sentences, s.article_sentences),
            ("abstractive", 4, 4)
        );
        assert!(s.usable && s.flags.is_empty(), "{:?}", s.flags);
        assert!(warnings.is_empty(), "{warnings:?}");
        let t = ab.totals();
        assert_eq!((t.articles, t.usable, t.new_tokens), (1, 1, 6));
    }

    #[test]
    fn a_long_article_goes_hybrid_with_a_warning() {
        let g = generator(
            &["Chính", "phủ", "ban", "hành", "nghị", "định.", "<eos>"],
            4096,
        );
        // Prompt = 6 template words + 3 per sentence: 4 sentences = 18 tokens, 2 = 12.
        let ab = Abstractive::new(g, settings(Mode::Abstractive, 14));
        let (s, warnings) = ab.summarise("", BODY, &first_k);
        let s = s.expect("a summary");
        assert_eq!((s.mode.as_str(), s.input_sentences), ("hybrid", 2));
        assert_eq!(s.prompt_tokens, 12);
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("over the generator's input limit of 14")),
            "{warnings:?}"
        );
    }

    #[test]
    fn hybrid_reads_the_extract() {
        let g = generator(&["Chính", "phủ", "<eos>"], 4096);
        let ab = Abstractive::new(g, settings(Mode::Hybrid, 1000));
        let (s, _) = ab.summarise("", BODY, &first_k);
        assert_eq!(s.expect("a summary").input_sentences, 2);
    }

    #[test]
    fn a_bad_summary_is_flagged_and_the_extract_stays() {
        let g = generator(&["the", "end", "<eos>"], 4096);
        let ab = Abstractive::new(g, settings(Mode::Abstractive, 1000));
        let (s, warnings) = ab.summarise("", BODY, &first_k);
        let s = s.expect("a summary");
        assert!(!s.usable);
        assert_eq!(s.flags, vec![Flag::NotVietnamese]);
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("flagged (not Vietnamese)")),
            "{warnings:?}"
        );
        assert_eq!(ab.totals().usable, 0);
    }

    #[test]
    fn nothing_fits_skips_with_a_warning() {
        let g = generator(&["x"], 4096);
        let ab = Abstractive::new(g, settings(Mode::Hybrid, 8));
        let (s, warnings) = ab.summarise("", BODY, &first_k);
        assert!(s.is_none());
        assert!(warnings[0].contains("skipped"), "{warnings:?}");
    }

    #[test]
    fn generated_headlines_pass_the_checks_or_are_refused() {
        let script = ["Chính", "phủ", "ban", "hành", "nghị", "định.", "<eos>"];
        let ab = Abstractive::new(generator(&script, 4096), settings(Mode::Abstractive, 1000));
        assert_eq!(
            ab.headline(BODY).as_deref(),
            Some("Chính phủ ban hành nghị định")
        );
        // Not Vietnamese, too short, or a model that only summarises: no generated headline.
        let ab = Abstractive::new(
            generator(&["the", "end", "<eos>"], 4096),
            settings(Mode::Abstractive, 1000),
        );
        assert_eq!(ab.headline(BODY), None);
        let ab = Abstractive::new(
            generator(&["Chính", "phủ", "<eos>"], 4096),
            settings(Mode::Abstractive, 1000),
        );
        assert_eq!(ab.headline(BODY), None);
        let mut t5 = generator(&script, 4096);
        t5.template.prefix = "vietnews: ".into();
        let ab = Abstractive::new(t5, settings(Mode::Abstractive, 1000));
        assert_eq!(ab.headline(BODY), None);
        // Over the input limit.
        let ab = Abstractive::new(generator(&script, 4096), settings(Mode::Abstractive, 3));
        assert_eq!(ab.headline(BODY), None);
    }

    #[test]
    fn headline_text_is_one_plain_line() {
        assert_eq!(
            headline_text("Tiêu đề: “Chính phủ ban hành nghị định mới.”\nGiải thích thêm"),
            "Chính phủ ban hành nghị định mới"
        );
        assert_eq!(
            headline_text("\n**Xuất khẩu tăng 10%**"),
            "Xuất khẩu tăng 10%"
        );
        assert_eq!(
            headline_text("“Cần cơ chế đặc biệt” cho chip bán dẫn"),
            "“Cần cơ chế đặc biệt” cho chip bán dẫn"
        );
    }

    #[test]
    fn a_number_the_article_lacks_is_flagged_with_its_span() {
        let script = &["Chính", "phủ", "ban", "hành", "25", "tỷ", "đồng.", "<eos>"];
        let ab = Abstractive::new(generator(script, 4096), settings(Mode::Hybrid, 1000));
        let (s, warnings) = ab.summarise("", BODY, &first_k);
        let s = s.expect("a summary");
        assert_eq!(s.flags, vec![Flag::Unsupported]);
        assert!(!s.usable);
        assert_eq!(
            s.unsupported,
            vec![faithful::Span {
                text: "25".into(),
                kind: faithful::SpanKind::Amount
            }]
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("\"25\" not in the article")),
            "{warnings:?}"
        );
        // The same words from an article that gives the amount (in a sentence the generator
        // did not read) pass.
        let ab = Abstractive::new(generator(script, 4096), settings(Mode::Hybrid, 1000));
        let body = &["x x x.", "y y y.", "Chi 25 tỷ đồng."];
        let (s, _) = ab.summarise("", body, &|_| vec![0]);
        let s = s.expect("a summary");
        assert!(s.usable && s.unsupported.is_empty(), "{s:?}");
    }

    fn summary(usable: bool) -> AbstractSummary {
        AbstractSummary {
            text: "Chính phủ ban hành 25 tỷ đồng.".into(),
            mode: "hybrid".into(),
            input_sentences: 2,
            article_sentences: 4,
            flags: if usable {
                vec![]
            } else {
                vec![Flag::Unsupported]
            },
            usable,
            model: "scripted".into(),
            prompt_tokens: 1,
            new_tokens: 1,
            stop: StopReason::EndOfText,
            tokens_per_sec: 1.0,
            unsupported: if usable {
                vec![]
            } else {
                vec![faithful::Span {
                    text: "25".into(),
                    kind: faithful::SpanKind::Amount,
                }]
            },
            shown: Shown::Extract,
            gate_reason: String::new(),
            coverage: None,
        }
    }

    #[test]
    fn the_gate_shows_a_generated_summary_only_when_it_passes_and_covers() {
        let cov = |generated, extract| Ok(Coverage { generated, extract });
        let mut s = summary(true);
        gate(&mut s, cov(0.80, 0.80), 0.0);
        assert_eq!(s.shown, Shown::Generated, "{}", s.gate_reason);
        assert!(
            s.gate_reason.contains("passed the checks"),
            "{}",
            s.gate_reason
        );
        let mut s = summary(true);
        gate(&mut s, cov(0.79, 0.80), 0.0);
        assert_eq!(s.shown, Shown::Extract);
        assert!(
            s.gate_reason.contains("less well than the extract"),
            "{}",
            s.gate_reason
        );
        // Flagged: the extract, whatever the coverage, and the spans are named.
        let mut s = summary(false);
        gate(&mut s, cov(0.99, 0.10), 0.0);
        assert_eq!(s.shown, Shown::Extract);
        assert_eq!(
            s.gate_reason,
            "flagged: facts not in the article: amount \"25\""
        );
        // The margin is the generator's: +0.03 keeps out a summary only 0.02 closer, -1
        // lets through one that passed the checks whatever its coverage.
        let mut s = summary(true);
        gate(&mut s, cov(0.82, 0.80), 0.03);
        assert_eq!(s.shown, Shown::Extract, "{}", s.gate_reason);
        assert!(s.gate_reason.contains("margin +0.030"), "{}", s.gate_reason);
        let mut s = summary(true);
        gate(&mut s, cov(0.84, 0.80), 0.03);
        assert_eq!(s.shown, Shown::Generated, "{}", s.gate_reason);
        let mut s = summary(true);
        gate(&mut s, cov(0.30, 0.80), -1.0);
        assert_eq!(s.shown, Shown::Generated, "{}", s.gate_reason);
        let mut s = summary(false);
        gate(&mut s, cov(0.99, 0.10), -1.0);
        assert_eq!(
            s.shown,
            Shown::Extract,
            "flags close the gate whatever the margin"
        );
        let mut s = summary(true);
        gate(&mut s, Err("encoder failed".into()), 0.0);
        assert_eq!(s.shown, Shown::Extract);
        assert!(s.gate_reason.contains("encoder failed"));
        // Serialised under `abstractive` with its decision.
        let v = serde_json::to_value(summary(false)).unwrap();
        assert_eq!(v["unsupported"][0]["kind"], "amount");
        assert_eq!(v["shown"], "extract");
        assert_eq!(v["flags"][0], "unsupported");
    }
}
