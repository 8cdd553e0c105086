//! Sequence to sequence learning with a fixed context (Sutskever et al. 2014, "Sequence to
//! Sequence Learning with Neural Networks", <https://arxiv.org/abs/1409.3215>).
//!
//! The encoder reads the source; its final state is the one fixed-size context vector that
//! initialises the decoder (through a learned bridge when the encoder is bidirectional):
//! ```text
//! h_t = f(x_t, h_{t-1})                       encoder, over the source (optionally reversed)
//! s_0 = h_N                                   the context
//! s_t = f(y_{t-1}, s_{t-1}),  p(y_t | y_<t, x) = softmax(W_y s_t + b_y)
//! ```
//! `f` is an Elman, GRU or LSTM cell. With `reverse_source`, each source sentence is read
//! backwards (the paper's trick: it puts the first source words next to the first target words).
//!
//! With `context_every_step`, the context `c = s_0` (the top layer's initial hidden state) is
//! also an input of every decoder step and of the output layer, as in Cho et al. 2014,
//! "Learning Phrase Representations using RNN Encoder-Decoder for Statistical Machine
//! Translation" (<https://arxiv.org/abs/1406.1078>), so the decoder does not have to carry the
//! source through its state alone:
//! ```text
//! s_t = f([y_{t-1}; c], s_{t-1}),  p(y_t | y_<t, x) = softmax(W_y [s_t; y_{t-1}; c] + b_y)
//! ```
//! There is no attention: each step reports all-zero attention weights.

use crate::dropout::dropout;
use crate::linear::{Linear, LinearConfig};
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig};
use burn::prelude::*;

use crate::NnError;
use crate::pytorch::Importer;
use crate::rnn::cell::CellKind;
use crate::rnn::encoder::{RnnDecoderStack, RnnDecoderStackConfig};
use crate::rnn::{
    RecurrentMemory, RecurrentState, SourceEncoder, SourceEncoderConfig, embed_step, time_steps,
};
use crate::seq2seq::{DecodeStep, Seq2Seq};

/// Configuration of an [`RnnSeq2Seq`].
#[derive(Config, Debug)]
pub struct RnnSeq2SeqConfig {
    /// Source vocabulary size.
    pub src_vocab_size: usize,
    /// Target vocabulary size.
    pub tgt_vocab_size: usize,
    /// The recurrence: rnn (Elman), gru or lstm. Default: lstm
    #[config(default = "CellKind::Lstm")]
    pub cell: CellKind,
    /// Embedding width. Default: 64
    #[config(default = 64)]
    pub d_embedding: usize,
    /// Hidden width of the decoder and of the encoder's output (split between directions). Default: 128
    #[config(default = 128)]
    pub d_hidden: usize,
    /// Layers of the encoder and of the decoder. Default: 1
    #[config(default = 1)]
    pub n_layers: usize,
    /// Bidirectional encoder. Default: false
    #[config(default = false)]
    pub bidirectional: bool,
    /// Dropout on embeddings, between layers and before the output layer. Default: 0.1
    #[config(default = 0.1)]
    pub dropout: f64,
    /// Read each source sentence backwards. Default: false
    #[config(default = false)]
    pub reverse_source: bool,
    /// Feed the context to every decoder step and to the output layer (Cho et al. 2014).
    /// Default: false
    #[config(default = false)]
    pub context_every_step: bool,
}

/// The encoder-decoder without attention.
#[derive(Module, Debug)]
pub struct RnnSeq2Seq {
    /// Source embedding, recurrent encoder and bridge.
    encoder: SourceEncoder,
    /// Target embeddings.
    embedding: Embedding,
    /// Decoder layers.
    decoder: RnnDecoderStack,
    /// `W_y`, `b_y`, stored `[vocab, d_hidden]`, or `[vocab, d_hidden + d_embedding +
    /// d_hidden]` with the context at every step (see [`crate::linear`]).
    output: Linear,
    /// Dropout on target embeddings and before the output layer.
    dropout: Dropout,
    /// Read the source backwards.
    reverse_source: bool,
    /// The context is an input of every step and of the output layer.
    context_every_step: bool,
}

