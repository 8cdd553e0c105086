//! `transduce experiment`: the lecture's claims, measured (see [`crate::experiment`]).

use super::ExperimentCommand;
use crate::experiment::{length_study, read_length_recipe};

/// Runs `transduce experiment ...`.
pub fn run(command: ExperimentCommand) -> anyhow::Result<()> {
    match command {
        ExperimentCommand::Length(args) => {
            let recipe = read_length_recipe(&args.recipe)?;
            let device = args.device.device().map_err(anyhow::Error::msg)?;
            length_study(
                &recipe,
                &args.recipe,
                &device,
                &args.device.to_string(),
                &args.out,
            )?;
            println!(
                "wrote {}: length.md, length.csv, length_exact_match.png, length_chrf.png, runs/",
                args.out.display()
            );
            Ok(())
        }
    }
}
