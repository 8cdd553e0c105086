//! What changes from one epoch to the next, derived from (seed, epoch) only, so that a resumed run
//! sees exactly what an uninterrupted one would: the order of the training batches
//! ([`EpochShuffled`]), the seed of the dropout stream ([`epoch_seed`]), and the [`EpochClock`]
//! that moves both on after each epoch.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use burn::data::dataset::{Dataset, DatasetError};
use burn::prelude::*;

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

/// Training batches in an order that depends only on the seed and the epoch (burn's own shuffle
/// continues a random stream, which a resumed run would restart).
pub(crate) struct EpochShuffled {
    batches: Vec<Vec<BatchItem>>,
    seed: u64,
    epoch: Arc<AtomicUsize>,
    order: Mutex<(usize, Vec<usize>)>,
}

impl EpochShuffled {
    /// `batches` in the order of the epoch that `epoch` holds (0-based).
    pub(crate) fn new(batches: Vec<Vec<BatchItem>>, seed: u64, epoch: Arc<AtomicUsize>) -> Self {
        EpochShuffled {
            batches,
            seed,
            epoch,
            order: Mutex::new((usize::MAX, Vec::new())),
        }
    }

    /// A Fisher-Yates permutation of the batches for `epoch` (0-based).
    fn permutation(&self, epoch: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.batches.len()).collect();
        let mut state = epoch_seed(self.seed, epoch);
        for i in (1..order.len()).rev() {
            state = splitmix(state);
            order.swap(i, (state % (i as u64 + 1)) as usize);
        }
        order
    }
}

impl Dataset<Vec<BatchItem>> for EpochShuffled {
    fn get(&self, index: usize) -> Result<Vec<BatchItem>, DatasetError> {
        let epoch = self.epoch.load(Ordering::Relaxed);
        let mut order = self.order.lock().expect("not poisoned");
        if order.0 != epoch {
            *order = (epoch, self.permutation(epoch));
        }
        // Out of range panics, as the `Dataset` contract says.
        Ok(self.batches[order.1[index]].clone())
    }

    fn len(&self) -> usize {
        self.batches.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_depends_only_on_the_seed_and_the_epoch() {
        let shuffled = |seed| EpochShuffled::new(vec![Vec::new(); 10], seed, Arc::default());
        let (a, b) = (shuffled(1), shuffled(1));
        let mut sorted = a.permutation(0);
        sorted.sort_unstable();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>(), "a permutation");
        assert_eq!(a.permutation(3), b.permutation(3));
        assert_ne!(
            a.permutation(0),
            a.permutation(1),
            "each epoch its own order"
        );
        assert_ne!(a.permutation(0), shuffled(2).permutation(0));
    }
}
