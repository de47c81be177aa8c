//! BERT family (multilingual-e5-small, paraphrase-multilingual-MiniLM, LaBSE) on candle.

use super::{EncoderError, Forward};
use candle_core::Tensor;
use candle_transformers::models::bert::{BertModel, Config};

pub struct Bert {
    model: BertModel,
}

impl Bert {
    pub fn load(config: &str, vb: candle_nn::VarBuilder) -> Result<Bert, EncoderError> {
        let config: Config = serde_json::from_str(config)
            .map_err(|e| EncoderError::Config(format!("BERT config.json: {e}")))?;
        Ok(Bert {
            model: BertModel::load(vb, &config)?,
        })
    }
}

impl Forward for Bert {
    fn forward(
        &self,
        ids: &Tensor,
        type_ids: &Tensor,
        mask: &Tensor,
    ) -> candle_core::Result<Tensor> {
        self.model.forward(ids, type_ids, Some(mask))
    }
}
