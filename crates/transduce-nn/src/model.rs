//! One type for "any architecture": the config that is saved as JSON and the module that is trained.
//!
//! Training, decoding and the CLI work on [`Model`], which dispatches [`Seq2Seq`] to the
//! architecture inside. Adding an architecture means adding one variant to each enum here.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::seq2seq::{BatchSelect, ConfigError, DecodeStep, Seq2Seq};
use crate::transformer::{Transformer, TransformerConfig, TransformerMemory, TransformerState};

/// The configuration of any architecture, tagged by `"arch"` in JSON.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "arch", rename_all = "snake_case")]
pub enum ModelConfig {
    /// Vaswani et al. 2017.
    Transformer(TransformerConfig),
}

/// A model of any architecture.
#[derive(Module, Debug)]
pub enum Model {
    /// Vaswani et al. 2017.
    Transformer(Transformer),
}

/// The encoded source of any architecture.
#[derive(Clone, Debug)]
pub enum ModelMemory {
    /// See [`TransformerMemory`].
    Transformer(TransformerMemory),
}

/// The decoder state of any architecture.
#[derive(Clone, Debug)]
pub enum ModelState {
    /// See [`TransformerState`].
    Transformer(TransformerState),
}

impl ModelConfig {
    /// The architecture's name, as given to `--arch`.
    pub fn arch(&self) -> &'static str {
        match self {
            ModelConfig::Transformer(_) => "transformer",
        }
    }

    /// Checks every value before anything is built.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            ModelConfig::Transformer(c) => c.validate(),
        }
    }

    /// Initialises the model.
    ///
    /// # Panics
    /// If the config is invalid; call [`ModelConfig::validate`] first.
    pub fn init(&self, device: &Device) -> Model {
        match self {
            ModelConfig::Transformer(c) => Model::Transformer(c.init(device)),
        }
    }
}

impl Seq2Seq for Model {
    type Memory = ModelMemory;
    type State = ModelState;

    fn forward(
        &self,
        src: Tensor<2, Int>,
        src_mask_pad: Tensor<2, Bool>,
        tgt_in: Tensor<2, Int>,
        tgt_mask_pad: Tensor<2, Bool>,
    ) -> Tensor<3> {
        match self {
            Model::Transformer(m) => m.forward(src, src_mask_pad, tgt_in, tgt_mask_pad),
        }
    }

    fn encode(&self, src: Tensor<2, Int>, src_mask_pad: Tensor<2, Bool>) -> ModelMemory {
        match self {
            Model::Transformer(m) => ModelMemory::Transformer(m.encode(src, src_mask_pad)),
        }
    }

    fn init_state(&self, memory: &ModelMemory) -> ModelState {
        match (self, memory) {
            (Model::Transformer(m), ModelMemory::Transformer(mem)) => {
                ModelState::Transformer(m.init_state(mem))
            }
        }
    }

    fn decode_step(
        &self,
        memory: &ModelMemory,
        prev_tokens: Tensor<1, Int>,
        state: ModelState,
    ) -> DecodeStep<ModelState> {
        match (self, memory, state) {
            (Model::Transformer(m), ModelMemory::Transformer(mem), ModelState::Transformer(st)) => {
                let step = m.decode_step(mem, prev_tokens, st);
                DecodeStep {
                    logits: step.logits,
                    state: ModelState::Transformer(step.state),
                    attention: step.attention,
                }
            }
        }
    }

    fn max_len(&self) -> Option<usize> {
        match self {
            Model::Transformer(m) => m.max_len(),
        }
    }
}

impl BatchSelect for ModelMemory {
    fn select_batch(self, indices: Tensor<1, Int>) -> Self {
        match self {
            ModelMemory::Transformer(m) => ModelMemory::Transformer(m.select_batch(indices)),
        }
    }
}

impl BatchSelect for ModelState {
    fn select_batch(self, indices: Tensor<1, Int>) -> Self {
        match self {
            ModelState::Transformer(s) => ModelState::Transformer(s.select_batch(indices)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_json_is_tagged_by_arch_and_round_trips() {
        let config = ModelConfig::Transformer(TransformerConfig::new(10, 12).with_d_model(32));
        let json = serde_json::to_string(&config).unwrap();
        assert!(
            json.starts_with(
                r#"{"arch":"transformer","src_vocab_size":10,"tgt_vocab_size":12,"d_model":32"#
            ),
            "{json}"
        );
        let back: ModelConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
    }
}
