//! Greedy decoding: at each step, feed back the most probable token, for a whole batch at once.

use burn::prelude::*;
use transduce_nn::Seq2Seq;
use transduce_nn::special::{EOS, SOS};

use crate::{log_sum_exp, to_f32_async, to_ids_async};

/// A decoded sequence.
#[derive(Clone, Debug, PartialEq)]
pub struct Hypothesis {
    /// Output ids, without `<sos>` and `<eos>`.
    pub tokens: Vec<usize>,
    /// Sum of the log-probabilities of the tokens and of the final `<eos>` (forced, and its
    /// log-probability charged, when the length limit is reached, as fairseq does).
    pub score: f32,
    /// Per output token and the final `<eos>`, its attention over the real (unpadded) source positions.
    pub attention: Vec<Vec<f32>>,
}

/// Decodes a batch greedily, stopping each sequence at `<eos>`; after `max_len` tokens `<eos>`
/// is forced and its log-probability charged (fairseq's convention, which beam search shares,
/// so that beam width 1 equals greedy).
///
/// # Shapes
/// - src: `[batch_size, src_len]`
/// - src_mask_pad: `[batch_size, src_len]` (`true` = padding)
pub fn greedy<M: Seq2Seq>(
    model: &M,
    src: Tensor<2, Int>,
    src_mask_pad: Tensor<2, Bool>,
    max_len: usize,
) -> Vec<Hypothesis> {
    let [batch_size, _] = src.dims();
    greedy_with_limits(model, src, src_mask_pad, &vec![max_len; batch_size])
}

/// [`greedy`] with a length limit per sentence, so that a sentence's translation does not depend
/// on the batch it is decoded in.
///
/// # Shapes
/// - src: `[batch_size, src_len]`
/// - src_mask_pad: `[batch_size, src_len]` (`true` = padding)
/// - max_lens: `batch_size` limits
///
/// # Panics
/// If `max_lens` does not have one limit per sentence.
pub fn greedy_with_limits<M: Seq2Seq>(
    model: &M,
    src: Tensor<2, Int>,
    src_mask_pad: Tensor<2, Bool>,
    max_lens: &[usize],
) -> Vec<Hypothesis> {
    burn::tensor::read_sync(greedy_with_limits_async(model, src, src_mask_pad, max_lens))
}

/// [`greedy_with_limits`], reading the device without blocking (for WebGPU in a browser).
///
/// # Panics
/// As [`greedy_with_limits`].
pub async fn greedy_with_limits_async<M: Seq2Seq>(
    model: &M,
    src: Tensor<2, Int>,
    src_mask_pad: Tensor<2, Bool>,
    max_lens: &[usize],
) -> Vec<Hypothesis> {
    let [batch_size, src_len] = src.dims();
    assert_eq!(max_lens.len(), batch_size, "one length limit per sentence");
    let device = src.device();
    let src_lens: Vec<usize> = to_ids_async(src_mask_pad.clone().bool_not().int().sum_dim(1)).await;
    let memory = model.encode(src, src_mask_pad);
    let mut state = model.init_state(&memory);
    let mut tokens = Tensor::<1, Int>::full([batch_size], SOS as i64, &device);
    let mut hyps = vec![
        Hypothesis {
            tokens: Vec::new(),
            score: 0.0,
            attention: Vec::new(),
        };
        batch_size
    ];
    let mut done = vec![false; batch_size];
    for step in 0.. {
        let out = model.decode_step(&memory, tokens, state);
        state = out.state;
        let lse = log_sum_exp(out.logits.clone()); // [batch, 1]
        let logits = out.logits;
        // Sentences out of room end with <eos>, at its log-probability.
        let at_limit: Vec<bool> = (0..batch_size)
            .map(|b| !done[b] && step >= max_lens[b])
            .collect();
        let eos_scores = if at_limit.contains(&true) {
            to_f32_async(logits.clone().slice([0..batch_size, EOS..EOS + 1]) - lse.clone()).await // [batch]
        } else {
            Vec::new()
        };
        let (best, best_ids) = logits.max_dim_with_indices(1); // [batch, 1]
        let ids = to_ids_async(best_ids.clone()).await;
        let scores = to_f32_async(best - lse).await; // log-probabilities of the chosen tokens
        let attention = to_f32_async(out.attention).await; // [batch * src_len]
        for b in 0..batch_size {
            if done[b] {
                continue;
            }
            let hyp = &mut hyps[b];
            hyp.attention
                .push(attention[b * src_len..b * src_len + src_lens[b]].to_vec());
            if at_limit[b] {
                hyp.score += eos_scores[b];
                done[b] = true;
            } else {
                hyp.score += scores[b];
                if ids[b] == EOS {
                    done[b] = true;
                } else {
                    hyp.tokens.push(ids[b]);
                }
            }
        }
        if done.iter().all(|&d| d) {
            break;
        }
        tokens = best_ids.reshape([batch_size]);
    }
    hyps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TableModel;

    #[test]
    fn follows_the_argmax_chain_and_stops_at_eos() {
        // From <sos> (2) the best is 5, then 6, then <eos>.
        let model = TableModel::chain(8, &[(2, 5), (5, 6), (6, EOS)]);
        let (src, mask) = model.source(&[3, 2]);
        let hyps = greedy(&model, src, mask, 10);
        assert_eq!(hyps.len(), 2);
        for (hyp, src_len) in hyps.iter().zip([3, 2]) {
            assert_eq!(hyp.tokens, vec![5, 6]);
            assert_eq!(hyp.attention.len(), 3); // two tokens and <eos>
            assert!(hyp.attention.iter().all(|row| row.len() == src_len));
            let expected = 3.0 * model.best_log_prob();
            assert!(
                (hyp.score - expected).abs() < 1e-4,
                "{} vs {expected}",
                hyp.score
            );
        }
    }

    #[test]
    fn each_sentence_stops_at_its_own_limit() {
        // The same source decoded alone and next to sentences with other limits.
        let model = TableModel::chain(8, &[(2, 5), (5, 5)]);
        let (src, mask) = model.source(&[2, 2, 2]);
        let hyps = greedy_with_limits(&model, src, mask, &[1, 3, 6]);
        let lens: Vec<usize> = hyps.iter().map(|h| h.tokens.len()).collect();
        assert_eq!(lens, vec![1, 3, 6]);
        let (src, mask) = model.source(&[2]);
        assert_eq!(greedy(&model, src, mask, 3)[0], hyps[1]);
    }

    #[test]
    fn forces_and_charges_eos_at_max_len() {
        // A model that never prefers <eos>: stop after 4 tokens, then charge log p(<eos> | 5).
        let model = TableModel::chain(8, &[(2, 5), (5, 5)]);
        let (src, mask) = model.source(&[2]);
        let hyps = greedy(&model, src, mask, 4);
        assert_eq!(hyps[0].tokens, vec![5, 5, 5, 5]);
        assert_eq!(
            hyps[0].attention.len(),
            5,
            "four tokens and the forced <eos>"
        );
        let expected = 4.0 * model.best_log_prob() + model.log_prob(5, EOS);
        assert!(
            (hyps[0].score - expected).abs() < 1e-4,
            "{} vs {expected}",
            hyps[0].score
        );
    }
}
