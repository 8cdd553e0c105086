//! `transduce experiment`: the lecture's claims, measured (see [`crate::experiment`]).

use super::ExperimentCommand;
use crate::experiment::{length_study, read_length_recipe, read_speed_recipe, speed_study};

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
        ExperimentCommand::Speed(args) => {
            let recipe = read_speed_recipe(&args.recipe)?;
            let device = args.device.device().map_err(anyhow::Error::msg)?;
            speed_study(
                &recipe,
                &args.recipe,
                &device,
                &args.device.to_string(),
                &args.out,
            )?;
            println!(
                "wrote {}: speed.md, speed.csv, speed_epochs.csv, speed_steps.csv, speed_decode.csv, speed_valid_vs_time.png, speed_train_vs_length.png, speed_decode_vs_length.png, runs/",
                args.out.display()
            );
            Ok(())
        }
    }
}
