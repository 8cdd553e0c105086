//! `transduce attention`: the attention map of one translation, drawn to a PNG or SVG.

use super::{AttentionArgs, open};

/// Runs `transduce attention`.
pub fn run(args: AttentionArgs) -> anyhow::Result<()> {
    let (_, translator) = open(&args.artifact_dir, &args.device, 1, args.beam, &args.search)?;
    let request = transduce_infer::inspect::MapRequest {
        layer: args.layer,
        head: args.head,
        grid: args.grid,
    };
    let maps = transduce_infer::inspect::attention_maps(&translator, &args.text, &request)?;
    transduce_train::heatmap::draw(&args.out, &maps.grid)?;
    let (width, height) = transduce_train::heatmap::picture_size(&maps.grid);
    println!("{}", maps.translation);
    eprintln!(
        "wrote {} ({width}x{height}): {} source and {} output tokens",
        args.out.display(),
        maps.source.len(),
        maps.output.len()
    );
    Ok(())
}
