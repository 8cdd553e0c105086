//! Checkpoints written atomically: each file is written under a temporary name in the same
//! directory and renamed, so a crash (even `kill -9`) never leaves a half-written file under a
//! checkpoint's name.

use std::path::{Path, PathBuf};

use burn::train::checkpoint::{Checkpoint, Checkpointer, CheckpointerError};

/// burn-train's file checkpointer (`<dir>/<name>-<epoch>.bpk`), with atomic writes.
pub struct AtomicFileCheckpointer {
    directory: PathBuf,
    name: String,
}

impl AtomicFileCheckpointer {
    /// Checkpoints named `<name>-<epoch>.bpk` in `directory` (created if needed).
    pub fn new(directory: &Path, name: &str) -> Self {
        std::fs::create_dir_all(directory).ok();
        AtomicFileCheckpointer {
            directory: directory.to_path_buf(),
            name: name.to_string(),
        }
    }

    fn path(&self, epoch: usize) -> PathBuf {
        self.directory.join(format!("{}-{epoch}.bpk", self.name))
    }
}

impl<R: Checkpoint> Checkpointer<R> for AtomicFileCheckpointer {
    fn save(&self, epoch: usize, record: R) -> Result<(), CheckpointerError> {
        let tmp = self.directory.join(format!(
            "tmp-{}-{epoch}-{}.bpk",
            self.name,
            std::process::id()
        ));
        record.save(tmp.clone())?;
        std::fs::rename(&tmp, self.path(epoch)).map_err(CheckpointerError::IOError)
    }

    fn restore(&self, epoch: usize) -> Result<R, CheckpointerError> {
        R::load(self.path(epoch))
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        let path = self.path(epoch);
        if path.exists() {
            std::fs::remove_file(path).map_err(CheckpointerError::IOError)?;
        }
        Ok(())
    }
}

/// The latest epoch with a complete checkpoint (model, optimizer, scheduler and the run's own
/// state, `state-<epoch>.json`) in `directory`.
pub fn latest_complete(directory: &Path) -> Option<usize> {
    let entries = std::fs::read_dir(directory).ok()?;
    let epochs = entries.filter_map(|e| {
        e.ok()?
            .file_name()
            .to_str()?
            .strip_prefix("model-")?
            .strip_suffix(".bpk")?
            .parse()
            .ok()
    });
    epochs
        .filter(|epoch: &usize| {
            ["optim", "scheduler"]
                .iter()
                .all(|name| directory.join(format!("{name}-{epoch}.bpk")).is_file())
                && directory.join(format!("state-{epoch}.json")).is_file()
        })
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_complete_needs_all_three_files() {
        let dir = std::env::temp_dir().join(format!("transduce-ckpt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(latest_complete(&dir), None);
        for name in [
            "model-2.bpk",
            "optim-2.bpk",
            "scheduler-2.bpk",
            "state-2.json",
            "model-3.bpk",
            "optim-3.bpk",
            "tmp-model-4-1.bpk",
            "model-5.bpk",
            "optim-5.bpk",
            "scheduler-5.bpk",
        ] {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        assert_eq!(latest_complete(&dir), Some(2));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
