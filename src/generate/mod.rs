//! Abstractive summaries: a `Generator` (tokenizer + prompt template + one `LanguageModel`
//! backend) and one decoding loop shared by every model family. Backends, one file each:
//! `gemma3` (our own Gemma 3 on quantized GGUF weights), `quantized` (candle's Qwen2/Qwen3/Llama
//! GGUF models), `t5` (ViT5/mT5 sequence-to-sequence). `gguf_tokenizer` builds a tokenizer from a
//! GGUF file's metadata when a repo has no `tokenizer.json`.

pub mod check;
pub mod faithful;
pub mod gemma3;
pub mod gguf_tokenizer;
pub mod load;
pub mod q8gemv;
pub mod quantized;
pub mod spm;
pub mod t5;
mod t5_model;
pub mod template;

use crate::hub::Provenance;
use std::time::Instant;
use tokenizers::Tokenizer;

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("{path}: {message}")]
    Load {
        path: std::path::PathBuf,
        message: String,
    },
    #[error("GGUF file {path}: {message}")]
    Gguf {
        path: std::path::PathBuf,
        message: String,
    },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("the prompt has {prompt} tokens; with {max_new} new tokens it does not fit the model's context of {context} tokens")]
    TooLong {
        prompt: usize,
        max_new: usize,
        context: usize,
    },
    #[error("unsupported generator family {0:?} (supported: gemma3, qwen2, qwen3, llama, t5)")]
    Family(String),
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// One language model that gives next-token logits. The decoding loop, sampling, stop conditions
/// and progress are shared (`Generator::generate`); a backend only runs its network.
pub trait LanguageModel: Send {
    /// Starts a new sequence: forgets any previous one (KV cache), processes the whole prompt at
    /// position 0 and returns the logits for the first new token. For encoder-decoder models the
    /// prompt is the encoder input and the decoder starts from its start token.
    fn start(&mut self, prompt: &[u32]) -> Result<Vec<f32>, GenerateError>;
    /// Appends one generated token and returns the logits for the next one.
    fn step(&mut self, token: u32) -> Result<Vec<f32>, GenerateError>;
    /// Longest prompt + generation the model supports (tokens).
    fn context_length(&self) -> usize;
    /// For encoder-decoder models the prompt and the output have separate budgets.
    fn shares_context(&self) -> bool {
        true
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// The model ended the text (an end-of-sequence or end-of-turn token).
    EndOfText,
    /// A stop string appeared (e.g. a blank line for base models).
    StopString,
    /// `max_new_tokens` reached.
    MaxTokens,
    /// The same n-gram kept repeating: decoding stopped early.
    Loop,
}

#[derive(Debug, Clone)]
pub struct GenOptions {
    pub max_new_tokens: usize,
    /// 0 = greedy (deterministic). Above 0: sampling with `seed`.
    pub temperature: f64,
    pub top_p: Option<f64>,
    pub seed: u64,
    /// Penalty on tokens seen in the last `repeat_last_n` tokens (1.0 = none).
    pub repeat_penalty: f32,
    pub repeat_last_n: usize,
    /// Extra stop strings (the template's are added by the generator).
    pub stop: Vec<String>,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            max_new_tokens: 160,
            temperature: 0.0,
            top_p: None,
            seed: 42,
            repeat_penalty: 1.1,
            repeat_last_n: 64,
            stop: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Generation {
    /// NFC, trimmed, stop string removed.
    pub text: String,
    pub prompt_tokens: usize,
    pub new_tokens: usize,
    pub stop: StopReason,
    pub prompt_secs: f64,
    pub generate_secs: f64,
}

impl Generation {
    pub fn tokens_per_sec(&self) -> f64 {
        if self.generate_secs > 0.0 {
            self.new_tokens as f64 / self.generate_secs
        } else {
            0.0
        }
    }
    pub fn prompt_tokens_per_sec(&self) -> f64 {
        if self.prompt_secs > 0.0 {
            self.prompt_tokens as f64 / self.prompt_secs
        } else {
            0.0
        }
    }
}

/// A loaded generative model, ready to summarise.
pub struct Generator {
    pub model: Box<dyn LanguageModel>,
    pub tokenizer: Tokenizer,
    pub template: template::Template,
    /// Token ids that end the text.
    pub eos: Vec<u32>,
    pub provenance: Provenance,
}

impl Generator {
    pub fn encode(&self, text: &str, special: bool) -> Result<Vec<u32>, GenerateError> {
        self.tokenizer
            .encode(text, special)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| GenerateError::Tokenizer(e.to_string()))
    }

