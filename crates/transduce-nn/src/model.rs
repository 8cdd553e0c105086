//! One type for "any architecture": the config that is saved as JSON and the module that is trained.
//!
//! Training, decoding and the CLI work on [`Model`], which dispatches [`Seq2Seq`] to the
//! architecture inside. Adding an architecture means adding one variant to each enum here.
//! The memory and state of a [`Model`] must come from the same model; mixing architectures is
//! a programming error and panics.

use burn::module::Param;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::NnError;
use crate::rnn::{RecurrentMemory, RecurrentState};
use crate::seq2seq::{BatchSelect, DecodeStep, Seq2Seq};
use crate::transformer::{Transformer, TransformerConfig, TransformerMemory, TransformerState};
use crate::{Bahdanau, BahdanauConfig, Luong, LuongConfig, RnnSeq2Seq, RnnSeq2SeqConfig};

/// The configuration of any architecture, tagged by `"arch"` in JSON.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "arch", rename_all = "snake_case")]
pub enum ModelConfig {
    /// Sutskever et al. 2014: a fixed context vector.
    Seq2seq(RnnSeq2SeqConfig),
    /// Luong et al. 2015: global attention.
    Luong(LuongConfig),
    /// Bahdanau et al. 2015: additive attention.
    Bahdanau(BahdanauConfig),
    /// Vaswani et al. 2017.
    Transformer(TransformerConfig),
}

/// A model of any architecture.
#[derive(Module, Debug)]
pub enum Model {
    /// Sutskever et al. 2014.
    Seq2seq(RnnSeq2Seq),
    /// Luong et al. 2015.
    Luong(Luong),
    /// Bahdanau et al. 2015.
    Bahdanau(Bahdanau),
    /// Vaswani et al. 2017.
    Transformer(Transformer),
}

/// The encoded source of any architecture.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // one per batch; boxing would add an indirection per step
pub enum ModelMemory {
    /// See [`RecurrentMemory`].
    Recurrent(RecurrentMemory),
    /// See [`TransformerMemory`].
    Transformer(TransformerMemory),
}

/// The decoder state of any architecture.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // one per batch; boxing would add an indirection per step
pub enum ModelState {
    /// See [`RecurrentState`].
    Recurrent(RecurrentState),
    /// See [`TransformerState`].
    Transformer(TransformerState),
}

impl ModelConfig {
    /// The architecture's name, as in a config's `"arch"` (see [`crate::Arch`]).
    pub fn arch(&self) -> &'static str {
        self.kind().name()
    }

    /// Checks every value before anything is built.
    pub fn validate(&self) -> Result<(), NnError> {
        match self {
            ModelConfig::Seq2seq(c) => c.validate(),
            ModelConfig::Luong(c) => c.validate(),
            ModelConfig::Bahdanau(c) => c.validate(),
            ModelConfig::Transformer(c) => c.validate(),
        }
    }

    /// Sets both vocabulary sizes.
    pub fn set_vocab_sizes(&mut self, src: usize, tgt: usize) {
        match self {
            ModelConfig::Seq2seq(c) => (c.src_vocab_size, c.tgt_vocab_size) = (src, tgt),
            ModelConfig::Luong(c) => (c.src_vocab_size, c.tgt_vocab_size) = (src, tgt),
            ModelConfig::Bahdanau(c) => (c.src_vocab_size, c.tgt_vocab_size) = (src, tgt),
            ModelConfig::Transformer(c) => (c.src_vocab_size, c.tgt_vocab_size) = (src, tgt),
        }
    }

    /// The `(source, target)` vocabulary sizes.
    pub fn vocab_sizes(&self) -> (usize, usize) {
        match self {
            ModelConfig::Seq2seq(c) => (c.src_vocab_size, c.tgt_vocab_size),
            ModelConfig::Luong(c) => (c.src_vocab_size, c.tgt_vocab_size),
            ModelConfig::Bahdanau(c) => (c.src_vocab_size, c.tgt_vocab_size),
            ModelConfig::Transformer(c) => (c.src_vocab_size, c.tgt_vocab_size),
        }
    }

    /// The width the learning-rate schedule scales by (`d_model`, or the recurrent hidden width).
    pub fn width(&self) -> usize {
        match self {
            ModelConfig::Seq2seq(c) => c.d_hidden,
            ModelConfig::Luong(c) => c.d_hidden,
            ModelConfig::Bahdanau(c) => c.d_hidden,
            ModelConfig::Transformer(c) => c.d_model,
        }
    }

    /// The longest source or target the model will take, if it has a limit (learned positions).
    pub fn max_len(&self) -> Option<usize> {
        match self {
            ModelConfig::Transformer(c) if c.positions == crate::Positions::Learned => {
                Some(c.max_len)
            }
            _ => None,
        }
    }

    /// Initialises the model.
    ///
    /// # Panics
    /// If the config is invalid; call [`ModelConfig::validate`] first.
    pub fn init(&self, device: &Device) -> Model {
        match self {
            ModelConfig::Seq2seq(c) => Model::Seq2seq(c.init(device)),
            ModelConfig::Luong(c) => Model::Luong(c.init(device)),
            ModelConfig::Bahdanau(c) => Model::Bahdanau(c.init(device)),
            ModelConfig::Transformer(c) => Model::Transformer(c.init(device)),
        }
    }
}