/// Checks the options the recurrent models share.
pub(crate) fn validate_recurrent(
    vocab: (usize, usize),
    d_embedding: usize,
    d_hidden: usize,
    n_layers: usize,
    bidirectional: bool,
    dropout: f64,
) -> Result<(), NnError> {
    let err = |m: String| Err(NnError::Config(m));
    if vocab.0 == 0 || vocab.1 == 0 {
        return err("vocabulary sizes must be positive".into());
    }
    if d_embedding == 0 || d_hidden == 0 {
        return err("d_embedding and d_hidden must be positive".into());
    }
    if n_layers == 0 {
        return err("n_layers must be at least 1".into());
    }
    if bidirectional && !d_hidden.is_multiple_of(2) {
        return err(format!(
            "a bidirectional encoder splits d_hidden between directions: it must be even, got {d_hidden}"
        ));
    }
    if !(0.0..1.0).contains(&dropout) {
        return err(format!("dropout must be in [0, 1), got {dropout}"));
    }
    Ok(())
}

impl RnnSeq2SeqConfig {
    /// Checks the values before anything is built.
    pub fn validate(&self) -> Result<(), NnError> {
        validate_recurrent(
            (self.src_vocab_size, self.tgt_vocab_size),
            self.d_embedding,
            self.d_hidden,
            self.n_layers,
            self.bidirectional,
            self.dropout,
        )
    }

    /// Initialises the model.
    ///
    /// # Panics
    /// If the config is invalid; call [`RnnSeq2SeqConfig::validate`] first.
    pub fn init(&self, device: &Device) -> RnnSeq2Seq {
        if let Err(e) = self.validate() {
            panic!("{e}");
        }
        let d_context = if self.context_every_step {
            self.d_hidden
        } else {
            0
        };
        RnnSeq2Seq {
            encoder: SourceEncoderConfig::new(
                self.src_vocab_size,
                self.cell,
                self.d_embedding,
                self.d_hidden,
                self.n_layers,
                self.bidirectional,
                self.dropout,
            )
            .init(device),
            embedding: EmbeddingConfig::new(self.tgt_vocab_size, self.d_embedding).init(device),
            decoder: RnnDecoderStackConfig::new(
                self.cell,
                self.d_embedding + d_context,
                self.d_hidden,
            )
            .with_n_layers(self.n_layers)
            .with_dropout(self.dropout)
            .init(device),
            output: LinearConfig::new(
                self.d_hidden
                    + if self.context_every_step {
                        self.d_embedding + d_context
                    } else {
                        0
                    },
                self.tgt_vocab_size,
            )
            .init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            reverse_source: self.reverse_source,
            context_every_step: self.context_every_step,
        }
    }
}

impl RnnSeq2Seq {
    /// This model with the weights of a PyTorch seq2seq model's state dict: the source
    /// encoder (`src_emb`, `encoder`, `bridge_h`, `bridge_c`), `tgt_emb`, `decoder` and `out`
    /// (see [`crate::pytorch`]).
    pub fn load_torch(self, from: &Importer) -> Result<Self, NnError> {
        Ok(RnnSeq2Seq {
            encoder: self.encoder.load_torch(from)?,
            embedding: from.embedding(self.embedding, "tgt_emb")?,
            decoder: self.decoder.load_torch(&from.with_prefix("decoder."))?,
            output: from.linear_out_in(self.output, "out")?,
            dropout: self.dropout,
            reverse_source: self.reverse_source,
            context_every_step: self.context_every_step,
        })
    }

    /// The context `c` fed to every step with `context_every_step`: the top decoder layer's
    /// initial hidden state `[batch_size, d_hidden]`; `None` without.
    fn context(&self, memory: &RecurrentMemory) -> Option<Tensor<2>> {
        self.context_every_step
            .then(|| memory.init.last().expect("one state per layer").h.clone())
    }

