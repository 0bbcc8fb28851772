//! Where the master keys that seal stores' secrets come from: the
//! `PAYLET_MASTER_KEY` variable or a key file (see [`paylet_secret::KeyRing`]
//! for the format and for sealing itself).

use std::io::Write;
use std::path::Path;

use paylet_secret::KeyRing;

use crate::Error;

/// Reads a key file: keys in base64, one per line, the current key first.
pub fn read_file(path: &Path) -> Result<KeyRing, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("cannot read the master key file {}: {e}", path.display())))?;
    warn_if_readable_by_others(path);
    KeyRing::parse(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
}

/// Reads the key file at `path`, first writing one with a new key if there is none
/// (the demo's own key, kept beside its database).
pub fn read_or_create_file(path: &Path) -> Result<KeyRing, Error> {
    if !path.exists() {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(path)
            .map_err(|e| Error::Config(format!("cannot create the master key file {}: {e}", path.display())))?;
        writeln!(file, "# Paylet master key: seals the stores' secrets in the database. Keep it apart from backups.")?;
        writeln!(file, "{}", KeyRing::generate().expose())?;
    }
    read_file(path)
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(file = %path.display(), "the master key file can be read by other users; chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_file_is_private_and_reads_back_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let first = read_or_create_file(&path).unwrap();
        let again = read_or_create_file(&path).unwrap();
        assert_eq!(first.current_id(), again.current_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn a_bad_key_file_says_which_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        std::fs::write(&path, "not a key\n").unwrap();
        let err = read_file(&path).unwrap_err().to_string();
        assert!(err.contains("master.key") && err.contains("32 bytes"), "{err}");
    }
}
