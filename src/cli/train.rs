//! `transduce train`: resolve the run config, prepare the data, train, report.

use std::io::IsTerminal;
use std::path::Path;

use transduce_infer::score::bleu_signature;
use transduce_train::{Dashboard, TrainReport, resume, train_on_devices};

use super::TrainArgs;
use crate::config::{read_config_file, resolve};
use crate::progress::Progress;

/// Runs `transduce train`.
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let devices = args.device.devices().map_err(anyhow::Error::msg)?;
    let device = devices[0].clone();
    let dashboard = if args.no_tui {
        Dashboard::Lines
    } else {
        Dashboard::Auto
    };
    if let Some(dir) = &args.resume {
        println!(
            "transduce train: resuming {} on device {}",
            dir.display(),
            args.device
        );
        let report = resume(dir, &device, args.epochs, dashboard)?;
        print_report(&report, dir, dashboard);
        return Ok(());
    }
    let file = match &args.config {
        Some(path) => Some((path.as_path(), read_config_file(path)?)),
        None => None,
    };
    let preset = args.preset.map(|p| p.name());
    let mut config = resolve(file, args.arch(), preset)?;
    args.apply(&mut config)?;
    config.training.validate()?;
    config.data.validate()?;

    let progress = Progress::spinner("preparing data");
    let (prepared, load) = config.prepare_with(&mut |stage| progress.stage(stage))?;
    drop(progress);
    let (src_vocab_size, tgt_vocab_size) = (
        prepared.codec.src_vocab.len(),
        prepared.codec.tgt_vocab.len(),
    );

    let s = &prepared.splits;
    println!(
        "transduce train: {} on {} ({} tokenizer) | {} train / {} valid / {} test pairs | vocab {} / {} | device {}",
        config.model.arch(),
        config.data.describe(),
        config.data.tokenizer().name(),
        s.train.len(),
        s.valid.len(),
        s.test.len(),
        src_vocab_size,
        tgt_vocab_size,
        args.device,
    );
    println!(
        "validation BLEU: {}",
        bleu_signature(1, config.training.bleu_tokenize(&config.data))
    );
    if load.skipped_lines > 0 {
        println!("skipped {} malformed lines", load.skipped_lines);
    }
    if load.dropped_long > 0 {
        println!(
            "dropped {} training pairs longer than {} tokens",
            load.dropped_long,
            config.data.max_sentence_len.unwrap_or(0)
        );
    }
    let report = train_on_devices(&config, &prepared, &devices, &args.artifact_dir, dashboard)?;
    print_report(&report, &args.artifact_dir, dashboard);
    Ok(())
}

fn print_report(report: &TrainReport, artifact_dir: &Path, dashboard: Dashboard) {
    // The dashboard's screen is gone once training ends: leave the epochs' figures behind.
    if dashboard == Dashboard::Auto && std::io::stdout().is_terminal() {
        print_epochs(artifact_dir);
    }
    if let Some(reason) = &report.stopped {
        println!("stopped early: {reason}");
    }
    for p in &report.pretrained {
        println!(
            "{} embeddings: {} words initialised from {}, {} missing (random init){}",
            p.side,
            p.found,
            p.path.display(),
            p.missing,
            if p.frozen { ", frozen" } else { "" }
        );
    }
    println!(
        "done: {} epochs in {:.1}s, kept {} | {} parameters | held-out BLEU {:.2} ({}), chrF {:.2}, exact match {:.2}% (n = {}) | artifacts in {}",
        report.epochs,
        report.train_seconds,
        report.kept,
        report.n_params,
        report.test.bleu,
        report.test.bleu_signature,
        report.test.chrf,
        100.0 * report.test.exact_match,
        report.test.n,
        artifact_dir.display()
    );
}

/// One line per epoch from `metrics.csv`: validation loss and scores, and the learning rate.
fn print_epochs(artifact_dir: &Path) {
    let Ok(csv) = std::fs::read_to_string(artifact_dir.join("metrics.csv")) else {
        return;
    };
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let column = |row: &[&str], name: &str| -> f64 {
        header
            .iter()
            .position(|h| *h == name)
            .and_then(|i| row.get(i)?.parse().ok())
            .unwrap_or(f64::NAN)
    };
    for line in lines {
        let row: Vec<&str> = line.split(',').collect();
        println!(
            "epoch {} | train loss {:.4} | valid loss {:.4}, BLEU {:.2}, chrF {:.2}, exact match {:.2}% | lr {:.2e}",
            row.first().unwrap_or(&"?"),
            column(&row, "train_loss"),
            column(&row, "valid_loss"),
            column(&row, "valid_bleu"),
            column(&row, "valid_chrf"),
            column(&row, "valid_exact_match"),
            column(&row, "learning_rate"),
        );
    }
}