    /// The embedding table of a side.
    pub(crate) fn embedding_mut(&mut self, side: crate::Side) -> &mut Embedding {
        match side {
            crate::Side::Source => self.encoder.embedding_mut(),
            crate::Side::Target => &mut self.embedding,
        }
    }
}

impl Seq2Seq for RnnSeq2Seq {
    type Memory = RecurrentMemory;
    type State = RecurrentState;

    fn forward_features(
        &self,
        src: Tensor<2, Int>,
        src_mask_pad: Tensor<2, Bool>,
        tgt_in: Tensor<2, Int>,
        _tgt_mask_pad: Tensor<2, Bool>,
    ) -> Tensor<3> {
        // Only the recurrence is stepped: the embedding, the dropout, the first layer's input
        // projection and the projection onto the vocabulary run once for the whole sequence.
        let memory = self.encode(src, src_mask_pad);
        let mut layers = self.init_state(&memory).layers;
        let y = dropout(&self.dropout, self.embedding.forward(tgt_in)); // [batch, tgt_len, d_embedding]
        let [batch_size, tgt_len, _] = y.dims();
        let context = self.context(&memory);
        let (x_proj, decoder) = match &context {
            // W [y_t; c] = W_y y_t + W_c c: the context's part is the same at every step.
            Some(c) => {
                let (embedding, decoder) = self.decoder.bind().split_input(y.dims()[2]);
                let c_proj = decoder.project_input(c.clone()).unsqueeze_dim::<3>(1); // [batch, 1, gates * d_hidden]
                (embedding.forward(y.clone()) + c_proj, decoder)
            }
            None => {
                let decoder = self.decoder.bind();
                (decoder.project_input(y.clone()), decoder)
            }
        };
        let mut states = Vec::with_capacity(tgt_len);
        for x_t in time_steps(x_proj) {
            let (s, next) = decoder.step_projected(x_t, layers);
            states.push(s);
            layers = next;
        }
        let states = dropout(&self.dropout, Tensor::stack::<3>(states, 1)); // [batch, tgt_len, d_hidden]
        match context {
            Some(c) => {
                let [_, d_context] = c.dims();
                let c = c
                    .unsqueeze_dim::<3>(1)
                    .expand([batch_size, tgt_len, d_context]);
                Tensor::cat(vec![states, y, c], 2) // [batch, tgt_len, d_hidden + d_embedding + d_hidden]
            }
            None => states,
        }
    }

    fn project(&self, features: Tensor<2>) -> Tensor<2> {
        self.output.forward(features)
    }

    fn encode(&self, src: Tensor<2, Int>, src_mask_pad: Tensor<2, Bool>) -> RecurrentMemory {
        self.encoder
            .memory(src, src_mask_pad, self.reverse_source, |outputs| outputs)
    }

    fn init_state(&self, memory: &RecurrentMemory) -> RecurrentState {
        RecurrentState {
            layers: memory.init.clone(),
            feed: None,
        }
    }

