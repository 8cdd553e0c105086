//! `transduce score`: corpus BLEU and chrF of a hypothesis file, as sacreBLEU computes them.

use anyhow::bail;
use serde_json::json;
use transduce_infer::score::{
    bleu_signature, chrf_signature, corpus_bleu_with, corpus_chrf_with, lowercased_signature,
};

use super::{ScoreArgs, read_lines};

/// Runs `transduce score`.
pub fn run(args: ScoreArgs) -> anyhow::Result<()> {
    let case = |lines: Vec<String>| -> Vec<String> {
        if args.lowercase {
            lines.into_iter().map(|l| l.to_lowercase()).collect()
        } else {
            lines
        }
    };
    let hyps = case(read_lines(&args.hyp)?);
    let mut streams = Vec::new();
    for path in &args.reference {
        let refs = case(read_lines(path)?);
        if refs.len() != hyps.len() {
            bail!(
                "{} has {} lines but {} has {}: one reference per hypothesis in every --ref file",
                args.hyp.display(),
                hyps.len(),
                path.display(),
                refs.len()
            );
        }
        streams.push(refs);
    }
    let streams: Vec<&[String]> = streams.iter().map(Vec::as_slice).collect();
    let word_order = usize::from(args.chrf_word_order);
    let bleu = corpus_bleu_with(&hyps, &streams, args.bleu_tokenize);
    let chrf = corpus_chrf_with(&hyps, &streams, word_order);
    let mut bleu_sig = bleu_signature(streams.len(), args.bleu_tokenize);
    let mut chrf_sig = chrf_signature(streams.len(), word_order);
    if args.lowercase {
        bleu_sig = lowercased_signature(&bleu_sig);
        chrf_sig = lowercased_signature(&chrf_sig);
    }
    if args.json {
        let json = json!({
            "bleu": bleu.score,
            "bleu_signature": bleu_sig,
            "chrf": chrf,
            "chrf_signature": chrf_sig,
            "chrf_word_order": word_order,
            "n": hyps.len(),
            "bleu_precisions": bleu.precisions,
            "bleu_bp": bleu.bp,
            "sys_len": bleu.sys_len,
            "ref_len": bleu.ref_len,
        });
        println!("{json}");
    } else {
        let p = bleu.precisions;
        println!(
            "BLEU = {:.2} {:.1}/{:.1}/{:.1}/{:.1} (BP = {:.3} ratio = {:.3} hyp_len = {} ref_len = {}) {bleu_sig}",
            bleu.score,
            p[0],
            p[1],
            p[2],
            p[3],
            bleu.bp,
            bleu.sys_len as f64 / bleu.ref_len.max(1) as f64,
            bleu.sys_len,
            bleu.ref_len
        );
        let plus = "+".repeat(word_order.min(2));
        println!("chrF2{plus} = {chrf:.2} {chrf_sig}");
    }
    Ok(())
}
