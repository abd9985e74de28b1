//! Unpacking an input artifact's zip without trusting it: one entry at a time, straight to
//! disk, never the whole archive (nor one whole entry) in memory; the sizes the archive declares
//! are never used, the bytes really inflated are counted against the limits (entries, total
//! uncompressed bytes, compression ratio); entry names that could land outside the target
//! directory (`..`, absolute paths, backslashes, drive letters) and symbolic links are refused,
//! never silently dropped.

use crate::config::Config;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Below this many unpacked bytes the compression ratio is not checked: small, very repetitive
/// files (a file of zeros) are not bombs.
const RATIO_GRACE_BYTES: u64 = 1024 * 1024;

/// How much an artifact may unpack to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub max_entries: usize,
    pub max_bytes: u64,
    pub max_ratio: u64,
}

impl Limits {
    pub fn of(config: &Config) -> Limits {
        Limits {
            max_entries: config.artifact_max_entries,
            max_bytes: config.artifact_max_uncompressed_bytes,
            max_ratio: config.artifact_max_compression_ratio,
        }
    }
}

/// Why an artifact was not unpacked.
#[derive(Debug, Clone, PartialEq)]
pub enum UnpackError {
    /// An entry name that could escape the target directory, or a symbolic link.
    UnsafePath(String),
    /// A limit was reached (the message says which).
    Limit(String),
    /// Not a zip, a damaged entry, or a local I/O error.
    Invalid(String),
}

impl UnpackError {
    /// The action's failure message for input artifact `artifact`.
    pub fn message(&self, artifact: &str) -> String {
        match self {
            UnpackError::UnsafePath(name) => {
                format!("Input artifact '{artifact}' contains an unsafe path: {name}")
            }
            UnpackError::Limit(what) => format!("Input artifact '{artifact}' {what}"),
            UnpackError::Invalid(e) => {
                format!("Input artifact '{artifact}' cannot be extracted: {e}")
            }
        }
    }
}

/// What was unpacked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unpacked {
    pub files: usize,
    pub bytes: u64,
}

/// Unpacks the zip file `archive` into the directory `dir` within `limits`. On an error, what
/// was written so far stays in `dir` (callers unpack into a directory of their own).
pub fn unpack(archive: &Path, dir: &Path, limits: &Limits) -> Result<Unpacked, UnpackError> {
    let invalid = |e: &dyn std::fmt::Display| UnpackError::Invalid(e.to_string());
    let file = File::open(archive).map_err(|e| invalid(&e))?;
    let archive_len = file.metadata().map_err(|e| invalid(&e))?.len();
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| UnpackError::Invalid(format!("not a zip file: {e}")))?;
    if zip.len() > limits.max_entries {
        return Err(too_many(limits));
    }
    // The budget of inflated bytes: the total limit, or the ratio's, whichever is smaller.
    let by_ratio = archive_len
        .saturating_mul(limits.max_ratio)
        .max(RATIO_GRACE_BYTES);
    let budget = limits.max_bytes.min(by_ratio);
    let mut unpacked = Unpacked { files: 0, bytes: 0 };
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index).map_err(|e| invalid(&e))?;
        let name = entry.name().to_string();
        let Some(relative) = safe_relative_path(&name) else {
            return Err(UnpackError::UnsafePath(name));
        };
        if entry.unix_mode().is_some_and(is_symlink_mode) {
            return Err(UnpackError::UnsafePath(format!("{name} (a symbolic link)")));
        }
        let Some(relative) = relative else {
            continue; // the root directory itself ("./")
        };
        let target = dir.join(&relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| invalid(&e))?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| invalid(&e))?;
        }
        let left = budget - unpacked.bytes;
        let over_budget = || {
            if budget == limits.max_bytes {
                UnpackError::Limit(format!(
                    "unpacks to more than {} bytes (the limit, --artifact-max-uncompressed-bytes)",
                    limits.max_bytes
                ))
            } else {
                UnpackError::Limit(format!(
                    "unpacks to more than {} times the size of its zip file ({archive_len} bytes; the limit, --artifact-max-compression-ratio): it looks like a zip bomb",
                    limits.max_ratio
                ))
            }
        };
        // A declared size past the budget is refused at once; a smaller one is not trusted.
        if entry.size() > left {
            return Err(over_budget());
        }
        let mut out = File::create(&target).map_err(|e| invalid(&e))?;
        // One byte past the budget tells that it was exceeded, whatever the entry declares.
        let written = copy(&mut (&mut entry).take(left + 1), &mut out)
            .map_err(|e| UnpackError::Invalid(format!("{name}: {e}")))?;
        if written > left {
            return Err(over_budget());
        }
        unpacked.bytes += written;
        unpacked.files += 1;
        #[cfg(unix)]
        if let Some(mode) = entry.unix_mode() {
            use std::os::unix::fs::PermissionsExt;
            // Permission bits only (no setuid/setgid/sticky), always readable and writable by us.
            let permissions = std::fs::Permissions::from_mode((mode & 0o777) | 0o600);
            std::fs::set_permissions(&target, permissions).map_err(|e| invalid(&e))?;
        }
    }
    Ok(unpacked)
}

