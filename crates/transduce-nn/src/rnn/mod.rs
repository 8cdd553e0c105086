//! The recurrent family's shared parts: cells, the (bidirectional) encoder, attention over its
//! states, the bridge to the decoder's initial state, and the memory and state that the
//! recurrent models' decoding steps pass around.

pub mod attention;
pub mod cell;
pub mod elman;
pub mod encoder;

use crate::activation::tanh;
use crate::dropout::dropout;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::prelude::*;

use crate::BatchSelect;
use crate::NnError;
use crate::pytorch::Importer;
use cell::{CellKind, CellState};
use encoder::{RnnEncoder, RnnEncoderConfig};

/// Configuration of the recurrent models' [`SourceEncoder`].
#[derive(Config, Debug)]
pub struct SourceEncoderConfig {
    /// Source vocabulary size.
    pub src_vocab_size: usize,
    /// Which recurrence.
    pub cell: CellKind,
    /// Embedding width.
    pub d_embedding: usize,
    /// Encoder output width (split between directions when bidirectional).
    pub d_hidden: usize,
    /// Layers (the decoder has as many).
    pub n_layers: usize,
    /// Read the source in both directions.
    pub bidirectional: bool,
    /// Dropout on embeddings and between layers.
    pub dropout: f64,
}

/// Embeds and encodes the source, and bridges the final states to the decoder's initial states.
#[derive(Module, Debug)]
pub struct SourceEncoder {
    /// Source token embeddings.
    embedding: Embedding,
    /// The recurrent layers.
    rnn: RnnEncoder,
    /// Bidirectional only: `h_0 = tanh(W_b [h_fwd; h_bwd] + b_b)` for each decoder layer.
    bridge_h: Option<Linear>,
    /// Bidirectional LSTM only: the same for the memory cell.
    bridge_c: Option<Linear>,
    /// Dropout on the embeddings.
    dropout: Dropout,
}

/// The encoded source of a recurrent model.
#[derive(Clone, Debug)]
pub struct RecurrentMemory {
    /// Encoder states: `[batch_size, src_len, d_hidden]`.
    pub outputs: Tensor<3>,
    /// Their key side for the attention (see [`attention::RnnAttention::keys`]).
    pub keys: Tensor<3>,
    /// Source padding mask: `[batch_size, src_len]`.
    pub src_mask_pad: Tensor<2, Bool>,
    /// The decoder's initial state per layer.
    pub init: Vec<CellState>,
}

/// A recurrent decoder's state between steps.
#[derive(Clone, Debug)]
pub struct RecurrentState {
    /// Per decoder layer.
    pub layers: Vec<CellState>,
    /// What the next step also takes as input: Luong's attentional state `s̃_{t-1}` (input
    /// feeding); `None` when unused.
    pub feed: Option<Tensor<2>>,
}

