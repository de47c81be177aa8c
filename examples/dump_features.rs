//! Tuning aid (not part of the product): dumps, for each labelled article, its cleaned
//! sentences with their embeddings, the title embedding and the theme prototypes, so that
//! classifier and summariser settings can be explored on `eval/dev.jsonl` without rebuilding.
//! cargo run --release --example dump_features -- eval/dev.jsonl /tmp/dev-dump.jsonl

use bantin::encoder::Role;
use std::io::Write;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (labels, out) = (&args[1], &args[2]);
    let progress = bantin::progress::Progress::new(false, true);
    let opts = bantin::hub::HubOptions::from_env(false, progress.clone());
    let resolved = bantin::hub::resolve("multilingual-e5-small", &opts)?;
    let emb = bantin::encoder::Embedder::load(
        &resolved,
        &candle_core::Device::Cpu,
        candle_core::DType::F32,
    )?;
    let items = bantin::eval::report::load_labels(std::path::Path::new(labels), None)?;
    let tax = bantin::taxonomy::Taxonomy::default_set();
    let protos = bantin::classify::Prototypes::build(&emb, &tax)?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(out)?);
    writeln!(
        f,
        "{}",
        serde_json::json!({"protos": protos.vectors, "theme_of": protos.theme_of, "themes": tax.ids()})
    )?;
    for it in &items {
        let c = bantin::corpus::clean::clean(&it.article.text);
        let sents: Vec<String> = bantin::corpus::segment::sentences(&c.text)
            .into_iter()
            .map(|s| s.text)
            .collect();
        let refs: Vec<&str> = sents.iter().map(String::as_str).collect();
        let v: Vec<Vec<f32>> = emb
            .embed(&refs, Role::Passage)?
            .into_iter()
            .map(|e| e.vector)
            .collect();
        let title = it.article.title.clone().unwrap_or_default();
        let t = emb
            .embed(&[title.as_str()], Role::Passage)?
            .remove(0)
            .vector;
        writeln!(
            f,
            "{}",
            serde_json::json!({"id": it.article.id, "title": title, "primary": it.primary, "themes": it.themes,
            "summary": it.summary, "sentences": sents, "vectors": v, "title_vector": t, "clean": c.text})
        )?;
    }
    Ok(())
}
