//! Greedy decoding: at each step, feed back the most probable token, for a whole batch at once.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use transduce_nn::Seq2Seq;
use transduce_nn::special::{EOS, SOS};

use crate::{to_f32, to_ids};

/// A decoded sequence.
#[derive(Clone, Debug, PartialEq)]
pub struct Hypothesis {
    /// Output ids, without `<sos>` and `<eos>`.
    pub tokens: Vec<usize>,
    /// Sum of the log-probabilities of the tokens and of the final `<eos>` (if produced).
    pub score: f32,
    /// Per output token (and the final `<eos>`), its attention over the real (unpadded) source positions.
    pub attention: Vec<Vec<f32>>,
}

/// Decodes a batch greedily, stopping each sequence at `<eos>` or after `max_len` tokens.
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
    let [batch_size, src_len] = src.dims();
    let device = src.device();
    let src_lens: Vec<usize> = to_ids(src_mask_pad.clone().bool_not().int().sum_dim(1));
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
    for _ in 0..=max_len {
        let step = model.decode_step(&memory, tokens, state);
        state = step.state;
        let log_probs = log_softmax(step.logits, 1); // [batch, vocab]
        let (best, best_ids) = log_probs.max_dim_with_indices(1); // [batch, 1]
        let ids = to_ids(best_ids.clone());
        let scores = to_f32(best);
        let attention = to_f32(step.attention); // [batch * src_len]
        for b in 0..batch_size {
            if done[b] {
                continue;
            }
            let hyp = &mut hyps[b];
            hyp.score += scores[b];
            hyp.attention
                .push(attention[b * src_len..b * src_len + src_lens[b]].to_vec());
            if ids[b] == EOS {
                done[b] = true;
            } else if hyp.tokens.len() == max_len {
                // Out of room: the last step's scores and attention belong to no token.
                hyp.score -= scores[b];
                hyp.attention.pop();
                done[b] = true;
            } else {
                hyp.tokens.push(ids[b]);
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
    fn stops_at_max_len_without_eos() {
        let model = TableModel::chain(8, &[(2, 5), (5, 5)]);
        let (src, mask) = model.source(&[2]);
        let hyps = greedy(&model, src, mask, 4);
        assert_eq!(hyps[0].tokens, vec![5, 5, 5, 5]);
        assert_eq!(hyps[0].attention.len(), 4);
    }
}
