#!/usr/bin/env bash
# Before/after comparison of src/corpus/html.rs: the hand tokenizer at OLD_REF against the
# html5ever version in the work tree, on the sample pages in corpus/html and the broken pages
# here. Builds a scratch crate holding both modules; writes OUT/<page>.{old,new}.txt and prints a
# unified diff per page (title first, then the text).
#   bash docs/html-compare/compare.sh [OLD_REF] [OUT]
set -euo pipefail
root=$(git rev-parse --show-toplevel)
old_ref=${1:-04f59a6}
out=${2:-$root/out/html-compare}
work=${HTML_COMPARE_DIR:-/tmp/bantin-html-compare}
mkdir -p "$work/src" "$out"
git -C "$root" show "$old_ref:src/corpus/html.rs" > "$work/src/old.rs"
cp "$root/src/corpus/html.rs" "$work/src/new.rs"
cat > "$work/Cargo.toml" <<'TOML'
[package]
name = "html-compare"
version = "0.0.0"
edition = "2021"
publish = false
[dependencies]
html5ever = "0.40"
unicode-normalization = "0.1.24"
[workspace]
TOML
cat > "$work/src/main.rs" <<'RS'
#[allow(dead_code)]
mod new;
#[allow(dead_code)]
mod old;
fn show(t: Option<String>, text: String) -> String {
    format!("TITLE: {}\n\n{}\n", t.unwrap_or_else(|| "(none)".into()), text)
}
fn main() {
    let mut args = std::env::args().skip(1);
    let out = std::path::PathBuf::from(args.next().expect("out dir"));
    for path in args {
        let html = std::fs::read_to_string(&path).expect("readable page");
        let name = std::path::Path::new(&path).file_stem().unwrap().to_string_lossy().into_owned();
        let o = old::html_to_text(&html);
        let n = new::html_to_text(&html);
        std::fs::write(out.join(format!("{name}.old.txt")), show(o.title, o.text)).unwrap();
        std::fs::write(out.join(format!("{name}.new.txt")), show(n.title, n.text)).unwrap();
    }
}
RS
(cd "$work" && cargo build --release -q)
pages=("$root"/corpus/html/*.html "$root"/docs/html-compare/broken/*.html)
"$work/target/release/html-compare" "$out" "${pages[@]}"
for p in "${pages[@]}"; do
    name=$(basename "$p" .html)
    if cmp -s "$out/$name.old.txt" "$out/$name.new.txt"; then
        echo "== $name: identical"
    else
        echo "== $name: differs"
        diff -u --label old --label new "$out/$name.old.txt" "$out/$name.new.txt" || true
    fi
done
