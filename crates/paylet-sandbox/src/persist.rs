//! `--state FILE`: the world is written as JSON shortly after each change and
//! at shutdown, and read back at start, so accounts, objects and pending
//! webhook deliveries survive a restart. Writes go to a temporary file that is
//! renamed over the old one, so a crash never leaves a half-written state.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::state::{Shared, World};

pub(crate) fn load(path: &Path) -> std::io::Result<Option<World>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(std::io::Error::other),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

pub(crate) fn save(shared: &Shared, path: &Path) -> std::io::Result<()> {
    let json = shared.read(serde_json::to_vec).map_err(std::io::Error::other)?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, json)?;
    std::fs::rename(tmp, path)
}

/// Writes the state file whenever the world changed, at most every 200 ms.
pub(crate) async fn run(shared: Arc<Shared>, path: std::path::PathBuf) {
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if shared.take_dirty()
            && let Err(e) = save(&shared, &path)
        {
            tracing::error!(error = %e, path = %path.display(), "could not write sandbox state");
        }
    }
}
