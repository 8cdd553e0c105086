//! Beam search: keep the `width` best partial translations of each sentence, scored by their
//! summed log-probabilities, for a whole batch at once.
//!
//! The first step runs once per sentence (all hypotheses start from `<sos>`); from the second,
//! each sentence's `width` rows are laid out contiguously (`batch_size * width` rows), and after
//! each step the model's state is reordered with [`BatchSelect::select_batch`], so the search
//! works for every architecture. Finished hypotheses are ranked by their score divided by a
//! [`LengthPenalty`] of their length (which counts `<eos>`). A sentence stops when the `width`
//! best continuations of a step all end (greedy search's rule, so width 1 is greedy search), as
//! soon as no live hypothesis can beat the `nbest`-th best finished one whatever it appends
//! (log-probabilities are at most 0), or after its length limit. It does not stop when `width`
//! hypotheses have finished (fairseq's rule): short hypotheses finish first, and a longer one
//! that the length penalty favours would be cut off (on Multi30k de→en that rule cost 0.8–1.1
//! BLEU and made outputs shorter).

use burn::prelude::*;
use transduce_nn::special::{EOS, SOS};
use transduce_nn::{BatchSelect, Seq2Seq};

use crate::{DecodeError, Hypothesis, rows, to_f32_async, to_ids_async};

/// How finished hypotheses of different lengths are compared: a hypothesis' score (its summed
/// log-probability) is divided by [`LengthPenalty::divisor`] of its length, `<eos>` included.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LengthPenalty {
    /// `score / |Y|`: the mean log-probability per token (`--length-norm`).
    Average,
    /// GNMT's `score / ((5 + |Y|) / 6)^α` (Wu et al. 2016, section 7, without the coverage
    /// term; `--alpha`). `α = 0` is no penalty: the raw score.
    Gnmt(f32),
}

impl LengthPenalty {
    /// What a score of a hypothesis of `len` tokens (`<eos>` included) is divided by.
    pub fn divisor(self, len: usize) -> f32 {
        match self {
            LengthPenalty::Average => len.max(1) as f32,
            LengthPenalty::Gnmt(0.0) => 1.0,
            LengthPenalty::Gnmt(alpha) => ((5 + len) as f32 / 6.0).powf(alpha),
        }
    }

    /// `score` ranked for a hypothesis of `len` tokens (`<eos>` included).
    pub fn normalise(self, score: f32, len: usize) -> f32 {
        score / self.divisor(len)
    }

    /// The best ranked score a live hypothesis of `len` tokens and `score` (at most 0) can still
    /// reach if it finishes with `len + 1` to `longest` tokens: appending tokens only lowers the
    /// score, and the divisor is monotonic in the length, so the best lies at one end.
    fn best_reachable(self, score: f32, len: usize, longest: usize) -> f32 {
        let shortest = len + 1;
        self.normalise(score, shortest)
            .max(self.normalise(score, longest.max(shortest)))
    }
}

/// Beam search options.
#[derive(Clone, Debug, PartialEq)]
pub struct BeamConfig {
    /// Hypotheses kept per sentence (1 = greedy).
    pub width: usize,
    /// Longest output, in tokens (without `<eos>`).
    pub max_len: usize,
    /// How finished hypotheses of different lengths are ranked. Default: [`LengthPenalty::Average`]
    pub length_penalty: LengthPenalty,
    /// Shortest output: `<eos>` is not allowed before this many tokens (fairseq's `--min-len`;
    /// benchmarks set it to `max_len` to decode a fixed number of steps). Default: 0
    pub min_len: usize,
    /// Hypotheses returned per sentence by [`beam_search_nbest`], at most `width`. Default: 1
    pub nbest: usize,
}

impl BeamConfig {
    /// A config with the default length penalty, returning the best hypothesis.
    pub fn new(width: usize, max_len: usize) -> Self {
        BeamConfig {
            width,
            max_len,
            length_penalty: LengthPenalty::Average,
            min_len: 0,
            nbest: 1,
        }
    }

    /// Checks that a search can run with these options (the search functions panic otherwise).
    pub fn validate(&self) -> Result<(), DecodeError> {
        if self.width == 0 {
            return Err(DecodeError::Width);
        }
        if !(1..=self.width).contains(&self.nbest) {
            return Err(DecodeError::NBest {
                nbest: self.nbest,
                width: self.width,
            });
        }
        if let LengthPenalty::Gnmt(alpha) = self.length_penalty
            && !(alpha >= 0.0 && alpha.is_finite())
        {
            return Err(DecodeError::Alpha(alpha));
        }
        Ok(())
    }

