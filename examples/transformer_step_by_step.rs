//! The Transformer's parts as numbers and pictures (Vaswani et al. 2017): the sinusoidal
//! positional encoding `PE(pos, 2i) = sin(pos / 10000^(2i/d))`, `PE(pos, 2i+1) = cos(..)`; the
//! causal mask that keeps the decoder from seeing the future; and, in a small Transformer
//! trained for a few seconds to reverse digit strings, one head's weights
//! `softmax(Q Kᵀ / sqrt(d_k))` of the decoder's self-attention and of its cross-attention.
//!
//! ```sh
//! cargo run --release --example transformer_step_by_step            # pictures in the temp dir
//! cargo run --release --example transformer_step_by_step -- out/    # or in out/
//! ```

use transduce::infer::inspect::{Heatmap, MapRequest, attention_maps};
use transduce::nn::transformer::attention::causal_mask;
use transduce::nn::transformer::positional::sinusoidal_table;
use transduce::prelude::*;
use transduce::train::heatmap::draw;

fn main() -> anyhow::Result<()> {
    let out = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("transduce-transformer-step-by-step"));
    std::fs::create_dir_all(&out)?;
    let device = Device::flex();

    // 1. Positional encodings: each position a distinct pattern of sines and cosines, slower
    //    along the dimensions.
    let (positions, d_model) = (40, 32);
    let table = sinusoidal_table(0, positions, d_model);
    println!("PE(pos, 0..8) for the first positions:");
    for pos in 0..4 {
        let row: Vec<String> = table[pos * d_model..][..8]
            .iter()
            .map(|v| format!("{v:+.3}"))
            .collect();
        println!("  pos {pos}: {}", row.join(" "));
    }
    let pe = Heatmap {
        title: "PE(pos, i), shown as (value + 1) / 2".into(),
        rows: (0..positions).map(|p| p.to_string()).collect(),
        columns: (0..d_model).map(|i| i.to_string()).collect(),
        weights: (0..positions)
            .map(|p| {
                table[p * d_model..][..d_model]
                    .iter()
                    .map(|v| (v + 1.0) / 2.0)
                    .collect()
            })
            .collect(),
    };
    draw(&out.join("positional.png"), &[vec![pe]])?;

    // 2. The causal mask: query i may look at keys 0..=i (1 = allowed).
    let n = 6;
    let mask: Vec<bool> = causal_mask(n, n, &device)
        .into_data()
        .convert::<bool>()
        .try_to_vec::<bool>()
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    println!("causal mask, 1 = may attend (rows: queries, columns: keys):");
    let allowed: Vec<Vec<f32>> = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| if mask[i * n + j] { 0.0 } else { 1.0 })
                .collect()
        })
        .collect();
    for row in &allowed {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:.0}")).collect();
        println!("  {}", cells.join(" "));
    }
    let labels: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    let mask_map = Heatmap {
        title: "causal mask".into(),
        rows: labels.clone(),
        columns: labels,
        weights: allowed,
    };
    draw(&out.join("causal_mask.png"), &[vec![mask_map]])?;

    // 3. One head of a trained model: a small Transformer learns to reverse digit strings.
    let mut config = RunConfig::new(ModelConfig::Transformer(
        TransformerConfig::new(0, 0)
            .with_d_model(64)
            .with_n_heads(4)
            .with_n_encoder_layers(2)
            .with_n_decoder_layers(2),
    ));
    config.training = TrainingConfig::new().with_epochs(6).with_warmup_steps(150);
    config.data.n_train = 4000;
    config.data.max_len = 8;
    let (data, _) = config.prepare()?;
    let dir = out.join("model");
    let report = transduce::train::train(&config, &data, &device, &dir)?;
    println!(
        "trained in {:.0} s: held-out exact match {:.1}%",
        report.train_seconds,
        100.0 * report.test.exact_match
    );
    let translator = Artifact::open(&dir)?.translator(&device)?;
    // The last layer (2): where this model copies each digit from its mirror position.
    let request = MapRequest {
        grid: true,
        ..MapRequest::default()
    };
    let maps = attention_maps(&translator, "1234567", &request)?;
    println!("1234567 -> {}", maps.translation);
    // The grid's rows: encoder self-, decoder self- and cross-attention; columns: heads.
    let (self_head, cross_head) = (&maps.grid[1][0], &maps.grid[2][0]);
    for map in [self_head, cross_head] {
        println!(
            "{} (rows: outputs, columns: {}):",
            map.title,
            map.columns.join(" ")
        );
        for (label, row) in map.rows.iter().zip(&map.weights) {
            let cells: Vec<String> = row.iter().map(|v| format!("{v:.2}")).collect();
            println!("  {label:>5}  {}", cells.join(" "));
        }
    }
    draw(
        &out.join("one_head.png"),
        &[vec![self_head.clone(), cross_head.clone()]],
    )?;
    draw(&out.join("layer2_grid.png"), &maps.grid)?;
    println!(
        "pictures: {} (positional.png, causal_mask.png, one_head.png, layer2_grid.png)",
        out.display()
    );
    Ok(())
}
