//! `transduce data`: samples or statistics of the data `train` would use.

use std::io::{BufWriter, Write};

use transduce_data::{BatchPlan, padding_fraction};

use super::{DataCmdArgs, SplitArg};
use crate::config::{read_config_file, resolve};
use crate::progress::Progress;

/// Runs `transduce data`.
pub fn run(args: DataCmdArgs) -> anyhow::Result<()> {
    let file = match &args.config {
        Some(path) => Some((path.as_path(), read_config_file(path)?)),
        None => None,
    };
    let mut config = resolve(file, None, None)?;
    args.data.apply(&mut config.data, false);
    if let Some(seed) = args.seed {
        config.training.seed = seed;
    }
    let progress = Progress::spinner("preparing data");
    let (prepared, load) = config
        .data
        .prepare_with(config.training.seed, &mut |stage| progress.stage(stage))?;
    drop(progress);
    let splits = &prepared.splits;
    let mut out = BufWriter::new(std::io::stdout().lock());
    if !args.stats {
        let pairs = match args.split {
            SplitArg::Train => &splits.train,
            SplitArg::Valid => &splits.valid,
            SplitArg::Test => &splits.test,
        };
        for pair in pairs.iter().take(args.n) {
            writeln!(out, "{}\t{}", pair.src, pair.tgt)?;
        }
        return Ok(out.flush()?);
    }
    let codec = &prepared.codec;
    writeln!(
        out,
        "data: {} ({} tokenizer)",
        config.data.describe(),
        config.data.tokenizer().name()
    )?;
    writeln!(
        out,
        "pairs: {} train, {} valid, {} test",
        splits.train.len(),
        splits.valid.len(),
        splits.test.len()
    )?;
    if load.skipped_lines > 0 || load.dropped_long > 0 {
        writeln!(
            out,
            "skipped {} malformed lines; dropped {} long training pairs",
            load.skipped_lines, load.dropped_long
        )?;
    }
    writeln!(
        out,
        "vocabulary: {} source, {} target entries (with 4 special tokens)",
        codec.src_vocab.len(),
        codec.tgt_vocab.len()
    )?;
    let examples = codec.examples(&splits.train);
    for (side, lens) in [
        (
            "source",
            examples.iter().map(|e| e.src.len()).collect::<Vec<_>>(),
        ),
        (
            "target",
            examples.iter().map(|e| e.tgt.len()).collect::<Vec<_>>(),
        ),
    ] {
        writeln!(
            out,
            "{side} tokens per training sentence: {}",
            length_summary(&lens)
        )?;
        for line in histogram(&lens) {
            writeln!(out, "  {line}")?;
        }
    }
    let batch_size = config.training.batch_size;
    let seed = config.training.seed;
    let plan = |bucket, pool| BatchPlan {
        batch_size,
        max_tokens: None,
        bucket,
        pool,
    };
    let padding =
        |plan: BatchPlan| 100.0 * padding_fraction(&examples, &plan.batches(&examples, seed));
    write!(
        out,
        "padding in batches of {batch_size}: random order {:.1}%, length-bucketed {:.1}%",
        padding(plan(false, None)),
        padding(plan(true, None))
    )?;
    match config.training.bucket_pool {
        Some(pool) => writeln!(
            out,
            ", bucketed in pools of {pool} batches {:.1}%",
            padding(plan(true, Some(pool)))
        )?,
        None => writeln!(out)?,
    }
    Ok(out.flush()?)
}

/// `min / mean / median / max`.
fn length_summary(lens: &[usize]) -> String {
    let mut sorted = lens.to_vec();
    sorted.sort_unstable();
    let mean = sorted.iter().sum::<usize>() as f64 / sorted.len().max(1) as f64;
    format!(
        "min {} / mean {mean:.1} / median {} / max {}",
        sorted.first().unwrap_or(&0),
        sorted.get(sorted.len() / 2).unwrap_or(&0),
        sorted.last().unwrap_or(&0)
    )
}

/// A text histogram in up to 10 equal-width bins.
fn histogram(lens: &[usize]) -> Vec<String> {
    let (Some(&min), Some(&max)) = (lens.iter().min(), lens.iter().max()) else {
        return Vec::new();
    };
    let width = (max - min) / 10 + 1;
    let mut counts = vec![0usize; (max - min) / width + 1];
    for &l in lens {
        counts[(l - min) / width] += 1;
    }
    let peak = *counts.iter().max().unwrap_or(&1);
    counts
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let lo = min + i * width;
            let bar = "#".repeat((40 * c).div_ceil(peak));
            format!("{:>4}-{:<4} {:>7} {bar}", lo, lo + width - 1, c)
        })
        .collect()
}
