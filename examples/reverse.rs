//! Train a small Transformer on the built-in reverse task through the library API, then decode a
//! few strings greedily and with beam search, printing the attention of the first one.
//!
//! ```sh
//! cargo run --release --example reverse
//! ```

use transduce::prelude::*;

fn main() -> anyhow::Result<()> {
    let device = Device::flex();
    // The model's vocabulary sizes are set by `prepare`, from the vocabularies it builds.
    let mut config = RunConfig::new(ModelConfig::Transformer(
        TransformerConfig::new(0, 0).with_d_model(64),
    ));
    config.training = TrainingConfig::new()
        .with_epochs(8)
        .with_warmup_steps(200)
        .with_seed(7);
    config.data = DataConfig {
        task: Task::Reverse,
        n_train: 5000,
        n_valid: 200,
        n_test: 200,
        min_len: 3,
        max_len: 8,
        ..DataConfig::default()
    };
    let (prepared, _) = config.prepare()?;
    let dir = std::env::temp_dir().join("transduce-example-reverse");
    let report = train(&config, &prepared, &device, &dir)?;
    println!(
        "held-out exact match: {:.1}%",
        100.0 * report.test.exact_match
    );

    // Reopen the artifact directory as `transduce translate` does.
    let artifact = Artifact::open(&dir)?;
    let translator = artifact.translator(&device)?.with_batch_size(32);
    let sources: Vec<String> = ["12345", "9081726", "555123"].map(String::from).to_vec();
    for (src, hyp) in sources.iter().zip(translator.translate(&sources)?) {
        println!("{src} -> {hyp}");
    }

    // Beam search over the same model, with the attention of each output token.
    let ids: Vec<Vec<usize>> = sources
        .iter()
        .map(|s| artifact.codec.encode_src(s))
        .collect();
    let (src, mask) = pad_ids(ids, &device);
    let hyps = beam_search(&translator.model, src, mask, &BeamConfig::new(4, 20));
    let first = &hyps[0];
    println!(
        "beam 4: {} (log p = {:.3})",
        artifact.codec.decode_tgt(&first.tokens),
        first.score
    );
    for (token, row) in first.tokens.iter().zip(&first.attention) {
        let cells: Vec<String> = row.iter().map(|a| format!("{a:.2}")).collect();
        println!(
            "  {:>5} attends [{}]",
            artifact.codec.tgt_vocab.token(*token),
            cells.join(" ")
        );
    }
    Ok(())
}
