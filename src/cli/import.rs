//! `transduce import`: an artifact directory from a PyTorch state dict.

use burn::module::Module;
use burn::prelude::Device;
use transduce_infer::import::{import_pytorch, read_import_config};

use super::ImportArgs;

/// Runs `transduce import`.
pub fn run(args: ImportArgs) -> anyhow::Result<()> {
    let config = read_import_config(&args.config)?;
    let artifact = import_pytorch(
        &args.state_dict,
        config,
        &args.src_vocab,
        &args.tgt_vocab,
        &args.out,
        &Device::flex(),
    )?;
    let model = artifact.load_model(&Device::flex())?;
    eprintln!(
        "wrote {}: a {} model with {} parameters from {} (vocabularies {} / {})",
        args.out.display(),
        artifact.config.model.arch(),
        model.num_params(),
        args.state_dict.display(),
        artifact.codec.src_vocab.len(),
        artifact.codec.tgt_vocab.len()
    );
    Ok(())
}
