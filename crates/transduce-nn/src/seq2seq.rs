//! The one interface every architecture implements.
//!
//! Training uses [`Seq2Seq::forward`] (teacher forcing). Inference calls [`Seq2Seq::encode`] once,
//! [`Seq2Seq::init_state`] once, then [`Seq2Seq::decode_step`] once per output token. The memory and
//! the state are plain values owned by the caller, so that beam search can copy and reorder them
//! with [`BatchSelect::select_batch`].

use burn::prelude::*;

/// Values with a leading batch axis that can be gathered or reordered along it.
///
/// Beam search uses this to expand a batch into `batch_size * beam` rows and to reorder hypotheses.
pub trait BatchSelect: Clone {
    /// Keeps the rows named by `indices` (in that order) along the batch axis.
    ///
    /// # Shapes
    /// - indices: `[new_batch_size]`
    fn select_batch(self, indices: Tensor<1, Int>) -> Self;
}

/// What one decoding step returns.
#[derive(Clone, Debug)]
pub struct DecodeStep<S> {
    /// Unnormalised scores of the next token: `[batch_size, vocab_size]`.
    pub logits: Tensor<2>,
    /// The state to pass to the next step.
    pub state: S,
    /// Attention of this step over the source (rows sum to 1, zero on padding): `[batch_size, src_len]`.
    pub attention: Tensor<2>,
}

/// A sequence-to-sequence model.
pub trait Seq2Seq {
    /// The encoded source, computed once per batch.
    type Memory: BatchSelect;
    /// The decoder's recurrent or cached state, advanced by each step.
    type State: BatchSelect;

    /// Teacher-forced forward pass: [`Seq2Seq::project`] applied to
    /// [`Seq2Seq::forward_features`].
    ///
    /// # Shapes
    /// - src: `[batch_size, src_len]`
    /// - src_mask_pad: `[batch_size, src_len]` (`true` = padding)
    /// - tgt_in: `[batch_size, tgt_len]`
    /// - tgt_mask_pad: `[batch_size, tgt_len]` (`true` = padding)
    /// - output: `[batch_size, tgt_len, vocab_size]` logits
    fn forward(
        &self,
        src: Tensor<2, Int>,
        src_mask_pad: Tensor<2, Bool>,
        tgt_in: Tensor<2, Int>,
        tgt_mask_pad: Tensor<2, Bool>,
    ) -> Tensor<3> {
        let features = self.forward_features(src, src_mask_pad, tgt_in, tgt_mask_pad);
        let [batch_size, tgt_len, d_features] = features.dims();
        let logits = self.project(features.reshape([batch_size * tgt_len, d_features])); // [batch * tgt_len, vocab]
        let [_, vocab_size] = logits.dims();
        logits.reshape([batch_size, tgt_len, vocab_size])
    }

    /// The teacher-forced decoder's output at every position, before the projection onto the
    /// vocabulary (dropout included). Training projects only the positions that are not
    /// padding, which saves a fifth of the largest matmul on the benchmark's batches.
    ///
    /// # Shapes
    /// - as [`Seq2Seq::forward`]
    /// - output: `[batch_size, tgt_len, d_features]`
    fn forward_features(
        &self,
        src: Tensor<2, Int>,
        src_mask_pad: Tensor<2, Bool>,
        tgt_in: Tensor<2, Int>,
        tgt_mask_pad: Tensor<2, Bool>,
    ) -> Tensor<3>;

    /// The projection of decoder features onto the vocabulary (the last step of
    /// [`Seq2Seq::forward`]), row by row.
    ///
    /// # Shapes
    /// - features: `[positions, d_features]`
    /// - output: `[positions, vocab_size]` logits
    fn project(&self, features: Tensor<2>) -> Tensor<2>;

    /// Encodes the source.
    ///
    /// # Shapes
    /// - src: `[batch_size, src_len]`
    /// - src_mask_pad: `[batch_size, src_len]` (`true` = padding)
    fn encode(&self, src: Tensor<2, Int>, src_mask_pad: Tensor<2, Bool>) -> Self::Memory;

    /// The decoder state before the first step.
    fn init_state(&self, memory: &Self::Memory) -> Self::State;

    /// Feeds one token per sequence and returns the scores of the next one.
    ///
    /// # Shapes
    /// - prev_tokens: `[batch_size]`, `<sos>` at the first step
    fn decode_step(
        &self,
        memory: &Self::Memory,
        prev_tokens: Tensor<1, Int>,
        state: Self::State,
    ) -> DecodeStep<Self::State>;

