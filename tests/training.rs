//! Training stops cleanly on a time budget and on a diverging loss.

use burn::prelude::*;
use transduce_data::{DataConfig, Task};
use transduce_nn::{ModelConfig, TransformerConfig};
use transduce_train::artifact::RunConfig;
use transduce_train::{TrainingConfig, train};

fn tiny(epochs: usize) -> (RunConfig, transduce_data::Prepared) {
    let data = DataConfig {
        task: Task::Reverse,
        n_train: 600,
        n_valid: 40,
        n_test: 40,
        min_len: 3,
        max_len: 5,
        ..DataConfig::default()
    };
    let (prepared, _) = data.prepare(2).unwrap();
    let vocab = prepared.codec.src_vocab.len();
    let config = RunConfig {
        model: ModelConfig::Transformer(
            TransformerConfig::new(vocab, vocab)
                .with_d_model(16)
                .with_n_heads(2)
                .with_d_ff(32)
                .with_n_encoder_layers(1)
                .with_n_decoder_layers(1),
        ),
        training: TrainingConfig::new()
            .with_epochs(epochs)
            .with_batch_size(32)
            .with_warmup_steps(20),
        data,
    };
    (config, prepared)
}

#[test]
fn a_time_budget_stops_training_and_keeps_a_model() {
    let (mut config, prepared) = tiny(10_000);
    config.training.time_budget = Some(3.0);
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let report = train(&config, &prepared, &Device::flex(), dir.path()).unwrap();
    assert!(started.elapsed().as_secs_f64() < 60.0);
    assert!(report.epochs < 10_000);
    assert!(
        report.stopped.as_deref().unwrap().contains("time budget"),
        "{:?}",
        report.stopped
    );
    assert!(dir.path().join("model.bpk").is_file());
    assert_eq!(report.test.n, 40);
}

#[test]
fn a_diverging_loss_stops_training_with_a_clear_reason() {
    let (mut config, prepared) = tiny(50);
    config.training.lr = 1e30;
    config.training.grad_clip = 0.0;
    let dir = tempfile::tempdir().unwrap();
    let report = train(&config, &prepared, &Device::flex(), dir.path()).unwrap();
    let reason = report.stopped.expect("training stopped");
    assert!(reason.contains("loss became"), "{reason}");
    assert!(report.epochs < 50);
}
