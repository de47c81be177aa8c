//! `bantin eval`: runs the pipeline on hand-labelled articles and scores it, next to baselines
//! (Lead-N and lexical TextRank summaries, a TF-IDF prototype classifier) and, with `--train`,
//! a few-shot head fitted on another labelled file. Metrics follow taxonomy/README.md.

use super::metrics::{self, Interval};
use super::rouge::{self, Rouge};
use super::svg;
use crate::args::{Outcome, PipelineArgs};
use crate::corpus::{self, Article};
use crate::progress::Progress;
use crate::summarize;
use anyhow::Context;
use clap::Args;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Labelled articles: JSON Lines with id, text, primary, themes, summary (title and date
    /// optional); or labels only (id, primary, themes, summary) with --corpus for the texts.
    #[arg(long, default_value = "eval/test.jsonl")]
    pub labels: PathBuf,
    /// Article texts for a labels-only file: a directory or a .jsonl, joined by id.
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    /// Also fit a few-shot head on this labelled file (never the one being scored) and report
    /// it next to zero-shot.
    #[arg(long)]
    pub train: Option<PathBuf>,
    /// Report directory: report.md, report.json, per-theme F1 and confusion-matrix SVGs.
    #[arg(long, short = 'o', default_value = "out/eval")]
    pub out: PathBuf,
    /// Bootstrap resamples for the 95% confidence intervals.
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
    /// Also write, per labelled article, its gold labels, the classifier's evidence per theme
    /// and every sentence's summariser evidence (JSON Lines), for fitting heads and scorers
    /// (eval/fit_*.py).
    #[arg(long, value_name = "FILE")]
    pub dump: Option<PathBuf>,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

#[derive(Debug, Clone)]
pub struct Item {
    pub article: Article,
    pub primary: String,
    pub themes: Vec<String>,
    pub summary: String,
}

#[derive(serde::Deserialize)]
struct LabelLine {
    id: Option<serde_json::Value>,
    text: Option<String>,
    title: Option<String>,
    date: Option<String>,
    primary: Option<String>,
    #[serde(default)]
    themes: Vec<String>,
    #[serde(default)]
    summary: String,
}

/// Reads labels; problems are reported per line and the line is skipped (unless nothing
/// usable remains).
pub fn load_labels(path: &Path, corpus_path: Option<&Path>) -> anyhow::Result<Vec<Item>> {
    let (items, errors) = load_labels_checked(path, corpus_path, None)?;
    for e in &errors {
        eprintln!("warning: {e}");
    }
    Ok(items)
}

pub fn load_labels_checked(
    path: &Path,
    corpus_path: Option<&Path>,
    taxonomy: Option<&crate::taxonomy::Taxonomy>,
) -> anyhow::Result<(Vec<Item>, Vec<String>)> {
    use unicode_normalization::UnicodeNormalization;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading labels {}", path.display()))?;
    let texts: HashMap<String, Article> = match corpus_path {
        Some(c) => corpus::read(c)?
            .articles
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect(),
        None => HashMap::new(),
    };
    let mut items = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let at = format!("{}:{}", path.display(), n + 1);
        if line.trim().is_empty() {
            continue;
        }
        let l: LabelLine = match serde_json::from_str(line) {
            Ok(l) => l,
            Err(e) => {
                errors.push(format!("{at}: malformed JSON: {e}"));
                continue;
            }
        };
        let id = match l.id {
            Some(serde_json::Value::String(s)) if !s.is_empty() => s,
            Some(serde_json::Value::Number(x)) => x.to_string(),
            _ => {
                errors.push(format!("{at}: missing id"));
                continue;
            }
        };
        if !seen.insert(id.clone()) {
            errors.push(format!("{at}: duplicate id {id:?}; skipped"));
            continue;
        }
        let Some(primary) = l.primary else {
            errors.push(format!("{at}: {id}: missing \"primary\""));
            continue;
        };
        let mut themes = l.themes;
        if !themes.contains(&primary) {
            themes.insert(0, primary.clone());
        }
        if let Some(tax) = taxonomy {
            let unknown: Vec<&String> = themes.iter().filter(|t| tax.index(t).is_none()).collect();
            if !unknown.is_empty() {
                errors.push(format!(
                    "{at}: {id}: unknown theme id(s) {unknown:?} (the taxonomy has {:?}); skipped",
                    tax.ids()
                ));
                continue;
            }
        }
        let article = match (l.text, texts.get(&id)) {
            (Some(t), _) if !t.trim().is_empty() => Article {
                id: id.clone(),
                title: l
                    .title
                    .filter(|t| !t.trim().is_empty())
                    .map(|t| t.nfc().collect()),
                date: l.date,
                url: None,
                source: None,
                text: t.nfc().collect(),
                origin: at.clone(),
            },
            (_, Some(a)) => a.clone(),
            _ => {
                errors.push(format!(
                    "{at}: {id}: no text (neither a \"text\" key nor an article with this id in --corpus)"
                ));
                continue;
            }
        };
        items.push(Item {
            article,
            primary,
            themes,
            summary: l.summary.nfc().collect(),
        });
    }
    if items.is_empty() {
        anyhow::bail!(
            "{}: no usable labelled articles ({} problems)",
            path.display(),
            errors.len()
        );
    }
    Ok((items, errors))
}