/// Which side's embedding table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The source (encoder) embeddings.
    Source,
    /// The target (decoder) embeddings.
    Target,
}

impl Model {
    /// Overwrites rows of a side's embedding table with pretrained vectors (`(id, vector)`);
    /// with `freeze`, the whole table stays fixed during training. A vector width that differs
    /// from the table's is an error.
    pub fn load_embeddings(
        mut self,
        side: Side,
        rows: &[(usize, Vec<f32>)],
        freeze: bool,
    ) -> Result<Self, NnError> {
        let embedding = match &mut self {
            Model::Seq2seq(m) => m.embedding_mut(side),
            Model::Luong(m) => m.embedding_mut(side),
            Model::Bahdanau(m) => m.embedding_mut(side),
            Model::Transformer(m) => m.embedding_mut(side),
        };
        let weight = embedding.weight.val();
        let [vocab_size, width] = weight.dims();
        let device = weight.device();
        let mut values: Vec<f32> = weight
            .into_data()
            .convert::<f32>()
            .try_to_vec()
            .expect("converted to f32");
        for (id, vector) in rows {
            if vector.len() != width || *id >= vocab_size {
                return Err(NnError::Config(format!(
                    "a pretrained vector of width {} for id {id} does not fit a {vocab_size} x {width} embedding table",
                    vector.len()
                )));
            }
            values[id * width..(id + 1) * width].copy_from_slice(vector);
        }
        let table = Tensor::<2>::from_data(TensorData::new(values, [vocab_size, width]), &device);
        embedding.weight = Param::from_tensor(table).set_require_grad(!freeze);
        Ok(self)
    }

    /// The width of a side's embedding table.
    pub fn embedding_width(&mut self, side: Side) -> usize {
        let embedding = match self {
            Model::Seq2seq(m) => m.embedding_mut(side),
            Model::Luong(m) => m.embedding_mut(side),
            Model::Bahdanau(m) => m.embedding_mut(side),
            Model::Transformer(m) => m.embedding_mut(side),
        };
        embedding.weight.val().dims()[1]
    }
}

/// Runs `$body` with `$m` bound to the architecture inside a [`Model`] whose memory and state are recurrent.
macro_rules! recurrent {
    ($model:expr, $m:ident => $body:expr, $other:pat => $fallback:expr) => {
        match $model {
            Model::Seq2seq($m) => $body,
            Model::Luong($m) => $body,
            Model::Bahdanau($m) => $body,
            $other => $fallback,
        }
    };
}

impl Seq2Seq for Model {
    type Memory = ModelMemory;
    type State = ModelState;

    fn forward_features(
        &self,
        src: Tensor<2, Int>,
        src_mask_pad: Tensor<2, Bool>,
        tgt_in: Tensor<2, Int>,
        tgt_mask_pad: Tensor<2, Bool>,
    ) -> Tensor<3> {
        recurrent!(self,
            m => m.forward_features(src, src_mask_pad, tgt_in, tgt_mask_pad),
            Model::Transformer(m) => m.forward_features(src, src_mask_pad, tgt_in, tgt_mask_pad))
    }

    fn project(&self, features: Tensor<2>) -> Tensor<2> {
        recurrent!(self, m => m.project(features), Model::Transformer(m) => m.project(features))
    }

    fn encode(&self, src: Tensor<2, Int>, src_mask_pad: Tensor<2, Bool>) -> ModelMemory {
        recurrent!(self,
            m => ModelMemory::Recurrent(m.encode(src, src_mask_pad)),
            Model::Transformer(m) => ModelMemory::Transformer(m.encode(src, src_mask_pad)))
    }

    fn init_state(&self, memory: &ModelMemory) -> ModelState {
        match (self, memory) {
            (Model::Transformer(m), ModelMemory::Transformer(mem)) => {
                ModelState::Transformer(m.init_state(mem))
            }
            (model, ModelMemory::Recurrent(mem)) => recurrent!(model,
                m => ModelState::Recurrent(m.init_state(mem)),
                _ => panic!("a recurrent memory given to a Transformer")),
            _ => panic!("a Transformer memory given to a recurrent model"),
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
            (model, ModelMemory::Recurrent(mem), ModelState::Recurrent(st)) => {
                let step = recurrent!(model,
                    m => m.decode_step(mem, prev_tokens, st),
                    _ => panic!("a recurrent memory given to a Transformer"));
                DecodeStep {
                    logits: step.logits,
                    state: ModelState::Recurrent(step.state),
                    attention: step.attention,
                }
            }
            _ => panic!("memory and state of different architectures"),
        }
    }

