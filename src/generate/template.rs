//! Prompts. Instruction-tuned models get their family's chat template; base models get a
//! continuation prompt ("… Tóm tắt:") that ends where a summary would begin; T5 models get their
//! task prefix (ViT5's `vietnews: `).

use serde::{Deserialize, Serialize};

/// The instruction, in Vietnamese: the models answer in the prompt's language.
pub const INSTRUCTION: &str = "Tóm tắt bài báo sau bằng tiếng Việt trong 2–3 câu. Nêu chính sách hoặc sự kiện chính, cơ quan liên quan và các con số quan trọng. Chỉ dùng thông tin có trong bài.";

/// The instruction for a headline, when an article came without one.
pub const HEADLINE_INSTRUCTION: &str = "Đặt một tiêu đề ngắn (dưới 20 chữ) bằng tiếng Việt cho bài báo sau. Nêu sự kiện hoặc chính sách chính. Chỉ trả lời bằng tiêu đề, không giải thích.";

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
        }
    }
}

impl Template {
    pub fn add_special_tokens(&self) -> bool {
        self.add_special
    }

    /// The text the model sees for one article.
    pub fn render(&self, title: &str, body: &str) -> String {
        let article = if title.trim().is_empty() {
            body.trim().to_string()
        } else {
            format!("{}\n\n{}", title.trim(), body.trim())
        };
        match self.chat {
            ChatFormat::None if !self.prefix.is_empty() => format!("{}{}", self.prefix, article),
            // A base model is steered by the shape of the text, not by an instruction.
            ChatFormat::None => format!("Bài báo:\n{article}\n\nTóm tắt (2–3 câu):"),
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