#[derive(Debug, Clone, Serialize)]
pub struct ClassifierReport {
    pub name: String,
    pub primary_accuracy: Interval,
    pub micro_f1: Interval,
    pub macro_f1: Interval,
    pub per_theme: Vec<metrics::ThemeScore>,
    pub confusion: Vec<Vec<usize>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SummaryReport {
    pub name: String,
    pub rouge1: Interval,
    pub rouge2: Interval,
    pub rougel: Interval,
}

#[derive(Debug, Clone, Serialize)]
pub struct Timings {
    pub model_load_s: f64,
    pub prototypes_s: f64,
    pub analysis_s: f64,
    pub embedding_s: f64,
    pub classify_and_summarise_s: f64,
    pub articles_per_s: f64,
    pub sentences: usize,
    pub tokens: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub labels: String,
    pub articles: usize,
    pub skipped: Vec<String>,
    pub model: crate::hub::Provenance,
    pub taxonomy: String,
    pub themes: Vec<String>,
    pub classifiers: Vec<ClassifierReport>,
    pub summarisers: Vec<SummaryReport>,
    pub timings: Timings,
    pub verdicts: Vec<String>,
    /// Paired bootstrap intervals of bantin's first classifier row minus each other row.
    pub classifier_differences: Vec<ClassDiffReport>,
    /// Paired bootstrap intervals of bantin's extract minus each baseline summariser.
    pub summary_differences: Vec<DiffReport>,
    /// Faithfulness and the gate, with `--summarizer abstractive|hybrid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated: Option<GeneratedReport>,
}

/// Unsupported spans of one kind over all generated summaries.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KindRate {
    pub kind: String,
    /// Distinct spans of this kind in the generated summaries.
    pub spans: usize,
    pub unsupported: usize,
    pub rate: f64,
}

/// Paired bootstrap interval of a ROUGE difference (first system minus second).
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    pub name: String,
    pub rouge1: Interval,
    pub rouge2: Interval,
    pub rougel: Interval,
}

/// A classifier minus another on the same articles (paired bootstrap, 95%).
#[derive(Debug, Clone, Serialize)]
pub struct ClassDiffReport {
    pub name: String,
    pub primary_accuracy: Interval,
    pub micro_f1: Interval,
    pub macro_f1: Interval,
}

fn rouge_diff(name: &str, a: &[Rouge], b: &[Rouge], iters: usize, seed: u64) -> DiffReport {
    let col = |v: &[Rouge], f: fn(&Rouge) -> f64| v.iter().map(f).collect::<Vec<f64>>();
    DiffReport {
        name: name.to_string(),
        rouge1: metrics::paired_bootstrap(&col(a, |r| r.r1), &col(b, |r| r.r1), iters, seed),
        rouge2: metrics::paired_bootstrap(&col(a, |r| r.r2), &col(b, |r| r.r2), iters, seed + 1),
        rougel: metrics::paired_bootstrap(&col(a, |r| r.rl), &col(b, |r| r.rl), iters, seed + 2),
    }
}

/// Predictions of one classifier: primary and theme set per article.
type Predictions = (Vec<String>, Vec<Vec<String>>);

