//! `transduce train` at a real (pseudo-)terminal: burn-train's dashboard, never its debug dump of
//! `ProgressSnapshot`s, and `--no-tui` for one line per epoch.

use std::io::Read;

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

/// Where the package's files are: read at run time, since a build shared between checkouts
/// (one cargo target directory) would keep a compile-time `env!` path of another checkout.
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR")
}

/// A config small enough to train in about a second.
fn quick() -> String {
    format!("{}/assets/configs/quick.json", manifest_dir())
}

/// Runs the binary in a 40x120 pseudo-terminal; returns whether it succeeded and all it wrote.
fn run_in_pty(args: &[&str]) -> (bool, String) {
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 40,
            cols: 120,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("a pseudo-terminal");
    let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_transduce"));
    command.args(args);
    command.env("TERM", "xterm-256color");
    let mut child = pty.slave.spawn_command(command).expect("the binary runs");
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().expect("a reader");
    // Read until the child closes the terminal (EIO on Linux marks the end).
    let output = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
            }
        }
        bytes
    });
    let status = child.wait().expect("the child exits");
    drop(pty.master);
    let bytes = output.join().expect("the reader finishes");
    (
        status.success(),
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// `train` on the quick config at a terminal, with `extra` flags; all it wrote.
fn train_in_pty(extra: &[&str]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let quick = quick();
    let mut args = vec!["train", "--config", &quick, "--device", "flex"];
    args.extend(extra);
    args.extend(["--artifact-dir", dir.to_str().unwrap()]);
    let (ok, out) = run_in_pty(&args);
    assert!(ok, "training failed at a terminal:\n{out}");
    out
}

#[test]
fn a_terminal_gets_the_dashboard_and_no_debug_dumps() {
    let out = train_in_pty(&[]);
    assert!(
        !out.contains("ProgressSnapshot"),
        "debug dumps at a terminal:\n{out}"
    );
    // The dashboard runs on the alternate screen and leaves it when training ends.
    assert!(out.contains("\u{1b}[?1049h"), "no dashboard:\n{out}");
    assert!(
        out.contains("\u{1b}[?1049l"),
        "the dashboard never closed:\n{out}"
    );
    assert!(out.contains("done: 2 epochs"), "{out}");
    // The epochs' figures stay on the screen after the dashboard closes.
    let after = &out[out.rfind("\u{1b}[?1049l").unwrap()..];
    assert!(after.contains("epoch 1 | train loss"), "{after}");
    assert!(after.contains("epoch 2 | train loss"), "{after}");
}

#[test]
fn no_tui_prints_one_line_per_epoch_at_a_terminal() {
    let out = train_in_pty(&["--no-tui"]);
    assert!(!out.contains("ProgressSnapshot"), "{out}");
    assert!(!out.contains("\u{1b}[?1049h"), "the dashboard ran:\n{out}");
    assert!(out.contains("epoch 1/2 | train Loss"), "{out}");
    assert!(out.contains("epoch 2/2 | train Loss"), "{out}");
}
