//! The `transduce` command line: [`args`] defines it, one module per subcommand runs it.

pub mod args;
mod attention;
mod bench;
mod data;
mod eval;
mod experiment;
mod export;
mod import;
mod score;
mod train;
mod translate;

use std::path::Path;

use anyhow::{Context, bail};
use transduce_infer::Translator;
use transduce_infer::artifact::Artifact;

pub use args::*;

use crate::device::DeviceSpec;

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(args) => train::run(args),
        Command::Translate(args) => translate::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Data(args) => data::run(args),
        Command::Score(args) => score::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Attention(args) => attention::run(args),
        Command::Export(args) => export::run(args),
        Command::Import(args) => import::run(args),
        Command::Experiment(command) => experiment::run(command),
    }
}

/// The lines of a text file, without line endings; invalid UTF-8 is an error naming the line.
pub(crate) fn read_lines(path: &Path) -> anyhow::Result<Vec<String>> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
        .into_iter()
        .enumerate()
        .map(|(i, line)| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            String::from_utf8(line.to_vec()).map_err(|e| {
                anyhow::anyhow!(
                    "{}:{}: invalid UTF-8 at byte {}",
                    path.display(),
                    i + 1,
                    e.utf8_error().valid_up_to()
                )
            })
        })
        .collect()
}

/// Opens an artifact and builds its translator with the search flags.
pub(crate) fn open(
    artifact_dir: &Path,
    device: &DeviceSpec,
    batch_size: usize,
    beam_width: usize,
    search: &SearchArgs,
) -> anyhow::Result<(Artifact, Translator)> {
    if beam_width == 0 {
        bail!("--beam must be at least 1");
    }
    let length_penalty = search.length_penalty().map_err(anyhow::Error::msg)?;
    let length_limit = search.length_limit().map_err(anyhow::Error::msg)?;
    let device = device.device().map_err(anyhow::Error::msg)?;
    let artifact = Artifact::open(artifact_dir)?;
    let translator = artifact
        .translator(&device)?
        .with_batch_size(batch_size)
        .with_beam_width(beam_width)
        .with_length_penalty(length_penalty)
        .with_length_limit(length_limit);
    Ok((artifact, translator))
}

/// Warns once on stderr when the input holds tokens the model's vocabulary does not have (they
/// become `<unk>`, and the translation is unlikely to be meaningful).
pub(crate) fn warn_unknown(name: &str, unknown: usize, total: usize) {
    if unknown > 0 {
        eprintln!(
            "warning: {name}: {unknown} of {total} source tokens are not in the model's vocabulary and were read as <unk>"
        );
    }
}
