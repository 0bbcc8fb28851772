//! Every seed in `fuzz/seeds/<target>/` and every crash in
//! `fuzz/regressions/<target>/` through its target's property, the same
//! function the fuzz target calls: a plain `cargo test` replays them all.
//! A directory named after no target fails, so that a renamed target cannot
//! leave its inputs silently unchecked.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // a test fails by panicking

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use paylet_fuzz_properties::{Property, TARGETS};

fn fuzz_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    dir.canonicalize().unwrap_or(dir)
}

/// The files under `fuzz/<kind>/<target>/`, each with its target's property;
/// panics on a directory that names no target, or on anything but files in
/// one.
fn inputs(kind: &str) -> Vec<(PathBuf, Property)> {
    let root = fuzz_dir().join(kind);
    let mut inputs = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display())) {
        let dir = dir.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let Some(&(_, property)) = TARGETS.iter().find(|(target, _)| *target == name) else {
            panic!("{}: no fuzz target is called {name:?}; the targets are {:?}", dir.display(), TARGETS.map(|t| t.0));
        };
        assert!(dir.is_dir(), "{}: not a directory", dir.display());
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|f| f.unwrap().path()).collect();
        files.sort();
        for file in files {
            assert!(file.is_file(), "{}: not a file", file.display());
            inputs.push((file, property));
        }
    }
    inputs
}

/// Runs each input, and fails naming every one whose property failed.
fn replay(kind: &str) -> usize {
    let inputs = inputs(kind);
    let failed: Vec<String> = inputs
        .iter()
        .filter_map(|(file, property)| {
            let bytes = std::fs::read(file).unwrap();
            let outcome = catch_unwind(AssertUnwindSafe(|| property(&bytes)));
            outcome.is_err().then(|| file.display().to_string())
        })
        .collect();
    assert!(failed.is_empty(), "the property failed on (its message is above):\n  {}", failed.join("\n  "));
    inputs.len()
}

#[test]
fn every_seed_passes_its_targets_property() {
    let count = replay("seeds");
    assert!(count > 0, "no seeds found in {}", fuzz_dir().join("seeds").display());
}

#[test]
fn every_past_crash_passes_its_targets_property() {
    let count = replay("regressions");
    assert!(count > 0, "no regressions found in {}", fuzz_dir().join("regressions").display());
}
