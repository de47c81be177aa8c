#!/bin/sh
# Seeds the fuzz corpora from bantin's sample articles (fuzz/corpus is not committed; libFuzzer
# adds what it finds to these directories). See docs/fuzzing.md.
set -e
cd "$(dirname "$0")"
mkdir -p corpus/clean_segment corpus/jsonl
cp ../corpus/seeds/* ../corpus/markdown/* ../corpus/html/* corpus/clean_segment/
split -l 2 -d --additional-suffix=.jsonl ../corpus/feeds/news-2024.jsonl corpus/jsonl/feed-
split -l 4 -d --additional-suffix=.jsonl ../eval/test.jsonl corpus/jsonl/test-
