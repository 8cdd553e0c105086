//! `transduce translate`: source lines in, translations (or n-best lists) out.

use std::io::{BufRead, BufWriter, Write};

use anyhow::{Context, bail};

use super::{TranslateArgs, open, warn_unknown};
use crate::progress::Progress;

/// Runs `transduce translate`.
pub fn run(args: TranslateArgs) -> anyhow::Result<()> {
    if let Some(n) = args.nbest
        && !(1..=args.beam).contains(&n)
    {
        bail!(
            "--nbest {n} needs --beam of at least {n} (it is {}), and --nbest at least 1",
            args.beam
        );
    }
    let (_, translator) = open(
        &args.artifact_dir,
        &args.device,
        args.batch_size,
        args.beam,
        &args.search,
    )?;
    if args.show_alignment && matches!(translator.model, transduce_nn::Model::Seq2seq(_)) {
        bail!("--show-alignment needs attention, and seq2seq (Sutskever et al. 2014) has none");
    }
    let (name, reader): (String, Box<dyn BufRead>) = match &args.input {
        Some(path) => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("{}: cannot open", path.display()))?;
            (
                path.display().to_string(),
                Box::new(std::io::BufReader::new(file)),
            )
        }
        None => ("<stdin>".to_string(), Box::new(std::io::stdin().lock())),
    };
    let mut lines = Vec::new();
    for (i, line) in reader.split(b'\n').enumerate() {
        let bytes = line.with_context(|| format!("{name}: read error"))?;
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(&bytes);
        match std::str::from_utf8(bytes) {
            Ok(text) => lines.push(text.to_string()),
            Err(e) => bail!(
                "{name}:{}: invalid UTF-8 at byte {}",
                i + 1,
                e.valid_up_to()
            ),
        }
    }
    let (ids, unknown) = translator.encode(&lines);
    warn_unknown(&name, unknown, ids.iter().map(Vec::len).sum());
    let progress = Progress::bar("translating", lines.len() as u64, "sentences");
    let lists = translator
        .decode_nbest_with(&ids, args.nbest.unwrap_or(1), &mut |n| progress.advance(n))
        .with_context(|| name.clone())?;
    drop(progress);
    // `\t` and the alignment column, when asked for.
    let aligned = |source: &[usize], h: &transduce_decode::Hypothesis| -> anyhow::Result<String> {
        if !args.show_alignment {
            return Ok(String::new());
        }
        let pairs = transduce_infer::inspect::alignment(&translator, source, h)?;
        let pairs: Vec<String> = pairs.iter().map(|(t, s)| format!("{t}→{s}")).collect();
        Ok(format!("\t{}", pairs.join(" ")))
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    for (index, list) in lists.iter().enumerate() {
        if args.nbest.is_none() {
            match list.first() {
                Some(h) => {
                    let text = translator.codec.decode_tgt(&h.tokens);
                    writeln!(out, "{text}{}", aligned(&ids[index], h)?)?;
                }
                None if args.show_alignment => writeln!(out, "\t")?,
                None => writeln!(out)?,
            }
            continue;
        }
        for h in list {
            let score = translator
                .length_penalty
                .normalise(h.score, h.tokens.len() + 1);
            let text = translator.codec.decode_tgt(&h.tokens);
            writeln!(
                out,
                "{index}\t{score:.4}\t{text}{}",
                aligned(&ids[index], h)?
            )?;
        }
    }
    out.flush()?;
    Ok(())
}