impl SourceEncoderConfig {
    /// Initialises the encoder.
    pub fn init(&self, device: &Device) -> SourceEncoder {
        let bridge = || LinearConfig::new(self.d_hidden, self.d_hidden).init(device);
        SourceEncoder {
            embedding: EmbeddingConfig::new(self.src_vocab_size, self.d_embedding).init(device),
            rnn: RnnEncoderConfig::new(self.cell, self.d_embedding, self.d_hidden)
                .with_n_layers(self.n_layers)
                .with_bidirectional(self.bidirectional)
                .with_dropout(self.dropout)
                .init(device),
            bridge_h: self.bidirectional.then(bridge),
            bridge_c: (self.bidirectional && self.cell == CellKind::Lstm).then(bridge),
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

impl SourceEncoder {
    /// Encodes the source into the memory a recurrent decoder reads; `keys` prepares the key side
    /// of its attention from the encoder states (the identity without attention).
    pub(crate) fn memory(
        &self,
        src: Tensor<2, Int>,
        src_mask_pad: Tensor<2, Bool>,
        reverse: bool,
        keys: impl FnOnce(Tensor<3>) -> Tensor<3>,
    ) -> RecurrentMemory {
        let (outputs, init) = self.forward(src, src_mask_pad.clone(), reverse);
        RecurrentMemory {
            keys: keys(outputs.clone()),
            outputs,
            src_mask_pad,
            init,
        }
    }

    /// This encoder with a PyTorch model's `src_emb`, `encoder` (an `nn.RNN`, `nn.GRU` or
    /// `nn.LSTM`), and, when bidirectional, `bridge_h` and `bridge_c` (see [`crate::pytorch`]).
    pub fn load_torch(self, from: &Importer) -> Result<Self, NnError> {
        let bridge = |linear: Option<Linear>, name: &str| match linear {
            Some(linear) => from.linear(linear, name).map(Some),
            None => Ok(None),
        };
        Ok(SourceEncoder {
            embedding: from.embedding(self.embedding, "src_emb")?,
            rnn: self.rnn.load_torch(&from.with_prefix("encoder."))?,
            bridge_h: bridge(self.bridge_h, "bridge_h")?,
            bridge_c: bridge(self.bridge_c, "bridge_c")?,
            dropout: self.dropout,
        })
    }

    /// The source embedding table.
    pub(crate) fn embedding_mut(&mut self) -> &mut Embedding {
        &mut self.embedding
    }

    /// Encodes the source; with `reverse`, each sentence's real tokens are read in reverse order
    /// (Sutskever et al.'s trick; padding stays at the end).
    ///
    /// # Shapes
    /// - src, src_mask_pad: `[batch_size, src_len]`
    /// - output: encoder states `[batch_size, src_len, d_hidden]` and the bridged initial states
    pub fn forward(
        &self,
        src: Tensor<2, Int>,
        src_mask_pad: Tensor<2, Bool>,
        reverse: bool,
    ) -> (Tensor<3>, Vec<CellState>) {
        let src = if reverse {
            reverse_real_tokens(src, src_mask_pad.clone())
        } else {
            src
        };
        let x = dropout(&self.dropout, self.embedding.forward(src)); // [batch, src_len, d_embedding]
        let out = self.rnn.forward(x, src_mask_pad);
        let init = out
            .finals
            .into_iter()
            .map(|s| match &self.bridge_h {
                Some(bridge_h) => CellState {
                    h: tanh(bridge_h.forward(s.h)),
                    c: match (&self.bridge_c, s.c) {
                        (Some(bridge_c), Some(c)) => Some(tanh(bridge_c.forward(c))),
                        (_, c) => c,
                    },
                },
                None => s,
            })
            .collect();
        (out.outputs, init)
    }
}

/// A sequence's positions one at a time, for the loop of a recurrent layer or a teacher-forced
/// decoder.
///
/// The positions are split off by halving: `[0, len)` into two halves, each of those into two,
/// and so on. Under autodiff the backward pass of a slice builds a zero tensor the size of its
/// input and adds the slice's gradient into it, so slicing `len` positions straight out of the
/// sequence would cost `len` full-size tensors (38–58 ms for `[32, 24, 2048]`, against 10–20 ms
/// for one operation of that size); halving costs about `2 · log2(len)`.
///
/// # Shapes
/// - x: `[batch_size, len, d]`
/// - output: `len` tensors `[batch_size, d]`
pub fn time_steps(x: Tensor<3>) -> Vec<Tensor<2>> {
    let [batch_size, len, d] = x.dims();
    let mut steps = Vec::with_capacity(len);
    split_halves(x, &mut steps);
    steps
        .into_iter()
        .map(|t| t.reshape([batch_size, d])) // [batch, d]
        .collect()
}

/// One decoding step's input: the previous tokens embedded, then dropout (the recurrent
/// decoders' `y_{t-1}`).
///
/// # Shapes
/// - tokens: `[batch_size]`
/// - output: `[batch_size, d_embedding]`
pub(crate) fn embed_step(
    embedding: &Embedding,
    dropout_layer: &Dropout,
    tokens: Tensor<1, Int>,
) -> Tensor<2> {
    let [batch_size] = tokens.dims();
    let y = embedding
        .forward(tokens.reshape([batch_size, 1]))
        .squeeze_dim::<2>(1); // [batch, d_embedding]
    dropout(dropout_layer, y)
}

/// Appends `x`'s positions to `out` in order, halving `x` until single positions remain.
fn split_halves(x: Tensor<3>, out: &mut Vec<Tensor<3>>) {
    let len = x.dims()[1];
    if len <= 1 {
        out.push(x);
        return;
    }
    let mid = len / 2;
    split_halves(x.clone().slice(s![.., 0..mid, ..]), out);
    split_halves(x.slice(s![.., mid..len, ..]), out);
}

/// Reverses each row's non-padding prefix: `[a b c <pad>] -> [c b a <pad>]`.
///
/// # Shapes
/// - ids, mask_pad: `[batch_size, len]`
pub fn reverse_real_tokens(ids: Tensor<2, Int>, mask_pad: Tensor<2, Bool>) -> Tensor<2, Int> {
    let [batch_size, len] = ids.dims();
    let device = ids.device();
    let lens = mask_pad.bool_not().int().sum_dim(1); // [batch, 1]
    let positions = Tensor::<1, Int>::arange(0..len as i64, &device)
        .reshape([1, len])
        .expand([batch_size, len]); // [batch, len]
    let real = positions
        .clone()
        .lower(lens.clone().expand([batch_size, len]));
    let reversed = lens.expand([batch_size, len]).sub_scalar(1) - positions.clone();
    let index = positions.mask_where(real, reversed);
    ids.gather(1, index)
}

impl RecurrentState {
    /// The top decoder layer's hidden state: `[batch_size, d_hidden]`.
    pub fn top(&self) -> Tensor<2> {
        self.layers.last().expect("at least one layer").h.clone()
    }
}

impl BatchSelect for RecurrentMemory {
    fn select_batch(self, indices: Tensor<1, Int>) -> Self {
        RecurrentMemory {
            outputs: self.outputs.select_batch(indices.clone()),
            keys: self.keys.select_batch(indices.clone()),
            src_mask_pad: self.src_mask_pad.select_batch(indices.clone()),
            init: self.init.select_batch(indices),
        }
    }
}

impl BatchSelect for RecurrentState {
    fn select_batch(self, indices: Tensor<1, Int>) -> Self {
        RecurrentState {
            layers: self.layers.select_batch(indices.clone()),
            feed: self.feed.select_batch(indices),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{ids, test_device};

    #[test]
    fn time_steps_are_the_positions_and_pass_their_gradients_back() {
        let ad = crate::test_util::test_device().autodiff();
        let data: Vec<f32> = (0..2 * 7 * 3).map(|i| i as f32).collect();
        let x = Tensor::<3>::from_data(TensorData::new(data, [2, 7, 3]), &ad).require_grad();
        let steps = time_steps(x.clone());
        assert_eq!(steps.len(), 7);
        let mut loss = Tensor::<1>::zeros([1], &ad);
        for (t, step) in steps.into_iter().enumerate() {
            step.clone().into_data().assert_eq(
                &x.clone()
                    .slice(s![.., t..t + 1, ..])
                    .reshape([2, 3])
                    .into_data(),
                true,
            );
            loss = loss + step.sum().mul_scalar((t + 1) as f32);
        }
        let grad = x.grad(&loss.backward()).unwrap();
        let expected: Vec<f32> = (0..2 * 7 * 3).map(|i| ((i / 3) % 7 + 1) as f32).collect();
        grad.into_data()
            .assert_eq(&TensorData::new(expected, [2, 7, 3]), true);
    }

    #[test]
    fn reverses_only_the_real_tokens() {
        let dev = test_device();
        let (t, mask) = ids(&[&[4, 5, 6, 0], &[7, 8, 9, 10]], &dev);
        let r: Vec<i64> = reverse_real_tokens(t, mask)
            .into_data()
            .convert::<i64>()
            .try_to_vec()
            .unwrap();
        assert_eq!(r, vec![6, 5, 4, 0, 10, 9, 8, 7]);
    }
}
