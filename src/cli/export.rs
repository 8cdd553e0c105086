//! `transduce export`: a trained model's weights as safetensors.

use transduce_infer::artifact::Artifact;

use super::ExportArgs;

/// Runs `transduce export`.
pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let artifact = Artifact::open(&args.artifact_dir)?;
    let model = artifact.load_model(&burn::prelude::Device::flex())?;
    transduce_infer::artifact::export_safetensors(&model, &args.out)?;
    eprintln!(
        "wrote {} ({} parameters of a {} model)",
        args.out.display(),
        burn::module::Module::num_params(&model),
        artifact.config.model.arch()
    );
    Ok(())
}
