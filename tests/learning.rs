//! A short training run on a built-in task reaches a stated accuracy.
//!
//! Alone in its file (and so in its process): the device's random generator is process-wide, and
//! tests running in parallel would change this run's initialisation.

use burn::prelude::*;
use transduce_data::{DataConfig, Task};
use transduce_nn::{ModelConfig, TransformerConfig};
use transduce_train::artifact::RunConfig;
use transduce_train::{TrainingConfig, train};

#[test]
fn a_small_transformer_learns_to_reverse_short_digit_strings() {
    let data = DataConfig {
        task: Task::Reverse,
        n_train: 3000,
        n_valid: 100,
        n_test: 200,
        min_len: 3,
        max_len: 6,
        ..DataConfig::default()
    };
    let (prepared, _) = data.prepare(1).unwrap();
    let vocab = prepared.codec.src_vocab.len();
    let config = RunConfig {
        model: ModelConfig::Transformer(
            TransformerConfig::new(vocab, vocab)
                .with_d_model(32)
                .with_n_heads(2)
                .with_d_ff(64),
        ),
        training: TrainingConfig::new()
            .with_epochs(EPOCHS)
            .with_batch_size(32)
            .with_warmup_steps(100)
            .with_seed(1),
        data,
    };
    let dir = tempfile::tempdir().unwrap();
    let report = train(&config, &prepared, &Device::flex(), dir.path()).unwrap();
    println!(
        "held-out exact match {:.3} (n = {})",
        report.test.exact_match, report.test.n
    );
    assert_eq!(report.epochs, EPOCHS);
    assert_eq!(report.test.n, 200);
    assert!(
        report.test.exact_match >= MIN_EXACT_MATCH,
        "held-out exact match {} < {MIN_EXACT_MATCH}",
        report.test.exact_match
    );
}

const EPOCHS: usize = 16;
const MIN_EXACT_MATCH: f64 = 0.9;