    fn max_len(&self) -> Option<usize> {
        recurrent!(self, m => m.max_len(), Model::Transformer(m) => m.max_len())
    }

    fn teacher_forced(&self, teacher_forcing: f64) -> bool {
        recurrent!(self, m => m.teacher_forced(teacher_forcing), Model::Transformer(m) => m.teacher_forced(teacher_forcing))
    }
}

impl BatchSelect for ModelMemory {
    fn select_batch(self, indices: Tensor<1, Int>) -> Self {
        match self {
            ModelMemory::Recurrent(m) => ModelMemory::Recurrent(m.select_batch(indices)),
            ModelMemory::Transformer(m) => ModelMemory::Transformer(m.select_batch(indices)),
        }
    }
}

impl BatchSelect for ModelState {
    fn select_batch(self, indices: Tensor<1, Int>) -> Self {
        match self {
            ModelState::Recurrent(s) => ModelState::Recurrent(s.select_batch(indices)),
            ModelState::Transformer(s) => ModelState::Transformer(s.select_batch(indices)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretrained_rows_replace_the_embeddings_and_freeze_them() {
        let dev = crate::test_util::test_device().autodiff();
        let config = ModelConfig::Luong(
            crate::LuongConfig::new(8, 9)
                .with_d_embedding(3)
                .with_d_hidden(4),
        );
        let mut model = config.init(&dev);
        assert_eq!(model.embedding_width(Side::Source), 3);
        let model = model
            .load_embeddings(Side::Source, &[(5, vec![1.0, 2.0, 3.0])], true)
            .unwrap();
        let Model::Luong(mut luong) = model else {
            unreachable!()
        };
        let table = luong.embedding_mut(Side::Source).weight.val();
        let row: Vec<f32> = table
            .clone()
            .slice(s![5..6, ..])
            .into_data()
            .try_to_vec()
            .unwrap();
        assert_eq!(row, vec![1.0, 2.0, 3.0]);
        assert!(
            !luong
                .embedding_mut(Side::Source)
                .weight
                .val()
                .is_require_grad()
        );
        let err = config
            .init(&dev)
            .load_embeddings(Side::Target, &[(1, vec![0.0; 4])], false)
            .unwrap_err();
        assert!(err.to_string().contains("does not fit"));
    }

    #[test]
    fn scheduled_sampling_feeds_references_at_ratio_one_and_predictions_at_zero() {
        use crate::test_util::{ids, test_device};
        let dev = test_device();
        let model = ModelConfig::Seq2seq(
            crate::RnnSeq2SeqConfig::new(11, 13)
                .with_d_hidden(8)
                .with_dropout(0.0),
        )
        .init(&dev);
        let (src, src_pad) = ids(&[&[4, 5, 6], &[7, 8, 0]], &dev);
        let (tgt, tgt_pad) = ids(&[&[2, 4, 5, 6], &[2, 9, 10, 3]], &dev);
        let forced = model.forward(src.clone(), src_pad.clone(), tgt.clone(), tgt_pad.clone());
        let same = model.forward_train(
            src.clone(),
            src_pad.clone(),
            tgt.clone(),
            tgt_pad.clone(),
            1.0,
        );
        forced
            .clone()
            .into_data()
            .assert_eq(&same.into_data(), true);
        // Ratio 0 is free running: the same as feeding the greedy prediction of each step.
        let free = model.forward_train(
            src.clone(),
            src_pad.clone(),
            tgt.clone(),
            tgt_pad.clone(),
            0.0,
        );
        let memory = model.encode(src, src_pad);
        let mut state = model.init_state(&memory);
        let mut tokens = tgt.slice(s![.., 0..1]).reshape([2]);
        for t in 0..4 {
            let step = model.decode_step(&memory, tokens, state);
            let expected = free.clone().slice(s![.., t..t + 1, ..]).reshape([2, 13]);
            step.logits
                .clone()
                .into_data()
                .assert_approx_eq::<f32>(&expected.into_data(), burn::tensor::Tolerance::default());
            tokens = step.logits.argmax(1).reshape([2]);
            state = step.state;
        }
        let transformer = ModelConfig::Transformer(
            crate::TransformerConfig::new(11, 13)
                .with_d_model(8)
                .with_n_heads(2)
                .with_dropout(0.0),
        )
        .init(&dev);
        let (src, src_pad) = ids(&[&[4, 5, 6]], &dev);
        let (tgt, tgt_pad) = ids(&[&[2, 4, 5]], &dev);
        let a = transformer.forward(src.clone(), src_pad.clone(), tgt.clone(), tgt_pad.clone());
        let b = transformer.forward_train(src, src_pad, tgt, tgt_pad, 0.0);
        a.into_data().assert_eq(&b.into_data(), true);
    }

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