fn class_diff(
    name: &str,
    items: &[&Item],
    a: &Predictions,
    b: &Predictions,
    themes: &[String],
    iters: usize,
    seed: u64,
) -> ClassDiffReport {
    let gold_p: Vec<String> = items.iter().map(|i| i.primary.clone()).collect();
    let gold_s: Vec<Vec<String>> = items.iter().map(|i| i.themes.clone()).collect();
    let pick = |v: &[String], idx: &[usize]| idx.iter().map(|&i| v[i].clone()).collect::<Vec<_>>();
    let picks =
        |v: &[Vec<String>], idx: &[usize]| idx.iter().map(|&i| v[i].clone()).collect::<Vec<_>>();
    // Both systems on the same resample of articles: the difference of the statistic.
    let stat = |f: &dyn Fn(&[usize], &Predictions) -> f64, seed| {
        metrics::bootstrap(gold_p.len(), |idx| f(idx, a) - f(idx, b), iters, seed)
    };
    let acc =
        |idx: &[usize], p: &Predictions| metrics::accuracy(&pick(&gold_p, idx), &pick(&p.0, idx));
    let micro = |idx: &[usize], p: &Predictions| {
        metrics::set_metrics(&picks(&gold_s, idx), &picks(&p.1, idx), themes).micro_f1
    };
    let macro_ = |idx: &[usize], p: &Predictions| {
        metrics::set_metrics(&picks(&gold_s, idx), &picks(&p.1, idx), themes).macro_f1
    };
    ClassDiffReport {
        name: name.to_string(),
        primary_accuracy: stat(&acc, seed),
        micro_f1: stat(&micro, seed + 1),
        macro_f1: stat(&macro_, seed + 2),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GeneratedReport {
    /// Articles with a generated summary (generation did not fail).
    pub summaries: usize,
    /// Summaries with at least one unsupported span, and their share.
    pub with_unsupported: usize,
    pub unsupported_rate: f64,
    pub per_kind: Vec<KindRate>,
    /// Generated summaries the gate let through (shown instead of the extract).
    pub shown_generated: usize,
    pub shown_with_unsupported: usize,
    /// What the previous rule (empty, not Vietnamese, looping, cut) would have shown.
    pub previous_rule_shown: usize,
    pub previous_rule_with_unsupported: usize,
    /// Why the extract was shown instead, by reason.
    pub gate_reasons: std::collections::BTreeMap<String, usize>,
    pub differences: Vec<DiffReport>,
}

/// One article's summaries, for `summaries.jsonl` (the gate's rule is chosen from these).
#[derive(Debug, Clone, Serialize)]
pub struct SummaryLine {
    pub id: String,
    pub reference: String,
    pub extract: String,
    pub generated: Option<String>,
    pub flags: Vec<crate::generate::check::Flag>,
    pub unsupported: Vec<crate::generate::faithful::Span>,
    pub coverage: Option<crate::abstractive::Coverage>,
    pub shown: crate::abstractive::Shown,
    pub gate_reason: String,
    pub rouge_extract: Rouge,
    pub rouge_generated: Rouge,
    pub rouge_shown: Rouge,
}

struct GeneratedRows {
    generated: Vec<Rouge>,
    shown: Vec<Rouge>,
    previous: Vec<Rouge>,
    report: GeneratedReport,
    lines: Vec<SummaryLine>,
}

/// Scores of the generated, the gated and the previously shown summaries, the faithfulness
/// counts and the paired differences against the extract (`extract` = its ROUGE per article).
fn generated_rows(
    analyses: &[crate::pipeline::Analysis],
    scored: &[&Item],
    extract: &[Rouge],
    iters: usize,
) -> GeneratedRows {
    use crate::abstractive::Shown;
    use crate::generate::check::Flag;
    use crate::generate::faithful;
    let mut generated = Vec::new();
    let mut shown = Vec::new();
    let mut previous = Vec::new();
    let mut lines = Vec::new();
    let mut summaries = 0;
    let mut with_unsupported = 0;
    let mut shown_generated = 0;
    let mut shown_with_unsupported = 0;
    let mut previous_rule_shown = 0;
    let mut previous_rule_with_unsupported = 0;
    let mut kinds: std::collections::BTreeMap<faithful::SpanKind, (usize, usize)> =
        faithful::SpanKind::ALL
            .iter()
            .map(|k| (*k, (0, 0)))
            .collect();
    let mut gate_reasons = std::collections::BTreeMap::new();
    // Every generated text is scored, flagged or not: the flags do not hide bad output.
    for ((a, it), ex) in analyses.iter().zip(scored).zip(extract) {
        let r = &a.result;
        let g = r.abstractive.as_ref();
        let gen_rouge = rouge::rouge(g.map(|g| g.text.as_str()).unwrap_or(""), &it.summary);
        let shown_rouge = rouge::rouge(r.best_summary(), &it.summary);
        generated.push(gen_rouge);
        shown.push(shown_rouge);
        let Some(g) = g else {
            previous.push(*ex);
            *gate_reasons
                .entry("no generated summary".to_string())
                .or_default() += 1;
            continue;
        };
        summaries += 1;
        let mut seen = Vec::new();
        for sp in faithful::spans(&g.text) {
            if seen.contains(&sp) {
                continue;
            }
            let e = kinds.entry(sp.kind).or_default();
            e.0 += 1;
            e.1 += g.unsupported.contains(&sp) as usize;
            seen.push(sp);
        }
        let unsupported = !g.unsupported.is_empty();
        with_unsupported += unsupported as usize;
        let is_shown = g.shown == Shown::Generated;
        shown_generated += is_shown as usize;
        shown_with_unsupported += (is_shown && unsupported) as usize;
        let previous_ok = g.flags.iter().all(|f| *f == Flag::Unsupported);
        previous_rule_shown += previous_ok as usize;
        previous_rule_with_unsupported += (previous_ok && unsupported) as usize;
        previous.push(if previous_ok { gen_rouge } else { *ex });
        if is_shown {
            *gate_reasons.entry("shown".to_string()).or_default() += 1;
        } else if !g.usable {
            for f in &g.flags {
                *gate_reasons
                    .entry(format!("flagged: {}", f.describe()))
                    .or_default() += 1;
            }
        } else if g.coverage.is_some() {
            *gate_reasons
                .entry("covers the article less well than the extract".to_string())
                .or_default() += 1;
        } else {
            *gate_reasons
                .entry("coverage not measured".to_string())
                .or_default() += 1;
        }
        lines.push(SummaryLine {
            id: r.id.clone(),
            reference: it.summary.clone(),
            extract: r.summary.clone(),
            generated: Some(g.text.clone()),
            flags: g.flags.clone(),
            unsupported: g.unsupported.clone(),
            coverage: g.coverage,
            shown: g.shown,
            gate_reason: g.gate_reason.clone(),
            rouge_extract: *ex,
            rouge_generated: gen_rouge,
            rouge_shown: shown_rouge,
        });
    }
    let diff = |name: &str, a: &[Rouge], b: &[Rouge], seed: u64| {
        let col = |v: &[Rouge], f: fn(&Rouge) -> f64| v.iter().map(f).collect::<Vec<f64>>();
        DiffReport {
            name: name.to_string(),
            rouge1: metrics::paired_bootstrap(&col(a, |r| r.r1), &col(b, |r| r.r1), iters, seed),
            rouge2: metrics::paired_bootstrap(
                &col(a, |r| r.r2),
                &col(b, |r| r.r2),
                iters,
                seed + 1,
            ),
            rougel: metrics::paired_bootstrap(
                &col(a, |r| r.rl),
                &col(b, |r| r.rl),
                iters,
                seed + 2,
            ),
        }
    };
    let differences = vec![
        diff("as shown − extract", &shown, extract, 21),
        diff("generated − extract", &generated, extract, 24),
        diff(
            "as shown − as shown by the previous rule",
            &shown,
            &previous,
            27,
        ),
    ];
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let report = GeneratedReport {
        summaries,
        with_unsupported,
        unsupported_rate: ratio(with_unsupported, summaries),
        per_kind: kinds
            .into_iter()
            .map(|(k, (n, u))| KindRate {
                kind: k.as_str().to_string(),
                spans: n,
                unsupported: u,
                rate: ratio(u, n),
            })
            .collect(),
        shown_generated,
        shown_with_unsupported,
        previous_rule_shown,
        previous_rule_with_unsupported,
        gate_reasons,
        differences,
    };
    GeneratedRows {
        generated,
        shown,
        previous,
        report,
        lines,
    }
}

fn classifier_report(
    name: &str,
    items: &[&Item],
    pred_primary: &[String],
    pred_sets: &[Vec<String>],
    themes: &[String],
    iters: usize,
) -> ClassifierReport {
    let gold_p: Vec<String> = items.iter().map(|i| i.primary.clone()).collect();
    let gold_s: Vec<Vec<String>> = items.iter().map(|i| i.themes.clone()).collect();
    let pick = |v: &[String], idx: &[usize]| idx.iter().map(|&i| v[i].clone()).collect::<Vec<_>>();
    let picks =
        |v: &[Vec<String>], idx: &[usize]| idx.iter().map(|&i| v[i].clone()).collect::<Vec<_>>();
    let n = items.len();
    let acc = metrics::bootstrap(
        n,
        |idx| metrics::accuracy(&pick(&gold_p, idx), &pick(pred_primary, idx)),
        iters,
        1,
    );
    let micro = metrics::bootstrap(
        n,
        |idx| metrics::set_metrics(&picks(&gold_s, idx), &picks(pred_sets, idx), themes).micro_f1,
        iters,
        2,
    );
    let macro_ = metrics::bootstrap(
        n,
        |idx| metrics::set_metrics(&picks(&gold_s, idx), &picks(pred_sets, idx), themes).macro_f1,
        iters,
        3,
    );
    let full = metrics::set_metrics(&gold_s, pred_sets, themes);
    ClassifierReport {
        name: name.to_string(),
        primary_accuracy: acc,
        micro_f1: micro,
        macro_f1: macro_,
        per_theme: full.per_theme,
        confusion: metrics::confusion(&gold_p, pred_primary, themes),
    }
}

fn summary_report(name: &str, scores: &[Rouge], iters: usize) -> SummaryReport {
    let n = scores.len();
    let stat = |f: fn(&Rouge) -> f64, seed| {
        metrics::bootstrap(
            n,
            |idx| idx.iter().map(|&i| f(&scores[i])).sum::<f64>() / idx.len().max(1) as f64,
            iters,
            seed,
        )
    };
    SummaryReport {
        name: name.to_string(),
        rouge1: stat(|r| r.r1, 11),
        rouge2: stat(|r| r.r2, 12),
        rougel: stat(|r| r.rl, 13),
    }
}

/// The numbers `bench` puts in its comparison table.
#[derive(Debug, Clone, Serialize)]
pub struct Headline {
    pub primary_accuracy: f64,
    pub micro_f1: f64,
    pub rouge1: f64,
    pub rouge2: f64,
}

impl Headline {
    pub fn of(r: &Report) -> Headline {
        Headline {
            primary_accuracy: r.classifiers[0].primary_accuracy.value,
            micro_f1: r.classifiers[0].micro_f1.value,
            rouge1: r.summarisers[0].rouge1.value,
            rouge2: r.summarisers[0].rouge2.value,
        }
    }
}

pub fn run(args: EvalArgs, progress: &Progress) -> anyhow::Result<Outcome> {
    let report = evaluate(&args, progress)?;
    print!("{}", headline(&report));
    progress.info(&format!("report: {}", args.out.join("report.md").display()));
    Ok(if report.skipped.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Partial
    })
}

/// Runs the evaluation and writes the report files; returns the report.
pub fn evaluate(args: &EvalArgs, progress: &Progress) -> anyhow::Result<Report> {
    let taxonomy = crate::taxonomy::Taxonomy::load(args.pipeline.themes.as_deref())?;
    let (items, skipped) =
        load_labels_checked(&args.labels, args.corpus.as_deref(), Some(&taxonomy))?;
    for s in &skipped {
        progress.warn(s);
    }
    let engine = args.pipeline.engine_builder(progress).try_build()?;
    // The encoder's own load; the rest of the build is calibrating the theme prototypes
    // (and loading a generator, when one is asked for).
    let model_load_s = engine.embedder().load_time.as_secs_f64();
    let prototypes_s = (engine.load_time().as_secs_f64() - model_load_s).max(0.0);
    let few_shot = engine.classifier_name().starts_with("few-shot");
    let main_name = match &args.pipeline.head {
        Some(p) if few_shot => format!("bantin few-shot ({})", p.display()),
        None if few_shot => "bantin default (shipped few-shot head)".to_string(),
        _ => "bantin zero-shot".to_string(),
    };
    let taxonomy = engine.taxonomy();
    let articles: Vec<Article> = items.iter().map(|i| i.article.clone()).collect();
    let before = engine.embedder().stats();
    let t1 = std::time::Instant::now();
    let run = engine.analyze_batch(&articles)?;
    let (analyses, errors) = (run.analyses, run.errors);
    let analysis_s = t1.elapsed().as_secs_f64();
    let after = engine.embedder().stats();
    let embedding_s = (after.forward_time + after.tokenize_time).as_secs_f64()
        - (before.forward_time + before.tokenize_time).as_secs_f64();

    let by_id: HashMap<&str, &Item> = items.iter().map(|i| (i.article.id.as_str(), i)).collect();
    let scored: Vec<&Item> = analyses
        .iter()
        .map(|a| by_id[a.result.id.as_str()])
        .collect();
    let themes = taxonomy.ids();
    let iters = args.bootstrap;
    if let Some(path) = &args.dump {
        let mut text = String::new();
        for (a, it) in analyses.iter().zip(&scored) {
            let line = serde_json::json!({
                "id": it.article.id,
                "title": it.article.title,
                "primary": it.primary,
                "themes": it.themes,
                "summary": it.summary,
                "predicted": a.result.primary,
                "predicted_themes": a.result.themes.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
                "features": a.features,
                "centroid": a.centroid,
                "sentences": a.candidates,
            });
            text.push_str(&serde_json::to_string(&line)?);
            text.push('\n');
        }
        crate::output::write_atomic(path, text.as_bytes())?;
    }

    let mut classifiers = Vec::new();
    let pred_p: Vec<String> = analyses.iter().map(|a| a.result.primary.clone()).collect();
    let pred_s: Vec<Vec<String>> = analyses
        .iter()
        .map(|a| a.result.themes.iter().map(|t| t.id.clone()).collect())
        .collect();
    classifiers.push(classifier_report(
        &main_name, &scored, &pred_p, &pred_s, &themes, iters,
    ));
    let mut predictions: Vec<Predictions> = vec![(pred_p.clone(), pred_s.clone())];
    if few_shot {
        // The same evidence through the zero-shot rule: what the head adds, on the same run.
        let zs = crate::classify::Classifier::ZeroShot(crate::classify::ZeroShot {
            min_share: args.pipeline.min_share,
            ..Default::default()
        });
        let cls: Vec<_> = analyses
            .iter()
            .map(|a| zs.classify(&a.features, taxonomy))
            .collect();
        let p: Vec<String> = cls.iter().map(|c| c.primary.clone()).collect();
        let s: Vec<Vec<String>> = cls
            .iter()
            .map(|c| c.themes.iter().map(|t| t.id.clone()).collect())
            .collect();
        classifiers.push(classifier_report(
            "bantin zero-shot (same run, no head)",
            &scored,
            &p,
            &s,
            &themes,
            iters,
        ));
        predictions.push((p, s));
    }

    if let Some(train_path) = &args.train {
        if std::fs::canonicalize(train_path).ok() == std::fs::canonicalize(&args.labels).ok() {
            anyhow::bail!(
                "--train must not be the file being scored ({})",
                train_path.display()
            );
        }
        let (train_items, _) = load_labels_checked(train_path, None, Some(taxonomy))?;
        let train_articles: Vec<Article> = train_items.iter().map(|i| i.article.clone()).collect();
        let train_an = engine.analyze_batch(&train_articles)?.analyses;
        let labels: HashMap<&str, (&str, &[String])> = train_items
            .iter()
            .map(|i| {
                (
                    i.article.id.as_str(),
                    (i.primary.as_str(), i.themes.as_slice()),
                )
            })
            .collect();
        let Some((head, used)) = engine.train_head(
            "eval-few-shot",
            &train_an,
            &labels,
            crate::classify::PrimaryRule::default(),
        ) else {
            anyhow::bail!("{}: no usable labelled articles", train_path.display());
        };
        let fs = crate::classify::Classifier::FewShot(head);
        let cls: Vec<_> = analyses
            .iter()
            .map(|a| fs.classify(&a.features, taxonomy))
            .collect();
        let p: Vec<String> = cls.iter().map(|c| c.primary.clone()).collect();
        let s: Vec<Vec<String>> = cls
            .iter()
            .map(|c| c.themes.iter().map(|t| t.id.clone()).collect())
            .collect();
        let name = format!(
            "bantin few-shot (trained on {}, {} articles)",
            train_path.display(),
            used
        );
        classifiers.push(classifier_report(&name, &scored, &p, &s, &themes, iters));
        predictions.push((p, s));
    }

    // Lexical baselines on the same cleaned sentences.
    let cleaned: Vec<Vec<String>> = scored
        .iter()
        .map(|it| {
            let c = corpus::clean::clean(&it.article.text);
            corpus::segment::sentences(&c.text)
                .into_iter()
                .map(|s| s.text)
                .collect()
        })
        .collect();
    let docs: Vec<String> = cleaned.iter().map(|s| s.join(" ")).collect();
    let theme_texts: Vec<(String, String)> = taxonomy
        .themes
        .iter()
        .map(|t| {
            (
                t.id.clone(),
                format!("{} {} {}", t.name, t.description, t.examples.join(" ")),
            )
        })
        .collect();
    let mut fit_docs: Vec<&str> = docs.iter().map(String::as_str).collect();
    fit_docs.extend(theme_texts.iter().map(|(_, t)| t.as_str()));
    let tfidf = crate::lexical::TfIdf::fit(&fit_docs);
    let lex: Vec<Vec<(String, f32)>> = docs
        .iter()
        .map(|d| crate::lexical::classify(&tfidf, d, &theme_texts))
        .collect();
    let lex_p: Vec<String> = lex.iter().map(|r| r[0].0.clone()).collect();
    let lex_s: Vec<Vec<String>> = lex
        .iter()
        .map(|r| {
            let top = r[0].1;
            r.iter()
                .take(4)
                .filter(|(_, s)| *s >= 0.75 * top && *s > 0.0)
                .map(|(id, _)| id.clone())
                .collect()
        })
        .collect();
    classifiers.push(classifier_report(
        "lexical TF-IDF prototypes (no neural model)",
        &scored,
        &lex_p,
        &lex_s,
        &themes,
        iters,
    ));
    predictions.push((lex_p, lex_s));
    let short = |name: &str| name.split(" (").next().unwrap_or(name).to_string();
    let classifier_differences: Vec<ClassDiffReport> = (1..classifiers.len())
        .map(|k| {
            class_diff(
                &format!("{} − {}", short(&classifiers[0].name), classifiers[k].name),
                &scored,
                &predictions[0],
                &predictions[k],
                &themes,
                iters,
                40 + 3 * k as u64,
            )
        })
        .collect();

    // Summaries.
    let n_sent = match args.pipeline.words {
        Some(_) => 2,
        None => args.pipeline.sentences.max(1),
    };
    let ours: Vec<Rouge> = analyses
        .iter()
        .zip(&scored)
        .map(|(a, it)| rouge::rouge(&a.result.summary, &it.summary))
        .collect();
    let eligible = |sents: &[String], title: Option<&str>| -> Vec<String> {
        let e: Vec<String> = sents
            .iter()
            .filter(|s| {
                summarize::words(s) >= 8
                    && !summarize::is_fragment(s)
                    && Some(s.trim()) != title.map(str::trim)
            })
            .cloned()
            .collect();
        if e.is_empty() {
            sents.to_vec()
        } else {
            e
        }
    };
    let mut lead = Vec::new();
    let mut textrank = Vec::new();
    let mut oracle = Vec::new();
    for (sents, it) in cleaned.iter().zip(&scored) {
        let el = eligible(sents, it.article.title.as_deref());
        let refs: Vec<&str> = el.iter().map(String::as_str).collect();
        let l: Vec<&str> = crate::lexical::lead(&refs, n_sent)
            .into_iter()
            .map(|i| refs[i])
            .collect();
        lead.push(rouge::rouge(&l.join(" "), &it.summary));
        let t: Vec<&str> = crate::lexical::textrank(&tfidf, &refs, n_sent)
            .into_iter()
            .map(|i| refs[i])
            .collect();
        textrank.push(rouge::rouge(&t.join(" "), &it.summary));
        oracle.push(oracle_summary(&refs, n_sent, &it.summary));
    }
    let summ_name = match args.pipeline.words {
        Some(w) => format!("bantin extractive ({w} words)"),
        None => format!("bantin extractive ({n_sent} sentences)"),
    };
    let mut summarisers = vec![summary_report(&summ_name, &ours, iters)];
    let generated_report = match engine.abstractive() {
        Some(ab) => {
            let t = ab.totals();
            progress.info(&t.describe());
            let g = generated_rows(&analyses, &scored, &ours, iters);
            summarisers.push(summary_report(
                &format!(
                    "bantin {} ({}; {} of {} passed the checks; {:.1} tok/s)",
                    ab.settings.mode.as_str(),
                    ab.model(),
                    t.usable,
                    t.articles,
                    t.new_tokens as f64 / t.generate_secs.max(1e-9)
                ),
                &g.generated,
                iters,
            ));
            summarisers.push(summary_report(
                &format!(
                    "bantin as shown ({} generated that passed the gate, else extract)",
                    g.report.shown_generated
                ),
                &g.shown,
                iters,
            ));
            summarisers.push(summary_report(
                &format!(
                    "bantin as shown by the previous rule ({} generated that passed the empty/language/loop/cut checks, else extract)",
                    g.report.previous_rule_shown
                ),
                &g.previous,
                iters,
            ));
            Some((g.report, g.lines))
        }
        None => None,
    };
    summarisers.extend([
        summary_report(&format!("Lead-{n_sent}"), &lead, iters),
        summary_report(&format!("lexical TextRank-{n_sent}"), &textrank, iters),
    ]);
    let summary_differences = vec![
        rouge_diff(
            &format!("{} − Lead-{n_sent}", short(&summ_name)),
            &ours,
            &lead,
            iters,
            61,
        ),
        rouge_diff(
            &format!("{} − TextRank-{n_sent}", short(&summ_name)),
            &ours,
            &textrank,
            iters,
            64,
        ),
        rouge_diff(
            &format!("{} − oracle-{n_sent}", short(&summ_name)),
            &ours,
            &oracle,
            iters,
            67,
        ),
    ];

    let stats = engine.embedder().stats();
    let timings = Timings {
        model_load_s,
        prototypes_s,
        analysis_s,
        embedding_s,
        classify_and_summarise_s: (analysis_s - embedding_s).max(0.0),
        articles_per_s: analyses.len() as f64 / analysis_s.max(1e-9),
        sentences: analyses.iter().map(|a| a.result.sentences).sum(),
        tokens: stats.tokens,
    };
    let mut verdicts = Vec::new();
    let (m, l) = (&classifiers[0], classifiers.last().expect("lexical row"));
    verdicts.push(format!(
        "{} the lexical baseline on primary accuracy ({:.3} vs {:.3}) and {} on theme micro-F1 ({:.3} vs {:.3}).",
        if m.primary_accuracy.value > l.primary_accuracy.value { "Beats" } else { "Does NOT beat" },
        m.primary_accuracy.value,
        l.primary_accuracy.value,
        if m.micro_f1.value > l.micro_f1.value { "beats it" } else { "does NOT beat it" },
        m.micro_f1.value,
        l.micro_f1.value
    ));
    // The baselines are the last two rows; every bantin row before them is judged against both.
    let n = summarisers.len();
    let (ours_rows, baselines) = summarisers.split_at(n - 2);
    for s in ours_rows {
        let short = s.name.split(" (").next().unwrap_or(&s.name);
        for (base, label) in [(&baselines[0], "Lead"), (&baselines[1], "TextRank")] {
            let both = s.rouge1.value > base.rouge1.value && s.rouge2.value > base.rouge2.value;
            verdicts.push(format!(
                "{short} summaries {} {label} on ROUGE-1 and ROUGE-2 ({:.1}/{:.1} vs {:.1}/{:.1}).",
                if both { "beat" } else { "do NOT beat" },
                s.rouge1.value,
                s.rouge2.value,
                base.rouge1.value,
                base.rouge2.value
            ));
        }
    }
    summarisers.push(summary_report(
        &format!("oracle-{n_sent} (best {n_sent} sentences for the reference: the ceiling)"),
        &oracle,
        iters,
    ));
    let mut skipped_all = skipped.clone();
    skipped_all.extend(
        errors
            .iter()
            .map(|e| format!("{}: {}", e.origin, e.message)),
    );
    let report = Report {
        labels: args.labels.display().to_string(),
        articles: analyses.len(),
        skipped: skipped_all,
        model: engine.provenance().clone(),
        taxonomy: format!("{} v{}", taxonomy.name, taxonomy.version),
        themes: themes.clone(),
        classifiers,
        summarisers,
        timings,
        verdicts,
        classifier_differences,
        summary_differences,
        generated: generated_report.as_ref().map(|(r, _)| r.clone()),
    };
    write_report(&report, &args.out)?;
    if let Some((_, lines)) = &generated_report {
        let mut text = String::new();
        for l in lines {
            text.push_str(&serde_json::to_string(l)?);
            text.push('\n');
        }
        crate::output::write_atomic(&args.out.join("summaries.jsonl"), text.as_bytes())?;
    }
    Ok(report)
}

/// The `k` sentences (in article order) with the best ROUGE-1 + ROUGE-2 against the
/// reference, by exhaustive search over pairs (single sentences for `k` = 1; greedy beyond 2).
fn oracle_summary(sents: &[&str], k: usize, reference: &str) -> Rouge {
    let score = |idx: &[usize]| {
        let mut idx = idx.to_vec();
        idx.sort_unstable();
        let text: Vec<&str> = idx.iter().map(|&i| sents[i]).collect();
        rouge::rouge(&text.join(" "), reference)
    };
    let value = |r: &Rouge| r.r1 + r.r2;
    let mut best: Vec<usize> = Vec::new();
    let mut best_r = score(&[]);
    if k >= 2 && sents.len() >= 2 {
        for i in 0..sents.len() {
            for j in i + 1..sents.len() {
                let r = score(&[i, j]);
                if value(&r) > value(&best_r) {
                    best_r = r;
                    best = vec![i, j];
                }
            }
        }
    }
    while best.len() < k.min(sents.len()) {
        let next = (0..sents.len())
            .filter(|i| !best.contains(i))
            .map(|i| {
                let mut t = best.clone();
                t.push(i);
                (i, score(&t))
            })
            .max_by(|a, b| value(&a.1).total_cmp(&value(&b.1)));
        let Some((i, r)) = next else { break };
        best.push(i);
        best_r = r;
    }
    best_r
}

fn ci(i: &Interval, scale: f64, digits: usize) -> String {
    format!(
        "{:.d$} [{:.d$}, {:.d$}]",
        i.value * scale,
        i.low * scale,
        i.high * scale,
        d = digits
    )
}

pub fn headline(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} articles from {} · model {} ({:?})",
        r.articles, r.labels, r.model.model, r.model.source
    );
    let _ = writeln!(
        s,
        "| classifier | primary accuracy | theme micro-F1 | theme macro-F1 |"
    );
    let _ = writeln!(s, "|---|---|---|---|");
    for c in &r.classifiers {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            c.name,
            ci(&c.primary_accuracy, 1.0, 3),
            ci(&c.micro_f1, 1.0, 3),
            ci(&c.macro_f1, 1.0, 3)
        );
    }
    let _ = writeln!(s, "\n| summariser | ROUGE-1 | ROUGE-2 | ROUGE-L |");
    let _ = writeln!(s, "|---|---|---|---|");
    for m in &r.summarisers {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            m.name,
            ci(&m.rouge1, 1.0, 1),
            ci(&m.rouge2, 1.0, 1),
            ci(&m.rougel, 1.0, 1)
        );
    }
    if !r.classifier_differences.is_empty() || !r.summary_differences.is_empty() {
        let _ = writeln!(
            s,
            "\n| paired difference (95% bootstrap) | primary accuracy | theme micro-F1 | theme macro-F1 |\n|---|---|---|---|"
        );
        for d in &r.classifier_differences {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                d.name,
                ci(&d.primary_accuracy, 1.0, 3),
                ci(&d.micro_f1, 1.0, 3),
                ci(&d.macro_f1, 1.0, 3)
            );
        }
        let _ = writeln!(
            s,
            "\n| paired difference (95% bootstrap) | ROUGE-1 | ROUGE-2 | ROUGE-L |\n|---|---|---|---|"
        );
        for d in &r.summary_differences {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                d.name,
                ci(&d.rouge1, 1.0, 1),
                ci(&d.rouge2, 1.0, 1),
                ci(&d.rougel, 1.0, 1)
            );
        }
    }
    if let Some(g) = &r.generated {
        s.push_str(&generated_section(g));
    }
    let t = &r.timings;
    let _ = writeln!(
        s,
        "\nmodel load {:.1}s · analysis {:.1}s ({:.2} articles/s; embedding {:.1}s, classification + summaries {:.2}s) · {} sentences, {} tokens",
        t.model_load_s, t.analysis_s, t.articles_per_s, t.embedding_s, t.classify_and_summarise_s, t.sentences, t.tokens
    );
    for v in &r.verdicts {
        let _ = writeln!(s, "- {v}");
    }
    s
}