    pub fn count_tokens(&self, text: &str) -> Result<usize, GenerateError> {
        Ok(self.encode(text, false)?.len())
    }

    fn decode(&self, ids: &[u32]) -> Result<String, GenerateError> {
        self.tokenizer
            .decode(ids, true)
            .map_err(|e| GenerateError::Tokenizer(e.to_string()))
    }

    /// Decodes from a fully rendered prompt (template already applied). `on_token` is called
    /// after each new token with the number generated so far (for progress in tokens/s).
    pub fn generate(
        &mut self,
        prompt: &str,
        opts: &GenOptions,
        on_token: &mut dyn FnMut(usize),
    ) -> Result<Generation, GenerateError> {
        use candle_transformers::generation::{LogitsProcessor, Sampling};
        let ids = self.encode(prompt, self.template.add_special_tokens())?;
        let context = self.model.context_length();
        let needed = if self.model.shares_context() {
            ids.len() + opts.max_new_tokens
        } else {
            ids.len()
        };
        if needed > context {
            return Err(GenerateError::TooLong {
                prompt: ids.len(),
                max_new: opts.max_new_tokens,
                context,
            });
        }
        let sampling = if opts.temperature <= 0.0 {
            Sampling::ArgMax
        } else {
            match opts.top_p {
                Some(p) => Sampling::TopP {
                    p,
                    temperature: opts.temperature,
                },
                None => Sampling::All {
                    temperature: opts.temperature,
                },
            }
        };
        let mut sampler = LogitsProcessor::from_sampling(opts.seed, sampling);
        let mut stops: Vec<String> = self.template.stop_strings();
        stops.extend(opts.stop.iter().cloned());

        let t0 = Instant::now();
        let mut logits = self.model.start(&ids)?;
        let prompt_secs = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let mut out: Vec<u32> = Vec::new();
        let mut stop = StopReason::MaxTokens;
        let mut text = String::new();
        while out.len() < opts.max_new_tokens {
            penalise(&mut logits, &out, opts.repeat_penalty, opts.repeat_last_n);
            let t = candle_core::Tensor::new(logits.as_slice(), &candle_core::Device::Cpu)?;
            let next = sampler.sample(&t)?;
            if self.eos.contains(&next) {
                stop = StopReason::EndOfText;
                break;
            }
            out.push(next);
            on_token(out.len());
            text = self.decode(&out)?;
            if let Some(cut) = stop_cut(&text, &stops) {
                text.truncate(cut);
                stop = StopReason::StopString;
                break;
            }
            if check::repeating_tail(&out) {
                stop = StopReason::Loop;
                break;
            }
            if out.len() == opts.max_new_tokens {
                break;
            }
            logits = self.model.step(next)?;
        }
        let generate_secs = t1.elapsed().as_secs_f64();
        Ok(Generation {
            text: {
                use unicode_normalization::UnicodeNormalization;
                strip_thinking(&text).trim().nfc().collect()
            },
            prompt_tokens: ids.len(),
            new_tokens: out.len(),
            stop,
            prompt_secs,
            generate_secs,
        })
    }
}

/// Thinking models (Qwen3) may open with `<think>…</think>`: the reasoning is not the summary.
fn strip_thinking(text: &str) -> &str {
    let t = text.trim_start();
    match t.strip_prefix("<think>") {
        Some(rest) => match rest.find("</think>") {
            Some(end) => &rest[end + "</think>".len()..],
            // Never closed: it thought until the token bound and wrote no answer.
            None => "",
        },
        None => text,
    }
}

/// Where the first stop string starts, ignoring leading whitespace: blank lines before the
/// first word are how a base model starts its answer, not the end of it.
fn stop_cut(text: &str, stops: &[String]) -> Option<usize> {
    let lead = text.len() - text.trim_start().len();
    stops
        .iter()
        .filter_map(|s| text[lead..].find(s.as_str()))
        .min()
        .map(|c| lead + c)
}

/// The usual repetition penalty (CTRL paper): divides positive logits, multiplies negative ones.
fn penalise(logits: &mut [f32], out: &[u32], penalty: f32, last_n: usize) {
    if penalty == 1.0 || out.is_empty() {
        return;
    }
    let start = out.len().saturating_sub(last_n);
    let mut seen: Vec<u32> = out[start..].to_vec();
    seen.sort_unstable();
    seen.dedup();
    for id in seen {
        if let Some(l) = logits.get_mut(id as usize) {
            *l = if *l >= 0.0 {
                *l / penalty
            } else {
                *l * penalty
            };
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A word-level tokenizer over a fixed vocabulary (whitespace split, words joined by
    /// spaces on decode), enough to drive the decoding loop.
    pub(crate) fn word_tokenizer(words: &[&str]) -> Tokenizer {
        use tokenizers::models::wordlevel::WordLevel;
        let vocab: std::collections::HashMap<String, u32> = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.to_string(), i as u32))
            .collect();
        let model = WordLevel::builder()
            .vocab(vocab.into_iter().collect())
            .unk_token("<unk>".into())
            .build()
            .expect("word-level model");
        let mut t = Tokenizer::new(model);
        t.with_pre_tokenizer(Some(
            tokenizers::pre_tokenizers::whitespace::WhitespaceSplit,
        ));
        t.with_decoder(Some(tokenizers::decoders::wordpiece::WordPiece::new(
            "##".into(),
            false,
        )));
        t
    }

    /// Emits a scripted sequence (one-hot logits), whatever the prompt; records what it saw.
    pub(crate) struct Scripted {
        pub script: Vec<u32>,
        pub vocab: usize,
        pub pos: usize,
        pub context: usize,
        pub prompts: std::sync::Arc<std::sync::Mutex<Vec<Vec<u32>>>>,
    }

    impl Scripted {
        fn logits(&self) -> Vec<f32> {
            let mut l = vec![0.0; self.vocab];
            if let Some(&t) = self.script.get(self.pos) {
                l[t as usize] = 10.0;
            }
            l
        }
    }

    impl LanguageModel for Scripted {
        fn start(&mut self, prompt: &[u32]) -> Result<Vec<f32>, GenerateError> {
            self.prompts.lock().unwrap().push(prompt.to_vec());
            self.pos = 0;
            Ok(self.logits())
        }
        fn step(&mut self, _token: u32) -> Result<Vec<f32>, GenerateError> {
            self.pos += 1;
            Ok(self.logits())
        }
        fn context_length(&self) -> usize {
            self.context
        }
    }

    pub(crate) const WORDS: &[&str] = &[
        "<unk>", "<eos>", "Bài", "báo:", "Tóm", "tắt", "(2–3", "câu):", "Chính", "phủ", "ban",
        "hành", "nghị", "định.", "the", "end", "x", "y", "25", "tỷ", "đồng.",
    ];

    pub(crate) fn generator(script: &[&str], context: usize) -> Generator {
        let tok = word_tokenizer(WORDS);
        let ids = script
            .iter()
            .map(|w| tok.token_to_id(w).expect("scripted word in vocabulary"))
            .collect();
        Generator {
            model: Box::new(Scripted {
                script: ids,
                vocab: WORDS.len(),
                pos: 0,
                context,
                prompts: Default::default(),
            }),
            eos: vec![1],
            tokenizer: tok,
            template: template::Template::default(),
            provenance: Provenance {
                model: "scripted".into(),
                source: crate::hub::Source::Local,
                repo: None,
                revision: None,
                commit: None,
                weights_sha256: None,
                dtype: "f32".into(),
                device: "cpu".into(),
                note: None,
            },
        }
    }

    fn greedy(max: usize) -> GenOptions {
        GenOptions {
            max_new_tokens: max,
            repeat_penalty: 1.0,
            ..GenOptions::default()
        }
    }

    #[test]
    fn stops_at_end_token_and_normalises() {
        let mut g = generator(&["Chính", "phủ", "ban", "hành", "<eos>", "x"], 4096);
        let out = g.generate("Bài báo:", &greedy(50), &mut |_| {}).unwrap();
        assert_eq!(out.text, "Chính phủ ban hành");
        assert_eq!(out.new_tokens, 4);
        assert_eq!(out.stop, StopReason::EndOfText);
    }

    #[test]
    fn stops_at_the_token_bound() {
        let mut g = generator(&["Chính", "phủ", "ban", "hành", "<eos>"], 4096);
        let mut seen = Vec::new();
        let out = g
            .generate("Bài", &greedy(2), &mut |n| seen.push(n))
            .unwrap();
        assert_eq!(out.text, "Chính phủ");
        assert_eq!(out.stop, StopReason::MaxTokens);
        assert_eq!(seen, vec![1, 2]);
    }

    #[test]
    fn stops_at_a_stop_string_and_cuts_it() {
        let mut g = generator(&["Chính", "phủ", "Bài", "báo:", "x"], 4096);
        let out = g.generate("Bài", &greedy(50), &mut |_| {}).unwrap();
        assert_eq!(out.text, "Chính phủ");
        assert_eq!(out.stop, StopReason::StopString);
    }

    #[test]
    fn thinking_is_not_the_summary() {
        assert_eq!(
            strip_thinking("<think>\nhmm\n</think>\n\nKết quả."),
            "\n\nKết quả."
        );
        assert_eq!(strip_thinking("<think>mãi"), "");
        assert_eq!(strip_thinking("Kết quả <think>"), "Kết quả <think>");
    }

    #[test]
    fn leading_blank_lines_are_not_a_stop() {
        let stops = vec!["\n\n".to_string()];
        assert_eq!(stop_cut("\n\n", &stops), None);
        assert_eq!(stop_cut("\n\nChính phủ.", &stops), None);
        assert_eq!(
            stop_cut("\n\nChính phủ.\n\nBài", &stops),
            Some("\n\nChính phủ.".len())
        );
        assert_eq!(stop_cut("Chính\n\n", &stops), Some(6));
    }

    #[test]
    fn stops_a_loop() {
        let script: Vec<&str> = std::iter::repeat_n(["x", "y"], 20).flatten().collect();
        let mut g = generator(&script, 4096);
        let out = g.generate("Bài", &greedy(100), &mut |_| {}).unwrap();
        assert_eq!(out.stop, StopReason::Loop);
        assert_eq!(out.new_tokens, 12);
    }

    #[test]
    fn refuses_a_prompt_that_does_not_fit() {
        let mut g = generator(&["x"], 6);
        let err = g
            .generate("Bài báo: Chính phủ", &greedy(4), &mut |_| {})
            .unwrap_err();
        assert!(
            matches!(
                err,
                GenerateError::TooLong {
                    prompt: 4,
                    max_new: 4,
                    context: 6
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn penalty_pushes_seen_tokens_down_on_both_signs() {
        let mut l = vec![2.0, -2.0, 1.0];
        penalise(&mut l, &[0, 1], 2.0, 64);
        assert_eq!(l, vec![1.0, -4.0, 1.0]);
        let mut l = vec![2.0, -2.0, 1.0];
        penalise(&mut l, &[0, 1], 1.0, 64);
        assert_eq!(l, vec![2.0, -2.0, 1.0]);
        // Only the last `last_n` tokens count.
        let mut l = vec![2.0, -2.0, 1.0];
        penalise(&mut l, &[0, 1], 2.0, 1);
        assert_eq!(l, vec![2.0, -4.0, 1.0]);
    }
}