    fn normalised(&self, score: f32, len: usize) -> f32 {
        self.length_penalty.normalise(score, len)
    }
}

/// The indices of the `k` largest values of `row`, largest first (ties: the lower index first),
/// in one pass: each value is compared with the smallest of the best so far, and only the few
/// that beat it are inserted into the short sorted list. Blocks of eight whose largest value
/// does not beat it are skipped whole (most of a row, once the list has filled).
fn top_k(row: &[f32], k: usize) -> Vec<usize> {
    let k = k.min(row.len());
    let mut best: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
    if k == 0 {
        return Vec::new();
    }
    for (c, block) in row.chunks(8).enumerate() {
        if best.len() == k {
            let largest = block
                .iter()
                .fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m });
            if largest.partial_cmp(&best[k - 1].0) != Some(std::cmp::Ordering::Greater) {
                continue;
            }
        }
        for (j, &x) in block.iter().enumerate() {
            if best.len() == k && x.partial_cmp(&best[k - 1].0) != Some(std::cmp::Ordering::Greater)
            {
                continue;
            }
            let at = best.partition_point(|&(y, _)| y >= x);
            best.insert(at, (x, c * 8 + j));
            best.truncate(k);
        }
    }
    best.into_iter().map(|(_, i)| i).collect()
}

#[derive(Clone, Debug)]
struct Partial {
    tokens: Vec<usize>,
    score: f32,
    attention: Vec<Vec<f32>>,
}

/// Decodes a batch with beam search and returns the best hypothesis of each sentence.
///
/// # Shapes
/// - src: `[batch_size, src_len]`
/// - src_mask_pad: `[batch_size, src_len]` (`true` = padding)
///
/// # Panics
/// If `config.width` is 0.
pub fn beam_search<M: Seq2Seq>(
    model: &M,
    src: Tensor<2, Int>,
    src_mask_pad: Tensor<2, Bool>,
    config: &BeamConfig,
) -> Vec<Hypothesis> {
    let [batch_size, _] = src.dims();
    beam_search_with_limits(
        model,
        src,
        src_mask_pad,
        config,
        &vec![config.max_len; batch_size],
    )
}

/// [`beam_search`] with a length limit per sentence (instead of `config.max_len`), so that a
/// sentence's translation does not depend on the batch it is decoded in.
///
/// # Panics
/// If `config.width` is 0 or `max_lens` does not have one limit per sentence.
pub fn beam_search_with_limits<M: Seq2Seq>(
    model: &M,
    src: Tensor<2, Int>,
    src_mask_pad: Tensor<2, Bool>,
    config: &BeamConfig,
    max_lens: &[usize],
) -> Vec<Hypothesis> {
    let config = BeamConfig {
        nbest: 1,
        ..config.clone()
    };
    beam_search_nbest(model, src, src_mask_pad, &config, max_lens)
        .into_iter()
        .map(|mut list| list.swap_remove(0))
        .collect()
}

/// The `config.nbest` best hypotheses of each sentence, best first (ranked by
/// `config.length_penalty`), all distinct, with a length limit per sentence. A list is shorter
/// only when fewer hypotheses finished (a vocabulary smaller than the width).
///
/// # Panics
/// If `config.width` is 0, `config.nbest` is 0 or above the width, or `max_lens` does not have
/// one limit per sentence.
pub fn beam_search_nbest<M: Seq2Seq>(
    model: &M,
    src: Tensor<2, Int>,
    src_mask_pad: Tensor<2, Bool>,
    config: &BeamConfig,
    max_lens: &[usize],
) -> Vec<Vec<Hypothesis>> {
    burn::tensor::read_sync(beam_search_nbest_async(
        model,
        src,
        src_mask_pad,
        config,
        max_lens,
    ))
}

