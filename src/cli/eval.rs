//! `transduce eval`: decode a test set and report BLEU, chrF and exact match.

use super::{EvalArgs, open, warn_unknown};
use crate::progress::Progress;

/// Runs `transduce eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let (artifact, mut translator) = open(
        &args.artifact_dir,
        &args.device,
        args.batch_size,
        args.beam,
        &args.search,
    )?;
    if let Some(tokenize) = args.bleu_tokenize {
        translator = translator.with_bleu_tokenize(tokenize);
    }
    let (path, pairs) = match &args.test {
        // A file of raw pairs is oriented and normalised as training's data was.
        Some(path) => {
            let normalization = artifact.config.data.normalization();
            let pairs = transduce_data::read_tsv(path, false)?.0;
            let pairs = pairs.into_iter().map(|p| normalization.pair(p)).collect();
            (path.clone(), pairs)
        }
        None => artifact.held_out()?,
    };
    let progress = Progress::bar("evaluating", pairs.len() as u64, "sentences");
    let (report, _) = translator.evaluate_with(&pairs, &mut |n| progress.advance(n))?;
    drop(progress);
    warn_unknown(
        &path.display().to_string(),
        report.unknown_source_tokens,
        report.source_tokens,
    );
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "BLEU {:.2} ({}) | chrF {:.2} | exact match {:.2}% (n = {})",
            report.bleu,
            report.bleu_signature,
            report.chrf,
            100.0 * report.exact_match,
            report.n
        );
    }
    Ok(())
}
