//! The batch type every model takes: source and target ids with their padding masks.

use burn::prelude::*;

/// A batch of sentence pairs, padded to the longest sequence on each side.
///
/// Masks use burn's polarity: `true` marks padding.
///
/// The decoder input and output are the target shifted by one (teacher forcing):
/// `tgt_in = <sos> y_1 .. y_n`, `tgt_out = y_1 .. y_n <eos>`.
#[derive(Clone, Debug)]
pub struct Seq2SeqBatch {
    /// Source ids: `[batch_size, src_len]`.
    pub src: Tensor<2, Int>,
    /// Source padding mask (`true` = padding): `[batch_size, src_len]`.
    pub src_mask_pad: Tensor<2, Bool>,
    /// Decoder input, `<sos>` then the target: `[batch_size, tgt_len]`.
    pub tgt_in: Tensor<2, Int>,
    /// Decoder output, the target then `<eos>`: `[batch_size, tgt_len]`.
    pub tgt_out: Tensor<2, Int>,
    /// Target padding mask (`true` = padding), shared by `tgt_in` and `tgt_out`: `[batch_size, tgt_len]`.
    pub tgt_mask_pad: Tensor<2, Bool>,
}