fn too_many(limits: &Limits) -> UnpackError {
    UnpackError::Limit(format!(
        "holds more than {} entries (the limit, --artifact-max-entries)",
        limits.max_entries
    ))
}

/// Copies with a fixed buffer (`std::io::copy` would too; this keeps the error of the reader,
/// e.g. a bad CRC, apart from the writer's).
fn copy(reader: &mut impl Read, writer: &mut impl Write) -> std::io::Result<u64> {
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buffer)?;
        if n == 0 {
            return Ok(total);
        }
        writer.write_all(&buffer[..n])?;
        total += n as u64;
    }
}

/// Whether a unix mode is a symbolic link's.
fn is_symlink_mode(mode: u32) -> bool {
    const S_IFMT: u32 = 0o170000;
    const S_IFLNK: u32 = 0o120000;
    mode & S_IFMT == S_IFLNK
}

/// The relative path an entry name stands for: `None` when it is unsafe (`..`, absolute,
/// backslash, drive letter, NUL), `Some(None)` for the root directory itself.
pub fn safe_relative_path(name: &str) -> Option<Option<PathBuf>> {
    let bytes = name.as_bytes();
    let drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
    if name.starts_with('/') || name.contains(['\\', '\0']) || drive {
        return None;
    }
    let mut path = PathBuf::new();
    for component in name.split('/') {
        match component {
            "" | "." => {}
            ".." => return None,
            part => path.push(part),
        }
    }
    Some(Some(path).filter(|p| !p.as_os_str().is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use zip::write::SimpleFileOptions;

    const LIMITS: Limits = Limits {
        max_entries: 10,
        max_bytes: 10 * 1024 * 1024,
        max_ratio: 100,
    };

    fn zip_file(dir: &Path, build: impl FnOnce(&mut zip::ZipWriter<Cursor<Vec<u8>>>)) -> PathBuf {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        build(&mut writer);
        let path = dir.join("artifact.zip");
        std::fs::write(&path, writer.finish().unwrap().into_inner()).unwrap();
        path
    }

    fn deflated() -> SimpleFileOptions {
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated)
    }

    /// Sets the uncompressed size a one-entry zip declares (local and central headers).
    fn lie_about_the_size(bytes: &mut [u8], size: u32) {
        // The entry's local header starts the file; the central directory is at the end.
        let local = 22;
        let central = bytes
            .windows(4)
            .rposition(|w| w == b"PK\x01\x02")
            .expect("central header")
            + 24;
        for offset in [local, central] {
            bytes[offset..offset + 4].copy_from_slice(&size.to_le_bytes());
        }
    }

    #[test]
    fn names_that_could_escape_are_unsafe() {
        for name in [
            "../x",
            "a/../../x",
            "..",
            "/etc/passwd",
            "..\\..\\win.txt",
            "a\\b",
            "C:/x",
            "c:x",
            "a\0b",
        ] {
            assert_eq!(safe_relative_path(name), None, "{name:?}");
        }
        assert_eq!(
            safe_relative_path("./a//b/"),
            Some(Some(PathBuf::from("a/b")))
        );
        assert_eq!(safe_relative_path("./"), Some(None));
        assert_eq!(
            safe_relative_path("dir/a..b.txt"),
            Some(Some(PathBuf::from("dir/a..b.txt")))
        );
    }

    #[test]
    fn files_and_directories_unpack_with_their_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let archive = zip_file(dir.path(), |w| {
            w.add_directory("empty/", deflated()).unwrap();
            w.start_file("bin/run.sh", deflated().unix_permissions(0o4755))
                .unwrap();
            w.write_all(b"#!/bin/sh\n").unwrap();
            w.start_file("a.txt", deflated()).unwrap();
            w.write_all(b"hello").unwrap();
        });
        let out = dir.path().join("out");
        let unpacked = unpack(&archive, &out, &LIMITS).unwrap();
        assert_eq!(
            unpacked,
            Unpacked {
                files: 2,
                bytes: 15
            }
        );
        assert!(out.join("empty").is_dir());
        assert_eq!(std::fs::read(out.join("a.txt")).unwrap(), b"hello");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(out.join("bin/run.sh"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o7777, 0o755, "no setuid bit");
        }
    }

    #[test]
    fn a_symbolic_link_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let archive = zip_file(dir.path(), |w| {
            w.add_symlink("link", "/etc/passwd", SimpleFileOptions::default())
                .unwrap();
        });
        let err = unpack(&archive, &dir.path().join("out"), &LIMITS).unwrap_err();
        assert_eq!(
            err,
            UnpackError::UnsafePath("link (a symbolic link)".into())
        );
        assert!(!dir.path().join("out/link").exists());
    }

    #[test]
    fn each_limit_stops_the_unpacking() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let many = zip_file(dir.path(), |w| {
            for i in 0..11 {
                w.start_file(format!("f{i}"), deflated()).unwrap();
            }
        });
        let err = unpack(&many, &out, &LIMITS).unwrap_err();
        assert!(err.message("A").contains("more than 10 entries"), "{err:?}");

        // 4 MiB of zeros deflate to a few KiB: past the ratio.
        let bomb = zip_file(dir.path(), |w| {
            w.start_file("zeros", deflated()).unwrap();
            w.write_all(&vec![0u8; 4 * 1024 * 1024]).unwrap();
        });
        let err = unpack(&bomb, &out, &LIMITS).unwrap_err();
        assert!(
            err.message("A").contains("looks like a zip bomb"),
            "{err:?}"
        );
        let loose = Limits {
            max_ratio: 1_000_000,
            max_bytes: 2 * 1024 * 1024,
            ..LIMITS
        };
        let err = unpack(&bomb, &out, &loose).unwrap_err();
        assert_eq!(
            err.message("A"),
            "Input artifact 'A' unpacks to more than 2097152 bytes (the limit, --artifact-max-uncompressed-bytes)"
        );
        // The same bomb declaring 1 byte: its real bytes are counted.
        let mut bytes = std::fs::read(&bomb).unwrap();
        lie_about_the_size(&mut bytes, 1);
        std::fs::write(&bomb, &bytes).unwrap();
        let err = unpack(&bomb, &out, &loose).unwrap_err();
        assert_eq!(
            err.message("A"),
            "Input artifact 'A' unpacks to more than 2097152 bytes (the limit, --artifact-max-uncompressed-bytes)"
        );
        // Never more than the budget (plus one buffer) reaches the disk.
        let written = std::fs::metadata(out.join("zeros")).unwrap().len();
        assert!(written <= 2 * 1024 * 1024 + 1, "{written}");

        // Under the grace size, a very repetitive file is fine.
        let small = zip_file(dir.path(), |w| {
            w.start_file("zeros", deflated()).unwrap();
            w.write_all(&vec![0u8; 512 * 1024]).unwrap();
        });
        assert_eq!(unpack(&small, &out, &LIMITS).unwrap().bytes, 512 * 1024);
    }

    #[test]
    fn not_a_zip_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.zip");
        std::fs::write(&path, b"not a zip").unwrap();
        let err = unpack(&path, dir.path(), &LIMITS).unwrap_err();
        assert!(
            err.message("A")
                .starts_with("Input artifact 'A' cannot be extracted: not a zip file"),
            "{err:?}"
        );
    }
}
