//! One writer per results file: the lock a sweep session holds for as long as it lives.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::{utc_stamp, SweepError};
use crate::layout::SweepFiles;

/// The one-writer lock of a results file.
///
/// An exclusive `flock` on the results file itself (std's `File::try_lock`), released by the
/// kernel when the process ends however it ends, so a killed run never leaves a stale lock.
/// Who holds it is written to `<sweep folder>/lock` for the next process's message.
///
/// On file systems without `flock` (some Lustre and NFS mounts answer ENOLCK, ENOSYS or
/// EOPNOTSUPP), `try_lock` fails with an error rather than "held": the lock then falls back to
/// creating `<sweep folder>/lock` exclusively (O_EXCL, atomic on NFSv3+ and Lustre), removed
/// when the session ends. A run killed with SIGKILL leaves that file behind; a later run on the
/// same host whose holder process is gone takes it over, otherwise it names the holder and
/// says to delete the file when no such run is alive.
pub(super) struct Lock {
    _file: Option<File>,
    /// The fallback lock file, removed on drop.
    created: Option<PathBuf>,
}

impl Lock {
    pub(super) fn take(files: &SweepFiles) -> Result<Lock, SweepError> {
        let results = files.results();
        let lock_error = |source| SweepError::Lock {
            path: results.to_path_buf(),
            source,
        };
        if let Some(dir) = results.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| SweepError::Write {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(results)
            .map_err(|source| SweepError::Write {
                path: results.to_path_buf(),
                source,
            })?;
        let info = files.lock();
        match file.try_lock() {
            Ok(()) => {
                // Best effort: the message of a second process names us. Written whole, then
                // renamed into place, so that a second process never reads it half-written.
                let _ = std::fs::create_dir_all(files.dir()).and_then(|()| {
                    let draft = draft_path(&info);
                    std::fs::write(&draft, holder_text())?;
                    std::fs::rename(&draft, &info)
                });
                Ok(Lock {
                    _file: Some(file),
                    created: None,
                })
            }
            Err(TryLockError::WouldBlock) => Err(SweepError::Locked {
                path: results.to_path_buf(),
                holder: read_holder(&info),
            }),
            Err(TryLockError::Error(_)) => {
                // No flock here: an exclusively created lock file instead.
                std::fs::create_dir_all(files.dir()).map_err(lock_error)?;
                Lock::by_file(results, &info)
            }
        }
    }

    pub(super) fn by_file(results: &Path, info: &Path) -> Result<Lock, SweepError> {
        for _ in 0..2 {
            match create_whole(info, &holder_text()) {
                Ok(()) => {
                    return Ok(Lock {
                        _file: None,
                        created: Some(info.to_path_buf()),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = read_holder(info);
                    if holder_is_gone(&holder) {
                        let _ = std::fs::remove_file(info);
                        continue;
                    }
                    return Err(SweepError::Locked {
                        path: results.to_path_buf(),
                        holder: format!(
                            "{holder}; this file system has no flock, so nnsweep uses the lock \
                             file {}: delete it if no such run is alive",
                            info.display()
                        ),
                    });
                }
                Err(source) => {
                    return Err(SweepError::Lock {
                        path: info.to_path_buf(),
                        source,
                    })
                }
            }
        }
        Err(SweepError::Locked {
            path: results.to_path_buf(),
            holder: read_holder(info),
        })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if let Some(path) = &self.created {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Creates `path` with `text` in it, failing with `AlreadyExists` if it exists, such that no
/// other process sees it empty: the text is written to a draft first and hard-linked into
/// place (atomic, and exclusive even on NFS). Where links are refused, an exclusive create and
/// a write instead (a reader may then see the file empty for a moment, and says so).
fn create_whole(path: &Path, text: &str) -> std::io::Result<()> {
    let draft = draft_path(path);
    std::fs::write(&draft, text)?;
    let linked = std::fs::hard_link(&draft, path);
    let _ = std::fs::remove_file(&draft);
    match linked {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            let mut f = OpenOptions::new().write(true).create_new(true).open(path)?;
            f.write_all(text.as_bytes())
        }
        other => other,
    }
}

/// A file beside `path` that only this process writes.
fn draft_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.draft", std::process::id()));
    path.with_file_name(name)
}

/// `pid 1234 on node7 since 20250314T092653Z`.
fn holder_text() -> String {
    format!(
        "pid {} on {} since {}\n",
        std::process::id(),
        hostname(),
        utc_stamp(SystemTime::now())
    )
}

fn read_holder(info: &Path) -> String {
    match std::fs::read_to_string(info) {
        Ok(text) if !text.trim().is_empty() => text
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(200)
            .collect(),
        _ => "a process that has not said who it is".into(),
    }
}

/// True when the holder named in a lock file ran on this host and its process is gone.
fn holder_is_gone(holder: &str) -> bool {
    let words: Vec<&str> = holder.split_whitespace().collect();
    let (Some(pid), Some(host)) = (words.get(1), words.get(3)) else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    *host == hostname() && !Path::new(&format!("/proc/{pid}")).exists()
}

pub(super) fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into the buffer we own.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "an unknown host".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}
