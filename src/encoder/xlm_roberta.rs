//! XLM-RoBERTa family (multilingual-e5-base/large, bge-m3) on candle.

use super::{EncoderError, Forward};
use candle_core::Tensor;
use candle_transformers::models::xlm_roberta::{Config, XLMRobertaModel};

pub struct XlmRoberta {
    model: XLMRobertaModel,
}

impl XlmRoberta {
    pub fn load(config: &str, vb: candle_nn::VarBuilder) -> Result<XlmRoberta, EncoderError> {
        let config: Config = serde_json::from_str(config)
            .map_err(|e| EncoderError::Config(format!("XLM-RoBERTa config.json: {e}")))?;
        let vb = if vb.contains_tensor("roberta.embeddings.word_embeddings.weight") {
            vb.pp("roberta")
        } else {
            vb
        };
        Ok(XlmRoberta {
            model: XLMRobertaModel::new(&config, vb)?,
        })
    }
}

impl Forward for XlmRoberta {
    fn forward(
        &self,
        ids: &Tensor,
        type_ids: &Tensor,
        mask: &Tensor,
    ) -> candle_core::Result<Tensor> {
        self.model.forward(ids, mask, type_ids, None, None, None)
    }
}
