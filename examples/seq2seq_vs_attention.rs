//! The lecture's first claim, measured: a fixed context vector loses information on long inputs,
//! and attention fixes it. Two LSTM encoder-decoders of the same size learn to reverse digit
//! strings of 3 to 24 digits, one that squeezes the source into its final state (Sutskever et
//! al. 2014) and one with Luong et al. 2015's attention; the example prints their exact match on
//! held-out strings by source length.
//!
//! ```sh
//! cargo run --release --example seq2seq_vs_attention
//! ```

use transduce::prelude::*;

fn main() -> anyhow::Result<()> {
    let device = Device::flex();
    let dir = std::env::temp_dir().join("transduce-seq2seq-vs-attention");
    let buckets = [(3, 8), (9, 14), (15, 19), (20, 24)];
    let mut table = Vec::new();
    for (name, model) in [
        (
            "seq2seq (context vector)",
            ModelConfig::Seq2seq(
                RnnSeq2SeqConfig::new(0, 0)
                    .with_cell(CellKind::Lstm)
                    .with_d_hidden(128)
                    .with_d_embedding(32)
                    .with_dropout(0.0),
            ),
        ),
        (
            "Luong attention",
            ModelConfig::Luong(
                // Luong's defaults: the general score, s · W_a h, and input feeding.
                LuongConfig::new(0, 0)
                    .with_cell(CellKind::Lstm)
                    .with_score(Score::General)
                    .with_input_feeding(true)
                    .with_d_hidden(128)
                    .with_d_embedding(32)
                    .with_bidirectional(false)
                    .with_dropout(0.0),
            ),
        ),
    ] {
        let mut config = RunConfig::new(model);
        config.training = TrainingConfig::new().with_epochs(6).with_seed(3);
        config.data.n_train = 8000;
        config.data.n_valid = 200;
        config.data.n_test = 800;
        config.data.max_len = 24;
        let (data, _) = config.prepare()?;
        let run = dir.join(config.model.arch());
        let report = train(&config, &data, &device, &run)?;
        let artifact = Artifact::open(&run)?;
        let translator = artifact.translator(&device)?;
        let pairs = artifact.test_pairs()?;
        let sources: Vec<String> = pairs.iter().map(|p| p.src.clone()).collect();
        let outputs = translator.translate(&sources)?;
        let row: Vec<(usize, usize)> = buckets
            .iter()
            .map(|&(lo, hi)| {
                let in_bucket = pairs
                    .iter()
                    .zip(&outputs)
                    .filter(|(p, _)| (lo..=hi).contains(&p.src.chars().count()));
                let (right, all) = in_bucket.fold((0, 0), |(r, a), (p, o)| {
                    (r + usize::from(*o == p.tgt), a + 1)
                });
                (right, all)
            })
            .collect();
        table.push((name, report.train_seconds, row));
    }
    println!("exact match on held-out strings, by source length:");
    let header: Vec<String> = buckets
        .iter()
        .map(|(lo, hi)| format!("{lo:>2}-{hi:<2}"))
        .collect();
    println!("  {:26} {:>7}  {}", "model", "train", header.join("      "));
    for (name, seconds, row) in table {
        let cells: Vec<String> = row
            .iter()
            .map(|&(right, all)| format!("{:5.1}% ", 100.0 * right as f64 / all.max(1) as f64))
            .collect();
        println!("  {name:26} {seconds:6.0}s  {}", cells.join("  "));
    }
    Ok(())
}
