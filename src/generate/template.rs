//! Prompts. Instruction-tuned models get their family's chat template; base models get a
//! continuation prompt ("… Tóm tắt:") that ends where a summary would begin; T5 models get their
//! task prefix (ViT5's `vietnews: `).

use serde::{Deserialize, Serialize};

/// The instruction, in Vietnamese: the models answer in the prompt's language.
pub const INSTRUCTION: &str = "Tóm tắt bài báo sau bằng tiếng Việt trong 2–3 câu. Nêu chính sách hoặc sự kiện chính, cơ quan liên quan và các con số quan trọng. Chỉ dùng thông tin có trong bài.";

/// The instruction for a headline, when an article came without one.
pub const HEADLINE_INSTRUCTION: &str = "Đặt một tiêu đề ngắn (dưới 20 chữ) bằng tiếng Việt cho bài báo sau. Nêu sự kiện hoặc chính sách chính. Chỉ trả lời bằng tiêu đề, không giải thích.";

/// How the article is put to the model: as it is, after one worked example, with its key facts
/// listed, or both. Chosen per generator on `eval/dev.jsonl` (README, "Prompting"); a
/// sequence-to-sequence summariser (a T5 `prefix`) always reads the article alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum PromptStyle {
    /// The article, then the cue (or the instruction, for chat models).
    #[default]
    Plain,
    /// One worked example first: a short Vietnamese article and its 2-sentence summary.
    OneShot,
    /// The article's numbers, percentages, amounts, dates and document codes listed after it.
    Facts,
    /// Both.
    OneShotFacts,
}

impl PromptStyle {
    fn one_shot(self) -> bool {
        matches!(self, PromptStyle::OneShot | PromptStyle::OneShotFacts)
    }
    fn facts(self) -> bool {
        matches!(self, PromptStyle::Facts | PromptStyle::OneShotFacts)
    }
}

/// The worked example of `PromptStyle::OneShot`, written by the team from the public facts of
/// Resolution 57-NQ/TW (22 December 2024). Its summary restates only what the article says.
const EXAMPLE_TITLE: &str =
    "Bộ Chính trị ra nghị quyết về đột phá khoa học, công nghệ và chuyển đổi số";
const EXAMPLE_BODY: &str = "Ngày 22/12/2024, Tổng Bí thư Tô Lâm ký ban hành Nghị quyết số 57-NQ/TW của Bộ Chính trị. Nghị quyết coi khoa học, công nghệ, đổi mới sáng tạo và chuyển đổi số là đột phá quan trọng hàng đầu để phát triển đất nước. Đến năm 2030, tổng chi cho nghiên cứu và phát triển phải đạt 2% GDP, trong đó hơn 60% đến từ xã hội. Mỗi năm, Nhà nước dành ít nhất 3% tổng chi ngân sách cho lĩnh vực này. Nghị quyết cũng đặt mục tiêu kinh tế số chiếm tối thiểu 30% GDP vào năm 2030.";
const EXAMPLE_SUMMARY: &str = "Ngày 22/12/2024, Bộ Chính trị ban hành Nghị quyết 57-NQ/TW, coi khoa học, công nghệ, đổi mới sáng tạo và chuyển đổi số là đột phá hàng đầu. Đến năm 2030, chi cho nghiên cứu và phát triển đạt 2% GDP, ngân sách dành ít nhất 3% tổng chi mỗi năm và kinh tế số chiếm tối thiểu 30% GDP.";

/// At most this many facts are listed, in the order the article gives them.
const MAX_FACTS: usize = 10;

