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
    /// Checkpoints named `<name>-<epoch>.bpk` in `directory` (created if needed). Temporary
    /// files of this name that another process left behind (a run killed while writing) are
    /// removed: they were never renamed, so they hold no complete checkpoint.
    pub fn new(directory: &Path, name: &str) -> Self {
        std::fs::create_dir_all(directory).ok();
        let checkpointer = AtomicFileCheckpointer {
            directory: directory.to_path_buf(),
            name: name.to_string(),
        };
        checkpointer.remove_stale_temporaries();
        checkpointer
    }

    /// The temporary name of epoch `epoch`'s file, for this process.
    fn temporary(&self, epoch: usize) -> PathBuf {
        let pid = std::process::id();
        self.directory
            .join(format!("tmp-{}-{epoch}-{pid}.bpk", self.name))
    }

    fn remove_stale_temporaries(&self) {
        let Ok(entries) = std::fs::read_dir(&self.directory) else {
            return;
        };
        let prefix = format!("tmp-{}-", self.name);
        let own = std::process::id().to_string();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            // `tmp-<name>-<epoch>-<pid>.bpk`, or burn's own scratch file beside it while the
            // record is being written, `tmp-<name>-<epoch>-<pid>.bpk.<pid>-<n>.tmp`.
            let pid = name
                .strip_prefix(&prefix)
                .and_then(|rest| rest.split_once(".bpk"))
                .and_then(|(stem, _)| stem.split_once('-'))
                .map(|(_epoch, pid)| pid);
            if pid.is_some_and(|pid| pid != own) {
                std::fs::remove_file(entry.path()).ok();
            }
        }
    }

    fn path(&self, epoch: usize) -> PathBuf {
        self.directory.join(format!("{}-{epoch}.bpk", self.name))
    }
}

impl<R: Checkpoint> Checkpointer<R> for AtomicFileCheckpointer {
    fn save(&self, epoch: usize, record: R) -> Result<(), CheckpointerError> {
        let tmp = self.temporary(epoch);
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
    fn temporaries_left_by_a_killed_run_are_removed() {
        // Its own directory: tests run in parallel.
        let dir = std::env::temp_dir().join(format!("transduce-stale-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = [
            "tmp-model-3-999999999.bpk", // another process's, never renamed
            // burn's scratch file inside that write, left by a kill during the write (seen)
            "tmp-model-3-999999999.bpk.999999999-6.tmp",
            "tmp-optim-3-999999999.bpk", // another checkpointer's name: not ours to remove
            "model-2.bpk",
        ];
        for f in files {
            std::fs::write(dir.join(f), b"x").unwrap();
        }
        let own = format!(
            "tmp-model-4-{}.bpk.{}-1.tmp",
            std::process::id(),
            std::process::id()
        );
        std::fs::write(dir.join(&own), b"x").unwrap();
        let ours = AtomicFileCheckpointer::new(&dir, "model");
        assert!(!dir.join(files[0]).exists() && !dir.join(files[1]).exists());
        assert!(dir.join(files[2]).exists() && dir.join(files[3]).exists());
        assert!(
            dir.join(&own).exists(),
            "this process's writes are left alone"
        );
        assert!(
            ours.temporary(3)
                .ends_with(format!("tmp-model-3-{}.bpk", std::process::id()))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

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
