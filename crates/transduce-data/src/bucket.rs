//! Forming batches: sentences of similar length together (bucketing), optionally under a token
//! budget per batch (like fairseq's `--max-tokens`), in an order shuffled by seed.
//!
//! Padding wastes compute: a batch costs `n_rows × longest row`. Sorting by length before
//! chunking makes rows of a batch nearly equal in length; the order of the batches is then
//! shuffled so that training does not see lengths in order.
//!
//! Sorting the whole set gives the least padding but the same company for every sentence in every
//! epoch that is formed from the same shuffle. Sorting only within pools of a few batches' worth
//! of shuffled sentences (torchtext's `BucketIterator`, with a pool of 100 batches) keeps most of
//! the saving while the batches change from one seed (epoch) to the next.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::Example;

/// How examples are grouped into batches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchPlan {
    /// Most sentence pairs per batch.
    pub batch_size: usize,
    /// Most tokens per batch, counted as rows × longest side (padding included); `None` = no budget.
    pub max_tokens: Option<usize>,
    /// Group similar lengths (true) or batch in random order (false).
    pub bucket: bool,
    /// When bucketing, sort by length only within consecutive pools of `pool × batch_size`
    /// shuffled sentences; `None` sorts the whole set.
    pub pool: Option<usize>,
}

impl BatchPlan {
    /// Splits `examples` into batches of indices, deterministically from `seed`.
    ///
    /// Every example lands in exactly one batch; an example longer than the token budget gets a
    /// batch of its own.
    pub fn batches(&self, examples: &[Example], seed: u64) -> Vec<Vec<usize>> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut order: Vec<usize> = (0..examples.len()).collect();
        order.shuffle(&mut rng);
        let pool = match (self.bucket, self.pool) {
            (true, Some(p)) => p.max(1) * self.batch_size.max(1),
            _ => order.len().max(1),
        };
        let mut batches = Vec::new();
        for pool in order.chunks_mut(pool) {
            if self.bucket {
                // Stable: equal lengths keep their shuffled order.
                pool.sort_by_key(|&i| (examples[i].src.len(), examples[i].tgt.len()));
            }
            self.chunk(examples, pool, &mut batches);
        }
        batches.shuffle(&mut rng);
        batches
    }

    /// Cuts `order` into batches of at most `batch_size` sentences and `max_tokens` tokens.
    fn chunk(&self, examples: &[Example], order: &[usize], batches: &mut Vec<Vec<usize>>) {
        let width = |i: usize| examples[i].src.len().max(examples[i].tgt.len() + 1);
        let mut current: Vec<usize> = Vec::new();
        let mut longest = 0;
        for &i in order {
            let longer = longest.max(width(i));
            let over_budget = self
                .max_tokens
                .is_some_and(|m| (current.len() + 1) * longer > m);
            if !current.is_empty() && (current.len() == self.batch_size.max(1) || over_budget) {
                batches.push(std::mem::take(&mut current));
                longest = 0;
            }
            longest = longest.max(width(i));
            current.push(i);
        }
        if !current.is_empty() {
            batches.push(current);
        }
    }
}