    fn decode_step(
        &self,
        memory: &RecurrentMemory,
        prev_tokens: Tensor<1, Int>,
        state: RecurrentState,
    ) -> DecodeStep<RecurrentState> {
        let y = embed_step(&self.embedding, &self.dropout, prev_tokens); // [batch, d_embedding]
        let decoder = self.decoder.bind();
        let (logits, layers) = match self.context(memory) {
            Some(c) => {
                let x = Tensor::cat(vec![y.clone(), c.clone()], 1); // [batch, d_embedding + d_hidden]
                let (s, layers) = decoder.step(x, state.layers); // [batch, d_hidden]
                let features = Tensor::cat(vec![dropout(&self.dropout, s), y, c], 1);
                (self.output.forward(features), layers) // [batch, vocab]
            }
            None => {
                let (s, layers) = decoder.step(y, state.layers); // [batch, d_hidden]
                (self.output.forward(dropout(&self.dropout, s)), layers)
            }
        };
        DecodeStep {
            logits,
            state: RecurrentState { layers, feed: None },
            attention: Tensor::zeros(memory.src_mask_pad.dims(), &memory.src_mask_pad.device()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::*;

    fn config(cell: CellKind) -> RnnSeq2SeqConfig {
        RnnSeq2SeqConfig::new(11, 13)
            .with_cell(cell)
            .with_d_embedding(6)
            .with_d_hidden(8)
            .with_dropout(0.0)
    }

    #[test]
    fn contract_for_every_cell_and_option() {
        for cell in [CellKind::Rnn, CellKind::Gru, CellKind::Lstm] {
            for (bidirectional, reverse_source, n_layers, context_every_step) in [
                (false, false, 1, false),
                (true, false, 2, false),
                (false, true, 2, false),
                (false, false, 1, true),
                (true, true, 2, true),
            ] {
                let model = config(cell)
                    .with_bidirectional(bidirectional)
                    .with_reverse_source(reverse_source)
                    .with_n_layers(n_layers)
                    .with_context_every_step(context_every_step)
                    .init(&test_device());
                assert_seq2seq_contract(&model, 13, false);
            }
        }
    }

    #[test]
    fn gradients_reach_every_parameter() {
        let dev = test_device().autodiff();
        for cell in [CellKind::Rnn, CellKind::Gru, CellKind::Lstm] {
            for (bidirectional, context_every_step) in [(false, false), (true, false), (true, true)]
            {
                let model = config(cell)
                    .with_bidirectional(bidirectional)
                    .with_context_every_step(context_every_step)
                    .with_n_layers(2)
                    .with_dropout(0.1)
                    .init(&dev);
                assert_gradients_reach_every_parameter(&model);
            }
        }
    }

    #[test]
    fn overfits_one_batch() {
        for cell in [CellKind::Rnn, CellKind::Gru, CellKind::Lstm] {
            assert_overfits_one_batch(
                config(cell)
                    .with_d_hidden(32)
                    .init(&test_device().autodiff()),
                400,
            );
        }
        assert_overfits_one_batch(
            config(CellKind::Gru)
                .with_d_hidden(32)
                .with_context_every_step(true)
                .init(&test_device().autodiff()),
            400,
        );
    }

    #[test]
    fn the_context_reaches_every_step_only_when_asked() {
        // Two sources, one decoder state: the same state reset to zeros for both. Without the
        // context at every step the source reaches a step only through the state, so both
        // give the same logits; with it, they differ.
        let dev = test_device();
        let (src, src_pad) = ids(&[&[4, 5, 6], &[7, 8, 9]], &dev);
        let prev = Tensor::<1, Int>::from_data([2, 2], &dev);
        for context_every_step in [false, true] {
            let model = config(CellKind::Gru)
                .with_context_every_step(context_every_step)
                .init(&dev);
            let memory = model.encode(src.clone(), src_pad.clone());
            let mut state = model.init_state(&memory);
            for layer in &mut state.layers {
                layer.h = layer.h.clone().zeros_like();
            }
            let logits = model.decode_step(&memory, prev.clone(), state).logits;
            let rows: Vec<f32> = logits.into_data().try_to_vec().unwrap();
            let (a, b) = rows.split_at(13);
            let differ = a.iter().zip(b).any(|(x, y)| (x - y).abs() > 1e-6);
            assert_eq!(
                differ, context_every_step,
                "context_every_step {context_every_step}"
            );
        }
    }

    #[test]
    fn invalid_configs_are_rejected() {
        assert!(
            config(CellKind::Lstm)
                .with_bidirectional(true)
                .with_d_hidden(7)
                .validate()
                .unwrap_err()
                .to_string()
                .contains("even")
        );
        assert!(config(CellKind::Lstm).with_n_layers(0).validate().is_err());
        assert!(config(CellKind::Lstm).with_dropout(1.5).validate().is_err());
        let json = r#"{"src_vocab_size": 5, "tgt_vocab_size": 5, "cell": "transistor"}"#;
        assert!(serde_json::from_str::<RnnSeq2SeqConfig>(json).is_err());
    }
}