/// Faithfulness, the gate and the paired differences, as Markdown.
pub fn generated_section(g: &GeneratedReport) -> String {
    let mut s = String::new();
    let pct = |x: f64| format!("{:.1}%", 100.0 * x);
    let _ = writeln!(
        s,
        "\nGenerated summaries: {} written; {} ({}) state a number, date, document code or name that the article lacks. The gate showed {} of them ({} of those with unsupported spans); the previous rule would have shown {} ({} with unsupported spans).",
        g.summaries,
        g.with_unsupported,
        pct(g.unsupported_rate),
        g.shown_generated,
        g.shown_with_unsupported,
        g.previous_rule_shown,
        g.previous_rule_with_unsupported
    );
    let _ = writeln!(
        s,
        "\n| span kind | spans | unsupported | rate |\n|---|---|---|---|"
    );
    for k in &g.per_kind {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            k.kind,
            k.spans,
            k.unsupported,
            pct(k.rate)
        );
    }
    let reasons: Vec<String> = g
        .gate_reasons
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let _ = writeln!(s, "\nGate: {}.", reasons.join("; "));
    let _ = writeln!(
        s,
        "\n| paired difference (95% bootstrap) | ROUGE-1 | ROUGE-2 | ROUGE-L |\n|---|---|---|---|"
    );
    for d in &g.differences {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            d.name,
            ci(&d.rouge1, 1.0, 1),
            ci(&d.rouge2, 1.0, 1),
            ci(&d.rougel, 1.0, 1)
        );
    }
    s
}

