//! What changes from one epoch to the next, derived from (seed, epoch) only, so that a resumed run
//! sees exactly what an uninterrupted one would: the order of the training batches
//! ([`EpochShuffled`]), the seed of the dropout stream ([`epoch_seed`]), and the [`EpochClock`]
//! that moves both on after each epoch.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use burn::data::dataset::{Dataset, DatasetError};
use burn::prelude::*;

use transduce_data::{BatchPlan, Example};

use crate::step::BatchItem;

/// Moves the batch order and the dropout stream on to the next epoch.
#[derive(Clone)]
pub(crate) struct EpochClock {
    /// The epoch whose batch order [`EpochShuffled`] serves.
    pub(crate) epoch: Arc<AtomicUsize>,
    /// The training device, reseeded with [`epoch_seed`] after each epoch.
    pub(crate) device: Device,
    /// The run's seed.
    pub(crate) seed: u64,
}

impl EpochClock {
    /// Called after epoch `epoch` (1-based): the next epoch's batch order and dropout stream.
    pub(crate) fn advance(&self, epoch: usize) {
        self.epoch.store(epoch, Ordering::Relaxed);
        self.device.seed(epoch_seed(self.seed, epoch));
    }
}

/// The seed of an epoch's random stream.
pub(crate) fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    splitmix(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// SplitMix64: a well-mixed 64-bit value from any input.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Training batches formed for each epoch from (seed, epoch) only ([`BatchPlan::batches`] with
/// [`epoch_seed`]): burn's own shuffle continues a random stream, which a resumed run would
/// restart. Each sentence's company changes from epoch to epoch (even when sorted by length, among
/// sentences of equal length); the number of batches may change too (under a token budget), and
/// burn reads it when each epoch starts.
pub(crate) struct EpochShuffled {
    examples: Vec<Example>,
    references: Vec<String>,
    plan: BatchPlan,
    seed: u64,
    epoch: Arc<AtomicUsize>,
    formed: Mutex<(usize, Arc<Vec<Vec<usize>>>)>,
}

impl EpochShuffled {
    /// `items` batched by `plan` for the epoch that `epoch` holds (0-based).
    pub(crate) fn new(
        items: Vec<BatchItem>,
        plan: BatchPlan,
        seed: u64,
        epoch: Arc<AtomicUsize>,
    ) -> Self {
        let (examples, references) = items.into_iter().unzip();
        EpochShuffled {
            examples,
            references,
            plan,
            seed,
            epoch,
            formed: Mutex::new((usize::MAX, Arc::default())),
        }
    }

    /// The batches (indices into the items) of the current epoch.
    fn current(&self) -> Arc<Vec<Vec<usize>>> {
        let epoch = self.epoch.load(Ordering::Relaxed);
        let mut formed = self.formed.lock().expect("not poisoned");
        if formed.0 != epoch {
            *formed = (epoch, Arc::new(self.batches(epoch)));
        }
        formed.1.clone()
    }

    /// The batches of `epoch` (0-based).
    fn batches(&self, epoch: usize) -> Vec<Vec<usize>> {
        self.plan
            .batches(&self.examples, epoch_seed(self.seed, epoch))
    }
}

impl Dataset<Vec<BatchItem>> for EpochShuffled {
    fn get(&self, index: usize) -> Result<Vec<BatchItem>, DatasetError> {
        // Out of range panics, as the `Dataset` contract says.
        Ok(self.current()[index]
            .iter()
            .map(|&i| (self.examples[i].clone(), self.references[i].clone()))
            .collect())
    }

    fn len(&self) -> usize {
        self.current().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shuffled(seed: u64, pool: Option<usize>, epoch: Arc<AtomicUsize>) -> EpochShuffled {
        let items = (0..200)
            .map(|i| {
                let example = Example {
                    src: vec![4; 1 + i % 23],
                    tgt: vec![5; 1 + i % 17],
                };
                (example, String::new())
            })
            .collect();
        let plan = BatchPlan {
            batch_size: 8,
            max_tokens: Some(60),
            bucket: true,
            pool,
        };
        EpochShuffled::new(items, plan, seed, epoch)
    }

    #[test]
    fn the_batches_depend_only_on_the_seed_and_the_epoch() {
        let (a, b) = (
            shuffled(1, Some(4), Arc::default()),
            shuffled(1, Some(4), Arc::default()),
        );
        let mut all: Vec<usize> = a.batches(0).into_iter().flatten().collect();
        all.sort_unstable();
        assert_eq!(all, (0..200).collect::<Vec<_>>(), "each item once");
        assert_eq!(a.batches(3), b.batches(3));
        assert_ne!(a.batches(0), a.batches(1), "each epoch its own batches");
        assert_ne!(
            a.batches(0),
            shuffled(2, Some(4), Arc::default()).batches(0)
        );
    }

    #[test]
    fn the_dataset_serves_the_epoch_the_clock_holds() {
        let epoch = Arc::new(AtomicUsize::new(0));
        let data = shuffled(1, Some(4), epoch.clone());
        let served = |data: &EpochShuffled| -> Vec<Vec<usize>> {
            (0..data.len())
                .map(|i| {
                    let batch = data.get(i).unwrap();
                    batch.iter().map(|(e, _)| e.src.len()).collect()
                })
                .collect()
        };
        let lengths = |epoch: usize| -> Vec<Vec<usize>> {
            data.batches(epoch)
                .iter()
                .map(|b| b.iter().map(|&i| data.examples[i].src.len()).collect())
                .collect()
        };
        assert_eq!(served(&data), lengths(0));
        epoch.store(5, Ordering::Relaxed);
        assert_eq!(served(&data), lengths(5));
        assert_ne!(lengths(0), lengths(5));
    }
}
