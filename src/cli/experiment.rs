//! `transduce experiment`: the lecture's claims, measured (see [`crate::experiment`]).

use super::ExperimentCommand;
use crate::experiment::{length_study, read_length_recipe, read_speed_recipe, speed_study};

/// Runs `transduce experiment ...`.
pub fn run(command: ExperimentCommand) -> anyhow::Result<()> {
    let (args, study) = match &command {
        ExperimentCommand::Length(args) => (args, "length"),
        ExperimentCommand::Speed(args) => (args, "speed"),
    };
    let path = args.recipe(study);
    let device = args.device.device().map_err(anyhow::Error::msg)?;
    let name = args.device.to_string();
    let written = match &command {
        ExperimentCommand::Length(_) => {
            length_study(
                &read_length_recipe(&path)?,
                &path,
                &device,
                &name,
                &args.out,
            )?;
            "length.md, length.csv, length_exact_match.png, length_chrf.png, runs/"
        }
        ExperimentCommand::Speed(_) => {
            speed_study(&read_speed_recipe(&path)?, &path, &device, &name, &args.out)?;
            "speed.md, speed.csv, speed_epochs.csv, speed_steps.csv, speed_decode.csv, speed_valid_vs_time.png, speed_train_vs_length.png, speed_decode_vs_length.png, runs/"
        }
    };
    println!("wrote {}: {written}", args.out.display());
    Ok(())
}