/// Fraction of padding among all token slots of the batches, source and target (with `<sos>`/`<eos>`) sides.
pub fn padding_fraction(examples: &[Example], batches: &[Vec<usize>]) -> f64 {
    let (mut real, mut slots) = (0usize, 0usize);
    for batch in batches {
        for side in [0, 1] {
            let len = |i: usize| {
                if side == 0 {
                    examples[i].src.len()
                } else {
                    examples[i].tgt.len() + 1
                }
            };
            let longest = batch.iter().map(|&i| len(i)).max().unwrap_or(0);
            real += batch.iter().map(|&i| len(i)).sum::<usize>();
            slots += longest * batch.len();
        }
    }
    if slots == 0 {
        0.0
    } else {
        1.0 - real as f64 / slots as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn examples(n: usize, seed: u64) -> Vec<Example> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let s = rng.random_range(1..40);
                let t = (s as f64 * rng.random_range(0.8..1.3)) as usize + 1;
                Example {
                    src: vec![5; s],
                    tgt: vec![6; t],
                }
            })
            .collect()
    }

    #[test]
    fn every_example_once_and_deterministic() {
        let ex = examples(1000, 1);
        for plan in [
            BatchPlan {
                batch_size: 32,
                max_tokens: None,
                bucket: true,
                pool: None,
            },
            BatchPlan {
                batch_size: 32,
                max_tokens: Some(500),
                bucket: true,
                pool: None,
            },
            BatchPlan {
                batch_size: 32,
                max_tokens: None,
                bucket: false,
                pool: None,
            },
            BatchPlan {
                batch_size: 32,
                max_tokens: Some(500),
                bucket: true,
                pool: Some(3),
            },
        ] {
            let batches = plan.batches(&ex, 7);
            assert_eq!(batches, plan.batches(&ex, 7));
            let mut all: Vec<usize> = batches.iter().flatten().copied().collect();
            all.sort_unstable();
            assert_eq!(all, (0..1000).collect::<Vec<_>>());
            assert!(batches.iter().all(|b| b.len() <= 32 && !b.is_empty()));
            if let Some(m) = plan.max_tokens {
                for b in &batches {
                    let longest = b
                        .iter()
                        .map(|&i| ex[i].src.len().max(ex[i].tgt.len() + 1))
                        .max()
                        .unwrap();
                    assert!(b.len() == 1 || b.len() * longest <= m);
                }
            }
        }
    }

    #[test]
    fn bucketing_reduces_padding() {
        let ex = examples(2000, 2);
        let random = BatchPlan {
            batch_size: 64,
            max_tokens: None,
            bucket: false,
            pool: None,
        }
        .batches(&ex, 3);
        let bucketed = BatchPlan {
            batch_size: 64,
            max_tokens: None,
            bucket: true,
            pool: None,
        }
        .batches(&ex, 3);
        let (r, b) = (
            padding_fraction(&ex, &random),
            padding_fraction(&ex, &bucketed),
        );
        assert!(r > 0.3 && b < 0.15, "random {r:.3}, bucketed {b:.3}");
    }

    #[test]
    fn pools_keep_most_of_the_saving_and_change_the_company() {
        let ex = examples(2000, 2);
        let plan = |pool| BatchPlan {
            batch_size: 64,
            max_tokens: None,
            bucket: true,
            pool,
        };
        let padding = |pool| padding_fraction(&ex, &plan(pool).batches(&ex, 3));
        let random = BatchPlan {
            bucket: false,
            ..plan(None)
        }
        .batches(&ex, 3);
        let (sorted, pooled, random) = (
            padding(None),
            padding(Some(8)),
            padding_fraction(&ex, &random),
        );
        assert!(
            sorted < pooled && pooled < 0.5 * random,
            "sorted {sorted:.3}, pooled {pooled:.3}, random {random:.3}"
        );
        // Which batch each sentence shares, under two seeds.
        let company = |pool, seed| {
            let mut of = vec![0; ex.len()];
            for (b, batch) in plan(pool).batches(&ex, seed).iter().enumerate() {
                for &i in batch {
                    of[i] = b;
                }
            }
            of
        };
        // Pairs of sentences (i, i + 1) that share a batch under seed 3 and still do under seed 4.
        let kept = |pool| {
            let (a, b) = (company(pool, 3), company(pool, 4));
            let shared: Vec<usize> = (0..ex.len() - 1).filter(|&i| a[i] == a[i + 1]).collect();
            shared.iter().filter(|&&i| b[i] == b[i + 1]).count() as f64 / shared.len().max(1) as f64
        };
        assert!(
            kept(Some(8)) < 0.3,
            "pooled batches kept {:.2}",
            kept(Some(8))
        );
    }

    #[test]
    fn padding_fraction_by_hand() {
        let ex = vec![
            Example {
                src: vec![1, 1],
                tgt: vec![1],
            },
            Example {
                src: vec![1, 1, 1, 1],
                tgt: vec![1],
            },
        ];
        // src: 6 real of 8 slots; tgt (+1): 4 real of 4 slots -> 2 / 12 padding.
        assert!((padding_fraction(&ex, &[vec![0, 1]]) - 2.0 / 12.0).abs() < 1e-12);
    }
}
