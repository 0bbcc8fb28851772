//! Running named steps: each prints what it does, and a failure names the step.

use std::path::PathBuf;
use std::process::Command;

#[derive(Debug)]
pub struct Failure {
    pub step: String,
    pub reason: String,
}

impl Failure {
    pub fn new(step: &str, reason: impl Into<String>) -> Failure {
        Failure { step: step.to_owned(), reason: reason.into() }
    }
}

/// The workspace root (xtask lives one level below it).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// `PAYLET_TEST_POSTGRES_URL`, when set: where Postgres runs are made.
pub fn postgres_url() -> Option<String> {
    std::env::var("PAYLET_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty())
}

/// `cargo`, as the one running xtask, in the workspace root.
pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(workspace_root());
    command
}

/// Cargo's target directory as Cargo resolves it (`CARGO_TARGET_DIR`,
/// `build.target-dir`, or `target/`), which Trunk builds in too.
pub fn target_dir() -> Result<std::path::PathBuf, Failure> {
    const STEP: &str = "find the target directory";
    let out = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .map_err(|e| Failure::new(STEP, format!("cannot run cargo metadata: {e}")))?;
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| Failure::new(STEP, format!("cargo metadata printed no JSON: {e}")))?;
    metadata["target_directory"]
        .as_str()
        .map(Into::into)
        .ok_or_else(|| Failure::new(STEP, "cargo metadata names no target_directory"))
}

/// Runs `command` as step `name`, streaming its output.
pub fn run_step(name: &str, command: &mut Command) -> Result<(), Failure> {
    println!("\n==> {name}");
    let status = command
        .status()
        .map_err(|e| Failure::new(name, format!("could not start `{:?}`: {e}", command.get_program())))?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure::new(name, format!("`{}` exited with {status}", describe(command))))
    }
}

/// Runs `command` quietly and returns its stdout if it succeeds.
pub fn output(command: &mut Command) -> Option<String> {
    let out = command.output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn describe(command: &Command) -> String {
    let args: Vec<String> = command.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
    format!("{} {}", command.get_program().to_string_lossy(), args.join(" "))
}