fn write_report(r: &Report, out: &Path) -> anyhow::Result<()> {
    use crate::output::write_atomic;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut md = String::new();
    let _ = writeln!(md, "# bantin evaluation\n");
    let _ = writeln!(
        md,
        "Labels: `{}` · taxonomy {} · model {} ({:?}, {}) · 95% bootstrap intervals in brackets.\n",
        r.labels, r.taxonomy, r.model.model, r.model.source, r.model.device
    );
    md.push_str(&headline(r));
    let main = &r.classifiers[0];
    let _ = writeln!(md, "\n## Per theme ({})\n", main.name);
    let _ = writeln!(
        md,
        "| theme | precision | recall | F1 | support | predicted |\n|---|---|---|---|---|---|"
    );
    for t in &main.per_theme {
        let _ = writeln!(
            md,
            "| {} | {:.3} | {:.3} | {:.3} | {} | {} |",
            t.id, t.precision, t.recall, t.f1, t.support, t.predicted
        );
    }
    let _ = writeln!(md, "\n![per-theme F1](theme_f1.svg)\n\n## Confusion of primary themes (rows gold, columns predicted)\n");
    let short: Vec<String> = r
        .themes
        .iter()
        .map(|t| t.chars().take(6).collect())
        .collect();
    let _ = writeln!(md, "| gold \\ pred | {} |", short.join(" | "));
    let _ = writeln!(md, "|---|{}", "---|".repeat(short.len()));
    for (t, row) in r.themes.iter().zip(&main.confusion) {
        let _ = writeln!(
            md,
            "| {} | {} |",
            t,
            row.iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    let _ = writeln!(md, "\n![confusion matrix](confusion.svg)\n");
    if !r.skipped.is_empty() {
        let _ = writeln!(md, "## Skipped\n");
        for s in &r.skipped {
            let _ = writeln!(md, "- {s}");
        }
    }
    write_atomic(&out.join("report.md"), md.as_bytes())?;
    write_atomic(
        &out.join("report.json"),
        serde_json::to_string_pretty(r)?.as_bytes(),
    )?;
    let series: Vec<(String, Vec<f64>)> = r
        .classifiers
        .iter()
        .map(|c| (c.name.clone(), c.per_theme.iter().map(|t| t.f1).collect()))
        .collect();
    write_atomic(
        &out.join("theme_f1.svg"),
        svg::grouped_bar_chart("Theme-set F1 per theme", &r.themes, &series, 1.0).as_bytes(),
    )?;
    write_atomic(
        &out.join("confusion.svg"),
        svg::heatmap(
            &format!("Primary theme: {}", main.name),
            &r.themes,
            &r.themes,
            &main.confusion,
        )
        .as_bytes(),
    )?;
    Ok(())
}