    /// The longest source or target the model can take, if it has a limit (learned positions).
    fn max_len(&self) -> Option<usize> {
        None
    }

    /// Whether training with this teacher-forcing ratio is plain teacher forcing, i.e.
    /// [`Seq2Seq::forward`]: a ratio of 1, or a model that decodes all positions at once (the
    /// Transformer overrides this to always say yes).
    fn teacher_forced(&self, teacher_forcing: f64) -> bool {
        teacher_forcing >= 1.0
    }

    /// Training forward pass: teacher forcing, or [`scheduled_sampling`] with reference tokens
    /// fed with probability `teacher_forcing` when [`Seq2Seq::teacher_forced`] says no.
    ///
    /// # Shapes
    /// - as [`Seq2Seq::forward`]
    fn forward_train(
        &self,
        src: Tensor<2, Int>,
        src_mask_pad: Tensor<2, Bool>,
        tgt_in: Tensor<2, Int>,
        tgt_mask_pad: Tensor<2, Bool>,
        teacher_forcing: f64,
    ) -> Tensor<3>
    where
        Self: Sized,
    {
        if self.teacher_forced(teacher_forcing) {
            return self.forward(src, src_mask_pad, tgt_in, tgt_mask_pad);
        }
        scheduled_sampling(self, src, src_mask_pad, tgt_in, teacher_forcing)
    }
}

/// Scheduled sampling (Bengio et al. 2015): teacher forcing by stepping through
/// [`Seq2Seq::decode_step`], except that at each step after the first, each sentence is fed the reference token with probability `ratio` and the model's own
/// most probable previous token otherwise. `ratio = 1` is teacher forcing.
///
/// # Shapes
/// - src, src_mask_pad: `[batch_size, src_len]`
/// - tgt_in: `[batch_size, tgt_len]`
/// - output: `[batch_size, tgt_len, vocab_size]`
pub fn scheduled_sampling<M: Seq2Seq>(
    model: &M,
    src: Tensor<2, Int>,
    src_mask_pad: Tensor<2, Bool>,
    tgt_in: Tensor<2, Int>,
    ratio: f64,
) -> Tensor<3> {
    let [batch_size, tgt_len] = tgt_in.dims();
    let device = tgt_in.device();
    let memory = model.encode(src, src_mask_pad);
    let mut state = model.init_state(&memory);
    let mut logits: Vec<Tensor<2>> = Vec::with_capacity(tgt_len);
    for t in 0..tgt_len {
        let gold = tgt_in.clone().slice(s![.., t..t + 1]).reshape([batch_size]);
        let tokens = match logits.last() {
            Some(previous) if ratio < 1.0 => {
                let predicted = previous.clone().argmax(1).reshape([batch_size]); // [batch]
                let use_model = Tensor::<1>::random(
                    [batch_size],
                    burn::tensor::Distribution::Bernoulli(1.0 - ratio),
                    &device,
                )
                .equal_elem(1.0);
                gold.mask_where(use_model, predicted)
            }
            _ => gold,
        };
        let step = model.decode_step(&memory, tokens, state);
        state = step.state;
        logits.push(step.logits);
    }
    Tensor::stack(logits, 1) // [batch, tgt_len, vocab]
}

impl BatchSelect for Tensor<2> {
    fn select_batch(self, indices: Tensor<1, Int>) -> Self {
        self.select(0, indices)
    }
}

impl BatchSelect for Tensor<2, Bool> {
    fn select_batch(self, indices: Tensor<1, Int>) -> Self {
        // Bool select is not implemented on every backend: go through Int.
        self.int().select(0, indices).bool()
    }
}

impl BatchSelect for Tensor<3> {
    fn select_batch(self, indices: Tensor<1, Int>) -> Self {
        self.select(0, indices)
    }
}

impl BatchSelect for Tensor<4> {
    fn select_batch(self, indices: Tensor<1, Int>) -> Self {
        self.select(0, indices)
    }
}

impl<T: BatchSelect> BatchSelect for Option<T> {
    fn select_batch(self, indices: Tensor<1, Int>) -> Self {
        self.map(|t| t.select_batch(indices))
    }
}

impl<A: BatchSelect, B: BatchSelect> BatchSelect for (A, B) {
    fn select_batch(self, indices: Tensor<1, Int>) -> Self {
        (
            self.0.select_batch(indices.clone()),
            self.1.select_batch(indices),
        )
    }
}

impl<T: BatchSelect> BatchSelect for Vec<T> {
    fn select_batch(self, indices: Tensor<1, Int>) -> Self {
        self.into_iter()
            .map(|t| t.select_batch(indices.clone()))
            .collect()
    }
}
