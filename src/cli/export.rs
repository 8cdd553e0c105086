//! `transduce export`: a trained model's weights as safetensors, or its inference files for the
//! web page.

use anyhow::Context;
use transduce_infer::artifact::Artifact;
use transduce_infer::bundle::{export_web, web_model_dir};

use super::ExportArgs;

/// Runs `transduce export`.
pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let artifact = Artifact::open(&args.artifact_dir)?;
    if let Some(out) = &args.out {
        let model = artifact.load_model(&burn::prelude::Device::flex())?;
        transduce_infer::artifact::export_safetensors(&model, out)?;
        eprintln!(
            "wrote {} ({} parameters of a {} model)",
            out.display(),
            burn::module::Module::num_params(&model),
            artifact.config.model.arch()
        );
    }
    if let Some(web) = &args.web {
        let name = match &args.name {
            Some(name) => name.clone(),
            None => (args.artifact_dir.canonicalize().ok())
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                .context("name the model with --name")?,
        };
        let entry = export_web(&artifact, web, &name)?;
        eprintln!(
            "wrote {} ({} parameters of a {} model) and listed it in {}",
            web_model_dir(web, &name).display(),
            entry.parameters,
            entry.arch,
            web.join("models/index.json").display()
        );
    }
    Ok(())
}
