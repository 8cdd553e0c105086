//! Training stops cleanly on a time budget and on a diverging loss; `fit` trains a model that
//! is not one of the built-in enum's (here a bare `Transformer`).

use burn::prelude::*;
use transduce_data::{DataConfig, Task};
use transduce_nn::{ModelConfig, TransformerConfig};
use transduce_train::artifact::RunConfig;
use transduce_train::config::Schedule;
use transduce_train::{Dashboard, TrainingConfig, fit, train};

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

#[test]
fn fit_trains_any_seq2seq_model_and_hands_it_back() {
    let (config, prepared) = tiny(3);
    let ModelConfig::Transformer(transformer) = &config.model else {
        unreachable!()
    };
    let device = Device::flex();
    device.seed(3);
    // A `Transformer` itself, not wrapped in the `Model` enum that `train` uses.
    let model = transformer.init(&device.clone().autodiff());
    let dir = tempfile::tempdir().unwrap();
    let training = config.training.clone().with_schedule(Some(Schedule::Noam));
    let fitted = fit(model, &training, &prepared, dir.path(), Dashboard::Lines).unwrap();
    assert_eq!(fitted.epochs, 3);
    assert!(fitted.stopped.is_none());

    // metrics.csv holds one row per epoch, and the training loss fell.
    let csv = std::fs::read_to_string(dir.path().join("metrics.csv")).unwrap();
    let mut rows = csv.lines();
    let header: Vec<&str> = rows.next().unwrap().split(',').collect();
    let column = header.iter().position(|h| *h == "train_loss").unwrap();
    let losses: Vec<f64> = rows
        .map(|r| r.split(',').nth(column).unwrap().parse().unwrap())
        .collect();
    assert_eq!(losses.len(), 3);
    assert!(losses[2] < losses[0], "{losses:?}");
    let elapsed = header.iter().position(|h| *h == "elapsed_s").unwrap();
    let times: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|r| r.split(',').nth(elapsed).unwrap().parse().unwrap())
        .collect();
    assert!(times[0] > 0.0 && times[1] < times[2], "{times:?}");

    // The model comes back ready to decode, on the plain device.
    let ids: Vec<Vec<usize>> = prepared
        .splits
        .test
        .iter()
        .map(|p| prepared.codec.encode_src(&p.src))
        .collect();
    let (src, mask) = transduce_data::pad_ids(ids, &device);
    let hyps = transduce_decode::greedy(&fitted.model, src, mask, 12);
    assert_eq!(hyps.len(), prepared.splits.test.len());
    assert!(hyps.iter().all(|h| h.tokens.len() <= 12));
}

#[test]
fn a_new_run_in_a_used_directory_does_not_count_the_old_runs_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let (config, prepared) = tiny(3);
    train(&config, &prepared, &Device::flex(), dir.path()).unwrap();
    assert!(dir.path().join("checkpoint").is_dir());
    let (config, prepared) = tiny(1);
    let report = train(&config, &prepared, &Device::flex(), dir.path()).unwrap();
    assert_eq!(report.epochs, 1);
    assert_eq!(report.best_epoch, Some(1));
    let metrics = std::fs::read_to_string(dir.path().join("metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 2, "{metrics}");
}
