//! Train on a real corpus and translate: Multi30k German → English (image captions), word
//! tokens, a Luong attention model, within a time budget; then the held-out BLEU and chrF as
//! sacreBLEU computes them, and a few test captions.
//!
//! ```sh
//! cargo run --release --example translate_multi30k                          # ../shared/corpora/multi30k, 5 minutes
//! cargo run --release --example translate_multi30k -- DIR SECONDS           # another copy, another budget
//! ```
//! `DIR` holds `train.de train.en val.de val.en test_2016_flickr.de test_2016_flickr.en`.

use std::path::PathBuf;

use transduce::data::TokenizerKind;
use transduce::prelude::*;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let corpus = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "../shared/corpora/multi30k".into()),
    );
    let seconds: f64 = args.next().map_or(Ok(300.0), |s| s.parse())?;
    if !corpus.join("train.de").is_file() {
        anyhow::bail!(
            "{}: no train.de here (pass the corpus directory)",
            corpus.display()
        );
    }
    let device = Device::flex();
    let mut config = RunConfig::new(ModelConfig::Luong(
        LuongConfig::new(0, 0)
            .with_d_embedding(128)
            .with_d_hidden(256)
            .with_dropout(0.2),
    ));
    config.training = TrainingConfig::new()
        .with_epochs(20)
        .with_time_budget(Some(seconds))
        .with_lr(1e-3);
    config.data.src = Some(corpus.join("train.de"));
    config.data.tgt = Some(corpus.join("train.en"));
    config.data.valid_src = Some(corpus.join("val.de"));
    config.data.valid_tgt = Some(corpus.join("val.en"));
    config.data.test_src = Some(corpus.join("test_2016_flickr.de"));
    config.data.test_tgt = Some(corpus.join("test_2016_flickr.en"));
    config.data.tokenizer = Some(TokenizerKind::Word);
    config.data.lowercase = true;
    config.data.min_freq = 2;
    let (data, _) = config.prepare()?;
    println!(
        "Multi30k de→en: {} training pairs, vocabularies {} / {}; training for at most {seconds:.0} s",
        data.splits.train.len(),
        data.codec.src_vocab.len(),
        data.codec.tgt_vocab.len()
    );
    let dir = std::env::temp_dir().join("transduce-multi30k");
    let report = train(&config, &data, &device, &dir)?;
    println!(
        "{} epochs in {:.0} s: test BLEU {:.2} ({}), chrF {:.2}",
        report.epochs,
        report.train_seconds,
        report.test.bleu,
        report.test.bleu_signature,
        report.test.chrf
    );

    let artifact = Artifact::open(&dir)?;
    let translator = artifact.translator(&device)?.with_beam_width(4);
    for pair in artifact.test_pairs()?.iter().take(5) {
        let out = translator.translate(std::slice::from_ref(&pair.src))?;
        println!(
            "  de:  {}\n  en:  {}\n  ref: {}\n",
            pair.src, out[0], pair.tgt
        );
    }
    Ok(())
}