/// The numbers, percentages, amounts, dates and document codes of `text`, deduplicated, for
/// `Facts` prompts. Names are left out: the checker sees only their capitalised syllables
/// (`Bộ Tài` of `Bộ Tài chính`), and a clipped name is worse than none as a model's cue.
pub fn key_facts(text: &str) -> Vec<String> {
    use crate::generate::faithful::SpanKind;
    let mut out: Vec<String> = Vec::new();
    for span in crate::generate::faithful::spans(text) {
        if span.kind == SpanKind::Name {
            continue;
        }
        let t = span.text.trim().to_string();
        if !t.is_empty() && !out.contains(&t) {
            out.push(t);
        }
        if out.len() == MAX_FACTS {
            break;
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ChatFormat {
    /// No chat turns: a base model continues the text, a T5 model reads `prefix + article`.
    #[default]
    None,
    /// Gemma: `<start_of_turn>user … <end_of_turn>\n<start_of_turn>model\n` (no system role).
    Gemma,
    /// Qwen2/2.5/3: ChatML `<|im_start|>role … <|im_end|>`.
    Chatml,
    /// Llama 3: `<|start_header_id|>role<|end_header_id|> … <|eot_id|>`.
    Llama3,
}

fn join_title(title: &str, body: &str) -> String {
    if title.trim().is_empty() {
        body.trim().to_string()
    } else {
        format!("{}\n\n{}", title.trim(), body.trim())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub chat: ChatFormat,
    /// Prepended to the article for sequence-to-sequence models (ViT5: `vietnews: `).
    #[serde(default)]
    pub prefix: String,
    /// Whether the tokenizer's post-processor adds its special tokens (BOS for Gemma and Llama,
    /// `</s>` for T5). ChatML models have no BOS; Llama 3's template writes its own.
    #[serde(default = "yes")]
    pub add_special: bool,
    /// Appended to the instruction (Qwen3: ` /no_think`, so that it answers without a
    /// thinking block).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub instruction_suffix: String,
    /// How the article is presented (`--prompt` overrides it).
    #[serde(default)]
    pub prompt: PromptStyle,
}

fn yes() -> bool {
    true
}

impl Default for Template {
    fn default() -> Self {
        Template {
            chat: ChatFormat::None,
            prefix: String::new(),
            add_special: true,
            instruction_suffix: String::new(),
            prompt: PromptStyle::Plain,
        }
    }
}

impl Template {
    pub fn add_special_tokens(&self) -> bool {
        self.add_special
    }

    /// The text the model sees for one article.
    pub fn render(&self, title: &str, body: &str) -> String {
        let article = join_title(title, body);
        if self.chat == ChatFormat::None && !self.prefix.is_empty() {
            return format!("{}{}", self.prefix, article);
        }
        let style = self.prompt;
        let facts_line = |text: &str| -> String {
            let facts = key_facts(text);
            if facts.is_empty() {
                String::new()
            } else {
                format!("\n\nSố liệu chính: {}.", facts.join("; "))
            }
        };
        let with_facts = |article: String, text: &str| -> String {
            if style.facts() {
                format!("{article}{}", facts_line(text))
            } else {
                article
            }
        };
        let example = with_facts(join_title(EXAMPLE_TITLE, EXAMPLE_BODY), EXAMPLE_BODY);
        let article = with_facts(article, body);
        match self.chat {
            // A base model is steered by the shape of the text, not by an instruction.
            ChatFormat::None => {
                let one = |a: &str| format!("Bài báo:\n{a}\n\nTóm tắt (2–3 câu):");
                if style.one_shot() {
                    format!("{} {EXAMPLE_SUMMARY}\n\n{}", one(&example), one(&article))
                } else {
                    one(&article)
                }
            }
            _ if style.one_shot() => self.turns(
                INSTRUCTION,
                &format!(
                    "Ví dụ:\n\n{example}\n\nTóm tắt: {EXAMPLE_SUMMARY}\n\nBài cần tóm tắt:\n\n{article}"
                ),
            ),
            _ => self.turns(INSTRUCTION, &article),
        }
    }

    /// The text that asks for a headline for `body`, or `None` for a sequence-to-sequence
    /// model, which only knows its one task (ViT5 summarises).
    pub fn render_headline(&self, body: &str) -> Option<String> {
        let article = body.trim();
        match self.chat {
            ChatFormat::None if !self.prefix.is_empty() => None,
            ChatFormat::None => Some(format!("Bài báo:\n{article}\n\nTiêu đề:")),
            _ => Some(self.turns(HEADLINE_INSTRUCTION, article)),
        }
    }

    /// `instruction` and `article` in the chat turns of an instruction-tuned model.
    fn turns(&self, instruction: &str, article: &str) -> String {
        let instruction = format!("{instruction}{}", self.instruction_suffix);
        match self.chat {
            ChatFormat::None => format!("{instruction}\n\n{article}\n\n"),
            ChatFormat::Gemma => format!(
                "<start_of_turn>user\n{instruction}\n\n{article}<end_of_turn>\n<start_of_turn>model\n"
            ),
            ChatFormat::Chatml => format!(
                "<|im_start|>system\nBạn là biên tập viên tin tức chính sách.<|im_end|>\n<|im_start|>user\n{instruction}\n\n{article}<|im_end|>\n<|im_start|>assistant\n"
            ),
            ChatFormat::Llama3 => format!(
                "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBạn là biên tập viên tin tức chính sách.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n{instruction}\n\n{article}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
            ),
        }
    }

    /// Strings that end the summary even if the model does not emit an end token.
    pub fn stop_strings(&self) -> Vec<String> {
        match self.chat {
            // A base model goes on to the next "article" after a blank line.
            ChatFormat::None if self.prefix.is_empty() => {
                vec!["\n\n".into(), "Bài báo:".into()]
            }
            ChatFormat::None => Vec::new(),
            ChatFormat::Gemma => vec!["<end_of_turn>".into(), "<start_of_turn>".into()],
            ChatFormat::Chatml => vec!["<|im_end|>".into(), "<|im_start|>".into()],
            ChatFormat::Llama3 => vec!["<|eot_id|>".into()],
        }
    }

    /// Special tokens that end a turn, looked up in the tokenizer for the EOS list.
    pub fn end_tokens(&self) -> &'static [&'static str] {
        match self.chat {
            ChatFormat::None => &["</s>", "<eos>", "<|endoftext|>", "<|end_of_text|>"],
            ChatFormat::Gemma => &["<end_of_turn>", "<eos>"],
            ChatFormat::Chatml => &["<|im_end|>", "<|endoftext|>"],
            ChatFormat::Llama3 => &["<|eot_id|>", "<|end_of_text|>"],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(chat: ChatFormat, prefix: &str) -> Template {
        Template {
            chat,
            prefix: prefix.into(),
            add_special: true,
            instruction_suffix: String::new(),
            prompt: PromptStyle::Plain,
        }
    }

    fn styled(chat: ChatFormat, prefix: &str, prompt: PromptStyle) -> Template {
        Template {
            prompt,
            ..t(chat, prefix)
        }
    }

    const BODY: &str = "Ngày 15/3/2025, Bộ Tài chính trình Chính phủ Nghị định 57/2025/NĐ-CP, giảm 2% thuế giá trị gia tăng.";

    #[test]
    fn one_shot_puts_the_example_before_the_article_and_ends_on_the_cue() {
        let p = styled(ChatFormat::None, "", PromptStyle::OneShot).render("Tiêu đề", BODY);
        let example = p.find(EXAMPLE_SUMMARY).expect("the worked summary");
        let article = p.find(BODY).expect("the article");
        assert!(example < article);
        // Two cues: the example's, answered, and the article's, left open for the model.
        assert_eq!(p.matches("Tóm tắt (2–3 câu):").count(), 2);
        assert!(p.ends_with("Tóm tắt (2–3 câu):"));
        // The example ends with the blank line the base model's stop string looks for.
        assert!(p.contains(&format!("{EXAMPLE_SUMMARY}\n\nBài báo:\nTiêu đề")));
        let chat = styled(ChatFormat::Gemma, "", PromptStyle::OneShot).render("", BODY);
        assert!(chat.contains("Ví dụ:") && chat.ends_with("<start_of_turn>model\n"));
        assert!(chat.find(EXAMPLE_SUMMARY) < chat.find(BODY));
    }

    #[test]
    fn facts_list_the_articles_numbers_dates_and_codes() {
        assert_eq!(key_facts(BODY), ["15/3/2025", "57/2025/NĐ-CP", "2%"]);
        let p = styled(ChatFormat::None, "", PromptStyle::Facts).render("", BODY);
        let line = p
            .lines()
            .find(|l| l.starts_with("Số liệu chính: "))
            .expect("a facts line");
        assert!(line.contains("57/2025/NĐ-CP"));
        assert!(p.ends_with("Tóm tắt (2–3 câu):") && !p.contains(EXAMPLE_SUMMARY));
        // An article without such spans gets no empty list.
        let plain = styled(ChatFormat::None, "", PromptStyle::Facts).render("", "thân bài.");
        assert_eq!(plain, "Bài báo:\nthân bài.\n\nTóm tắt (2–3 câu):");
        // Both: the example carries its own facts line, so the pattern is the same twice.
        let both = styled(ChatFormat::None, "", PromptStyle::OneShotFacts).render("", BODY);
        assert_eq!(both.matches("Số liệu chính: ").count(), 2);
    }

    #[test]
    fn a_sequence_to_sequence_model_reads_the_article_alone_whatever_the_style() {
        for style in [
            PromptStyle::OneShot,
            PromptStyle::Facts,
            PromptStyle::OneShotFacts,
        ] {
            assert_eq!(
                styled(ChatFormat::None, "vietnews: ", style).render("A", "B"),
                "vietnews: A\n\nB"
            );
        }
    }

    #[test]
    fn gemma_turns_end_with_the_model_turn_open() {
        let p = t(ChatFormat::Gemma, "").render("Tiêu đề", "Nội dung.");
        assert!(p.starts_with("<start_of_turn>user\n"));
        assert!(p.contains("Tiêu đề\n\nNội dung.<end_of_turn>\n"));
        assert!(p.ends_with("<start_of_turn>model\n"));
        assert_eq!(p.matches("<start_of_turn>").count(), 2);
    }

    #[test]
    fn chatml_and_llama3_open_the_assistant_turn() {
        let p = t(ChatFormat::Chatml, "").render("", "Nội dung.");
        assert!(p.ends_with("<|im_start|>assistant\n"));
        let mut q = t(ChatFormat::Chatml, "");
        q.instruction_suffix = " /no_think".into();
        assert!(q
            .render("", "Nội dung.")
            .contains("trong bài. /no_think\n\nNội dung."));
        assert_eq!(p.matches("<|im_end|>").count(), 2);
        let p = t(ChatFormat::Llama3, "").render("", "Nội dung.");
        assert!(p.starts_with("<|begin_of_text|>"));
        assert!(p.ends_with("<|start_header_id|>assistant<|end_header_id|>\n\n"));
    }

    #[test]
    fn t5_prefix_and_base_continuation() {
        assert_eq!(
            t(ChatFormat::None, "vietnews: ").render("A", "B"),
            "vietnews: A\n\nB"
        );
        let base = t(ChatFormat::None, "");
        let p = base.render("", "  Thân bài.  ");
        assert_eq!(p, "Bài báo:\nThân bài.\n\nTóm tắt (2–3 câu):");
        assert!(base.stop_strings().contains(&"\n\n".to_string()));
        assert!(t(ChatFormat::None, "vietnews: ").stop_strings().is_empty());
    }

    #[test]
    fn headline_prompts() {
        let p = t(ChatFormat::Gemma, "")
            .render_headline("Nội dung.")
            .expect("a prompt");
        assert!(p.contains(HEADLINE_INSTRUCTION) && p.ends_with("<start_of_turn>model\n"));
        let base = t(ChatFormat::None, "").render_headline(" Nội dung. ");
        assert_eq!(base.as_deref(), Some("Bài báo:\nNội dung.\n\nTiêu đề:"));
        assert_eq!(
            t(ChatFormat::None, "vietnews: ").render_headline("Nội dung."),
            None
        );
    }
}