/// [`beam_search_nbest`], reading the device without blocking (for WebGPU in a browser).
///
/// # Panics
/// As [`beam_search_nbest`].
pub async fn beam_search_nbest_async<M: Seq2Seq>(
    model: &M,
    src: Tensor<2, Int>,
    src_mask_pad: Tensor<2, Bool>,
    config: &BeamConfig,
    max_lens: &[usize],
) -> Vec<Vec<Hypothesis>> {
    let k = config.width;
    assert!(k > 0, "beam width must be at least 1");
    assert!(
        (1..=k).contains(&config.nbest),
        "nbest must be between 1 and the beam width"
    );
    let [batch_size, src_len] = src.dims();
    assert_eq!(max_lens.len(), batch_size, "one length limit per sentence");
    let device = src.device();
    let src_lens: Vec<usize> = to_ids_async(src_mask_pad.clone().bool_not().int().sum_dim(1)).await;
    // The first step has one row per sentence (every hypothesis starts from `<sos>`); after
    // it, the memory is repeated `k` times and each sentence has `k` rows, laid out together.
    let mut memory = model.encode(src, src_mask_pad);
    let mut state = model.init_state(&memory);
    let mut per_sentence = 1; // rows per sentence in the current step

    // Live hypotheses per sentence; at the start one per sentence.
    let empty = Partial {
        tokens: Vec::new(),
        score: 0.0,
        attention: Vec::new(),
    };
    let mut live: Vec<Vec<Partial>> = vec![vec![empty]; batch_size];
    let mut finished: Vec<Vec<(f32, Partial)>> = vec![Vec::new(); batch_size];
    let mut done = vec![false; batch_size];
    let mut tokens = vec![SOS; batch_size];

    for step in 0.. {
        let input: Vec<i64> = tokens.iter().map(|&t| t as i64).collect();
        let input = Tensor::<1, Int>::from_data(
            TensorData::new(input, [batch_size * per_sentence]),
            &device,
        );
        let out = model.decode_step(&memory, input, state);
        // The logits come to the host once; log-probabilities are formed only for candidates.
        let [_, vocab] = out.logits.dims();
        let logits = to_f32_async(out.logits).await; // [batch * k, vocab]
        // Each row's log-sum-exp and its best `k + 1` tokens (enough to fill k slots), in one
        // parallel pass over the rows.
        let (lse, best): (Vec<f32>, Vec<Vec<usize>>) =
            rows::log_sum_exp_with(&logits, vocab, |row| top_k(row, k + 1))
                .into_iter()
                .unzip(); // [batch * k] each
        let attention = to_f32_async(out.attention).await; // [batch * per_sentence, src_len]

        // Each of the next step's `k` rows per sentence names the row it continues.
        let keep = |b: usize| (0..k).map(move |j| b * per_sentence + j.min(per_sentence - 1));
        let mut parents = Vec::with_capacity(batch_size * k);
        tokens = vec![SOS; batch_size * k];
        for b in 0..batch_size {
            if done[b] {
                parents.extend(keep(b));
                continue;
            }
            // Candidates: the best `k + 1` tokens of each live row. At the limit only <eos> may
            // follow, at its own log-probability.
            let at_limit = step >= max_lens[b];
            let mut candidates: Vec<(f32, usize, usize)> = Vec::new();
            for (j, hyp) in live[b].iter().enumerate() {
                let r = b * per_sentence + j;
                let row = &logits[r * vocab..][..vocab];
                let log_prob = |v: usize| row[v] - lse[r];
                if at_limit {
                    candidates.push((hyp.score + log_prob(EOS), j, EOS));
                    continue;
                }
                candidates.extend(
                    best[r]
                        .iter()
                        .copied()
                        .filter(|&v| v != EOS || step >= config.min_len)
                        .map(|v| (hyp.score + log_prob(v), j, v)),
                );
            }
            candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));

            let mut next: Vec<(usize, Partial)> = Vec::with_capacity(k);
            // Greedy search's stop rule, widened: the `k` best continuations all end here.
            let all_end = candidates.iter().take(k).all(|&(_, _, v)| v == EOS);
            for (score, j, v) in candidates {
                if next.len() == k {
                    break;
                }
                let mut hyp = live[b][j].clone();
                hyp.score = score;
                hyp.attention
                    .push(attention[(b * per_sentence + j) * src_len..][..src_lens[b]].to_vec());
                if v == EOS {
                    finished[b].push((config.normalised(score, hyp.tokens.len() + 1), hyp));
                } else {
                    hyp.tokens.push(v);
                    next.push((j, hyp));
                }
            }
            // Settled when the `k` best continuations all end, or when no live hypothesis,
            // whatever it appends, can outrank the `nbest`-th best finished one.
            let settled = all_end || {
                let mut ranked: Vec<f32> = finished[b].iter().map(|(n, _)| *n).collect();
                ranked.sort_by(|x, y| y.total_cmp(x));
                ranked.get(config.nbest - 1).is_some_and(|&nth| {
                    next.iter().all(|(_, h)| {
                        let longest = max_lens[b] + 1;
                        config
                            .length_penalty
                            .best_reachable(h.score, h.tokens.len(), longest)
                            <= nth
                    })
                })
            };
            if settled || at_limit || next.is_empty() {
                done[b] = true;
                parents.extend(keep(b));
                continue;
            }
            for slot in 0..k {
                let (j, hyp) = &next[slot.min(next.len() - 1)];
                parents.push(b * per_sentence + j);
                tokens[b * k + slot] = *hyp.tokens.last().expect("live hypotheses have a token");
            }
            live[b] = next.into_iter().map(|(_, h)| h).collect();
        }
        if done.iter().all(|&d| d) {
            break;
        }
        let parents: Vec<i64> = parents.into_iter().map(|p| p as i64).collect();
        let parents =
            Tensor::<1, Int>::from_data(TensorData::new(parents, [batch_size * k]), &device);
        if per_sentence == 1 && k > 1 {
            let expand: Vec<i64> = (0..batch_size * k).map(|r| (r / k) as i64).collect();
            let expand =
                Tensor::<1, Int>::from_data(TensorData::new(expand, [batch_size * k]), &device);
            memory = memory.select_batch(expand);
            per_sentence = k;
        }
        state = out.state.select_batch(parents);
    }

    finished
        .into_iter()
        .map(|hyps| {
            // Best first; of equal scores, the one that finished last (as `max_by` picks).
            let mut hyps: Vec<(usize, (f32, Partial))> = hyps.into_iter().enumerate().collect();
            hyps.sort_by(|(i, a), (j, b)| b.0.total_cmp(&a.0).then(j.cmp(i)));
            hyps.into_iter()
                .take(config.nbest)
                .map(|(_, (_, best))| Hypothesis {
                    tokens: best.tokens,
                    score: best.score,
                    attention: best.attention,
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TableModel;
    use crate::{greedy, to_f32};

    /// Every sequence over `vocab` of up to `max_len` tokens then <eos> (forced at the limit),
    /// by brute force: `(tokens, score, ranked score)`, best first (ties: the shorter first).
    fn every_output(
        model: &TableModel,
        max_len: usize,
        penalty: LengthPenalty,
    ) -> Vec<(Vec<usize>, f32, f32)> {
        let v = model.table.len();
        let mut all = Vec::new();
        let mut frontier: Vec<(Vec<usize>, f32)> = vec![(vec![], 0.0)];
        for depth in 0..=max_len {
            let mut next = Vec::new();
            for (tokens, score) in frontier {
                let prev = *tokens.last().unwrap_or(&SOS);
                let eos = score + model.log_prob(prev, EOS);
                all.push((
                    tokens.clone(),
                    eos,
                    penalty.normalise(eos, tokens.len() + 1),
                ));
                if depth == max_len {
                    continue;
                }
                for t in (0..v).filter(|&t| t != EOS) {
                    let mut longer = tokens.clone();
                    longer.push(t);
                    next.push((longer, score + model.log_prob(prev, t)));
                }
            }
            frontier = next;
        }
        all.sort_by(|a, b| b.2.total_cmp(&a.2));
        all
    }

    /// The best output by brute force: `(tokens, score)`.
    fn brute_force(
        model: &TableModel,
        max_len: usize,
        penalty: LengthPenalty,
    ) -> (Vec<usize>, f32) {
        let (tokens, score, _) = every_output(model, max_len, penalty).swap_remove(0);
        (tokens, score)
    }

    const PENALTIES: [LengthPenalty; 4] = [
        LengthPenalty::Gnmt(0.0),
        LengthPenalty::Gnmt(0.6),
        LengthPenalty::Gnmt(1.0),
        LengthPenalty::Average,
    ];

    /// With a width above the number of possible outputs the search is exhaustive: its n-best
    /// list must be brute force's best n, for every length penalty, sorted and distinct, and
    /// the stop rule ("no live hypothesis can outrank the n-th finished") must not cut it short.
    #[test]
    fn a_wide_beam_equals_brute_force_for_every_length_penalty() {
        for seed in 0..10 {
            let model = table(seed, 6);
            let (src, mask) = model.source(&[2]);
            for penalty in PENALTIES {
                // 5 non-<eos> tokens and 3 steps: 156 possible outputs.
                let config = BeamConfig {
                    length_penalty: penalty,
                    nbest: 5,
                    ..BeamConfig::new(160, 3)
                };
                let list = &beam_search_nbest(&model, src.clone(), mask.clone(), &config, &[3])[0];
                let expected = every_output(&model, 3, penalty);
                assert_eq!(list.len(), 5);
                for (i, hyp) in list.iter().enumerate() {
                    let ranked = penalty.normalise(hyp.score, hyp.tokens.len() + 1);
                    assert!(
                        (ranked - expected[i].2).abs() < 1e-4,
                        "seed {seed}, {penalty:?}, rank {i}: {:?} {ranked} vs brute force {:?} {}",
                        hyp.tokens,
                        expected[i].0,
                        expected[i].2
                    );
                    if i > 0 {
                        let before = &list[i - 1];
                        assert!(penalty.normalise(before.score, before.tokens.len() + 1) >= ranked);
                        assert!(
                            list[..i].iter().all(|h| h.tokens != hyp.tokens),
                            "repeated {:?}",
                            hyp.tokens
                        );
                    }
                }
                let best = &beam_search(
                    &model,
                    src.clone(),
                    mask.clone(),
                    &BeamConfig { nbest: 1, ..config },
                )[0];
                assert_eq!(best, &list[0], "seed {seed}, {penalty:?}");
            }
        }
    }

    /// Real models' n-best lists: as many as asked, sorted by the ranked score, distinct.
    #[test]
    fn nbest_lists_of_a_real_model_are_sorted_and_distinct() {
        use transduce_nn::LuongConfig;
        let dev = Device::flex();
        let model = LuongConfig::new(13, 9)
            .with_d_embedding(6)
            .with_d_hidden(8)
            .with_dropout(0.0)
            .init(&dev);
        let src = Tensor::<2, Int>::from_data([[4, 5, 6, 7], [8, 9, 0, 0]], &dev);
        let mask = src.clone().equal_elem(0);
        for penalty in PENALTIES {
            let config = BeamConfig {
                length_penalty: penalty,
                nbest: 4,
                ..BeamConfig::new(6, 8)
            };
            for list in beam_search_nbest(&model, src.clone(), mask.clone(), &config, &[8, 8]) {
                assert_eq!(list.len(), 4);
                let ranked: Vec<f32> = list
                    .iter()
                    .map(|h| penalty.normalise(h.score, h.tokens.len() + 1))
                    .collect();
                assert!(
                    ranked.windows(2).all(|w| w[0] >= w[1]),
                    "{penalty:?}: {ranked:?}"
                );
                for (i, h) in list.iter().enumerate() {
                    assert!(list[..i].iter().all(|g| g.tokens != h.tokens));
                }
            }
        }
    }

    /// Once a finished hypothesis outranks everything a live one could still become, the
    /// sentence stops, before `width` hypotheses have finished.
    #[test]
    fn stops_as_soon_as_no_live_hypothesis_can_win() {
        // <sos> -> 5 -> <eos> is far the most likely; without a penalty nothing can catch up.
        let model = TableModel::chain(8, &[(SOS, 5), (5, EOS)]);
        let (src, mask) = model.source(&[2]);
        let config = BeamConfig {
            length_penalty: LengthPenalty::Gnmt(0.0),
            ..BeamConfig::new(4, 30)
        };
        let hyp = &beam_search(&model, src, mask, &config)[0];
        assert_eq!(hyp.tokens, vec![5]);
        assert_eq!(model.steps.load(std::sync::atomic::Ordering::Relaxed), 2);
    }

    /// Under length normalisation a live hypothesis can still win after a shorter one has
    /// finished with a better score: `<eos>` right away has log p = ln 0.5, `4 5 6 <eos>` costs
    /// ln 0.22 (then nearly nothing), so `-1.51 / 4` beats `-0.69 / 1`. Stopping at the first
    /// finished hypothesis, or bounding the live one by its next length only, would miss it.
    #[test]
    fn the_stop_rule_waits_for_a_longer_hypothesis_that_normalisation_favours() {
        let mut rows = vec![vec![0.0f32; 7]; 7];
        let other = (0.28f32 / 5.0).ln();
        rows[SOS] = vec![other; 7];
        rows[SOS][EOS] = 0.5f32.ln();
        rows[SOS][4] = 0.22f32.ln();
        rows[4][5] = 20.0;
        rows[5][6] = 20.0;
        rows[6][EOS] = 20.0;
        let model = TableModel::from_table(rows);
        let (src, mask) = model.source(&[2]);
        let config = BeamConfig::new(2, 6);
        let hyp = &beam_search(&model, src, mask, &config)[0];
        assert_eq!(hyp.tokens, vec![4, 5, 6]);
        assert_eq!(
            brute_force(&model, 6, LengthPenalty::Average).0,
            vec![4, 5, 6]
        );
    }

    /// Two short hypotheses finish (each within the beam, neither the best continuation of its
    /// step) before a longer one that length normalisation ranks first: `<eos>` at once
    /// (ln 0.3 / 1 = -1.20), `4 <eos>` (ln 0.45 + ln 0.35 = -1.85, / 2 = -0.92), then
    /// `4 6 <eos>` (ln 0.45 + ln 0.6 + ~0 = -1.31, / 3 = -0.44). Stopping once `width`
    /// hypotheses have finished would return `4`.
    #[test]
    fn finishing_width_hypotheses_does_not_stop_the_search() {
        let mut rows = vec![vec![0.0f32; 7]; 7];
        rows[SOS] = vec![0.0375f32.ln(); 7];
        rows[SOS][EOS] = 0.3f32.ln();
        rows[SOS][4] = 0.45f32.ln();
        rows[SOS][5] = 0.1f32.ln();
        rows[4] = vec![0.01f32.ln(); 7];
        rows[4][EOS] = 0.35f32.ln();
        rows[4][6] = 0.6f32.ln();
        rows[6][EOS] = 20.0;
        let model = TableModel::from_table(rows);
        let (src, mask) = model.source(&[2]);
        let hyp = &beam_search(&model, src, mask, &BeamConfig::new(2, 6))[0];
        assert_eq!(hyp.tokens, vec![4, 6]);
        assert_eq!(brute_force(&model, 6, LengthPenalty::Average).0, vec![4, 6]);
    }

    /// A model that never emits `<eos>` stops at the limit, with `<eos>` forced: greedy and beam.
    #[test]
    fn decoding_stops_at_the_limit_when_eos_never_comes() {
        let mut rows = vec![vec![0.0f32; 7]; 7];
        for row in &mut rows {
            row[EOS] = -1e9;
            row[4] = 2.0;
        }
        let model = TableModel::from_table(rows);
        let (src, mask) = model.source(&[3, 1]);
        for max_len in [1, 5, 12] {
            for hyp in greedy(&model, src.clone(), mask.clone(), max_len) {
                assert_eq!(hyp.tokens.len(), max_len);
            }
            for penalty in PENALTIES {
                let config = BeamConfig {
                    length_penalty: penalty,
                    nbest: 3,
                    ..BeamConfig::new(3, max_len)
                };
                for list in beam_search_nbest(
                    &model,
                    src.clone(),
                    mask.clone(),
                    &config,
                    &[max_len, max_len],
                ) {
                    assert!(!list.is_empty());
                    assert!(
                        list.iter().all(|h| h.tokens.len() == max_len),
                        "{penalty:?}"
                    );
                }
            }
        }
    }

    /// The log-probability `model` gives `tokens` then `<eos>` after `src`, by teacher forcing.
    fn teacher_forced_score<M: Seq2Seq>(model: &M, src: &[i64], tokens: &[usize]) -> f32 {
        let dev = Device::flex();
        let len = tokens.len() + 1;
        let tgt_in: Vec<i64> = std::iter::once(SOS)
            .chain(tokens.iter().copied())
            .map(|t| t as i64)
            .collect();
        let tgt_out: Vec<usize> = tokens.iter().copied().chain(std::iter::once(EOS)).collect();
        let src_t =
            Tensor::<2, Int>::from_data(TensorData::new(src.to_vec(), [1, src.len()]), &dev);
        let src_mask = Tensor::<2, Int>::zeros([1, src.len()], &dev).equal_elem(1);
        let tgt_t = Tensor::<2, Int>::from_data(TensorData::new(tgt_in, [1, len]), &dev);
        let tgt_mask = Tensor::<2, Int>::zeros([1, len], &dev).equal_elem(1);
        let logits = model.forward(src_t, src_mask, tgt_t, tgt_mask);
        let [_, _, vocab] = logits.dims();
        let logits = logits.reshape([len, vocab]);
        let log_probs = to_f32(burn::tensor::activation::log_softmax(logits, 1));
        tgt_out
            .iter()
            .enumerate()
            .map(|(i, &t)| log_probs[i * vocab + t])
            .sum()
    }

    /// Models whose next distribution depends on the whole prefix through their state (an
    /// LSTM with attention, a Transformer's cache): every hypothesis' score must be what the
    /// model gives its tokens by teacher forcing, so no row continued from the wrong parent,
    /// also where the first step's single row per sentence fans out into `width` rows.
    #[test]
    fn scores_equal_teacher_forced_log_probabilities_of_stateful_models() {
        use transduce_nn::LuongConfig;
        let dev = Device::flex();
        let luong = LuongConfig::new(13, 11)
            .with_d_embedding(6)
            .with_d_hidden(8)
            .with_dropout(0.0)
            .init(&dev);
        let transformer = crate::test_util::small_transformer(13, 11);
        let sources: [&[i64]; 3] = [&[4, 5, 6, 7, 8], &[9, 10], &[11, 12, 4]];
        let padded: Vec<i64> = sources
            .iter()
            .flat_map(|s| s.iter().copied().chain(std::iter::repeat(0)).take(5))
            .collect();
        let src = Tensor::<2, Int>::from_data(TensorData::new(padded, [3, 5]), &dev);
        let mask = src.clone().equal_elem(0);
        for width in [2, 3, 5] {
            let config = BeamConfig::new(width, 6);
            let luong_hyps = beam_search(&luong, src.clone(), mask.clone(), &config);
            let transformer_hyps = beam_search(&transformer, src.clone(), mask.clone(), &config);
            for (b, source) in sources.iter().enumerate() {
                for (name, hyp, expected) in [
                    (
                        "luong",
                        &luong_hyps[b],
                        teacher_forced_score(&luong, source, &luong_hyps[b].tokens),
                    ),
                    (
                        "transformer",
                        &transformer_hyps[b],
                        teacher_forced_score(&transformer, source, &transformer_hyps[b].tokens),
                    ),
                ] {
                    assert!(
                        (hyp.score - expected).abs() < 1e-3,
                        "{name}, width {width}, sentence {b}: beam score {} vs teacher-forced {expected} for {:?}",
                        hyp.score,
                        hyp.tokens
                    );
                }
            }
        }
    }

    fn table(seed: u64, v: usize) -> TableModel {
        // A deterministic pseudo-random table.
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut next = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((x >> 33) as f32 / (1u64 << 31) as f32) * 4.0 - 2.0
        };
        TableModel::from_table((0..v).map(|_| (0..v).map(|_| next()).collect()).collect())
    }

    #[test]
    fn top_k_equals_sorting() {
        let row = [0.5, -1.0, 3.0, 3.0, f32::NEG_INFINITY, 2.0, 0.5, 7.0];
        assert_eq!(top_k(&row, 3), [7, 2, 3]);
        assert_eq!(top_k(&row, 1), [7]);
        assert_eq!(top_k(&row, 20), [7, 2, 3, 5, 0, 6, 1, 4]);
        let mut state = 9u64;
        for _ in 0..50 {
            let row: Vec<f32> = (0..300)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((state >> 40) % 97) as f32 // many ties
                })
                .collect();
            let mut sorted: Vec<usize> = (0..row.len()).collect();
            sorted.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
            assert_eq!(top_k(&row, 5), sorted[..5]);
        }
    }

    #[test]
    fn invalid_options_are_errors() {
        assert_eq!(BeamConfig::new(0, 5).validate(), Err(DecodeError::Width));
        let nbest = |n| {
            BeamConfig {
                nbest: n,
                ..BeamConfig::new(3, 5)
            }
            .validate()
        };
        assert_eq!(nbest(4), Err(DecodeError::NBest { nbest: 4, width: 3 }));
        assert!(nbest(0).is_err());
        assert!(nbest(3).is_ok());
        let alpha = |a| {
            BeamConfig {
                length_penalty: LengthPenalty::Gnmt(a),
                ..BeamConfig::new(2, 5)
            }
            .validate()
        };
        assert!(alpha(-0.5).is_err() && alpha(f32::NAN).is_err() && alpha(0.6).is_ok());
        assert_eq!(
            nbest(4).unwrap_err().to_string(),
            "4 hypotheses per sentence need a beam of at least 4 (the beam is 3), and at least 1"
        );
    }

    #[test]
    fn width_one_equals_greedy() {
        for seed in 0..20 {
            let model = table(seed, 7);
            let (src, mask) = model.source(&[3, 1, 2]);
            let g = greedy(&model, src.clone(), mask.clone(), 6);
            let b = beam_search(&model, src, mask, &BeamConfig::new(1, 6));
            for (g, b) in g.iter().zip(&b) {
                assert_eq!(g.tokens, b.tokens, "seed {seed}");
                assert!((g.score - b.score).abs() < 1e-4);
                assert_eq!(g.attention.len(), b.attention.len());
            }
        }
    }

    #[test]
    fn a_wider_beam_never_scores_worse_than_greedy_without_length_penalty() {
        for seed in 0..20 {
            let model = table(seed, 8);
            let (src, mask) = model.source(&[2, 3]);
            let g = greedy(&model, src.clone(), mask.clone(), 5);
            let b = beam_search(
                &model,
                src,
                mask,
                &BeamConfig {
                    length_penalty: LengthPenalty::Gnmt(0.0),
                    ..BeamConfig::new(4, 5)
                },
            );
            for (g, b) in g.iter().zip(&b) {
                assert!(
                    b.score >= g.score - 1e-4,
                    "seed {seed}: {} < {}",
                    b.score,
                    g.score
                );
                let n = b.attention.len();
                assert!(n == b.tokens.len() || n == b.tokens.len() + 1);
            }
        }
    }

    #[test]
    fn width_one_equals_greedy_at_every_length_limit() {
        // Before <eos> was forced at the limit, a cut prefix could outscore its own ending and
        // width 1 then differed from greedy in about 1% of these settings.
        let mut differ = Vec::new();
        for seed in 0..200 {
            let model = table(1000 + seed, 6);
            let (src, mask) = model.source(&[2]);
            for max_len in 1..=10 {
                let g = &greedy(&model, src.clone(), mask.clone(), max_len)[0];
                let b = &beam_search(
                    &model,
                    src.clone(),
                    mask.clone(),
                    &BeamConfig::new(1, max_len),
                )[0];
                if g.tokens != b.tokens || (g.score - b.score).abs() > 1e-4 {
                    differ.push((seed, max_len));
                }
            }
        }
        assert!(
            differ.is_empty(),
            "width 1 differs from greedy at {differ:?}"
        );
    }

    #[test]
    fn eos_arriving_exactly_at_the_limit_is_charged_once() {
        // <sos> -> 4 -> 5 -> 4 -> 5 ... and <eos> is the best after the third token: with
        // max_len 3 the proper ending arrives exactly at the limit.
        let mut rows = vec![vec![0.0f32; 7]; 7];
        rows[SOS][4] = 3.0;
        rows[4][5] = 3.0;
        rows[5][6] = 3.0;
        rows[6][EOS] = 3.0;
        let model = TableModel::from_table(rows);
        let (src, mask) = model.source(&[1]);
        let expected = model.log_prob(SOS, 4)
            + model.log_prob(4, 5)
            + model.log_prob(5, 6)
            + model.log_prob(6, EOS);
        for width in [1, 2, 4] {
            for penalty in [LengthPenalty::Gnmt(0.0), LengthPenalty::Average] {
                let config = BeamConfig {
                    length_penalty: penalty,
                    ..BeamConfig::new(width, 3)
                };
                let hyp = &beam_search(&model, src.clone(), mask.clone(), &config)[0];
                assert_eq!(hyp.tokens, vec![4, 5, 6], "width {width}");
                assert!(
                    (hyp.score - expected).abs() < 1e-4,
                    "width {width}: {} vs {expected}",
                    hyp.score
                );
                assert_eq!(hyp.attention.len(), 4);
                let (tokens, score) = brute_force(&model, 3, penalty);
                assert_eq!(tokens, hyp.tokens);
                assert!((score - hyp.score).abs() < 1e-4);
            }
        }
        let g = &greedy(&model, src, mask, 3)[0];
        assert_eq!(g.tokens, vec![4, 5, 6]);
        assert!((g.score - expected).abs() < 1e-4);
    }

    #[test]
    fn min_len_defers_eos() {
        // The chain prefers <eos> after one token; with min_len 4 the search must go on.
        let model = TableModel::chain(8, &[(2, 5), (5, EOS)]);
        let (src, mask) = model.source(&[2]);
        let config = BeamConfig {
            min_len: 4,
            ..BeamConfig::new(2, 6)
        };
        let hyp = &beam_search(&model, src, mask, &config)[0];
        assert!(hyp.tokens.len() >= 4, "{:?}", hyp.tokens);
    }
}
