//! One server per data directory: an exclusive OS lock (`flock`) on `DATA_DIR/codepipeline-local.lock`,
//! held as long as the server runs, with the holder's pid and listen address written in the file
//! so that a second server can say who has it. The OS drops the lock when the process dies, even
//! by `kill -9`: a stale lock file never blocks a restart.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

pub const LOCK_FILE: &str = "codepipeline-local.lock";

/// The held lock; dropping it releases it.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Takes the lock of `dir`, recording `holder` (e.g. `pid 42, listening on 127.0.0.1:4566`).
    pub fn acquire(dir: &Path, holder: &str) -> Result<DataDirLock, String> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| format!("cannot open the lock file {}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut current = String::new();
                let _ = file.read_to_string(&mut current);
                let current = current.trim();
                let holder = if current.is_empty() {
                    "another process".to_string()
                } else {
                    format!("another codepipeline-local ({current})")
                };
                return Err(format!(
                    "the data directory {} is in use by {holder}: one server per data directory",
                    dir.display()
                ));
            }
            Err(TryLockError::Error(e)) => {
                return Err(format!("cannot lock {}: {e}", path.display()));
            }
        }
        let written = file
            .set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| writeln!(file, "{holder}"));
        if let Err(e) = written {
            return Err(format!(
                "cannot write the lock file {}: {e}",
                path.display()
            ));
        }
        Ok(DataDirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_name_until_it_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path(), "pid 1, listening on 127.0.0.1:1").unwrap();
        let err = DataDirLock::acquire(dir.path(), "pid 2").unwrap_err();
        assert!(err.contains("pid 1, listening on 127.0.0.1:1"), "{err}");
        drop(first);
        DataDirLock::acquire(dir.path(), "pid 2").unwrap();
    }
}
