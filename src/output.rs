//! Output files that never exist half-written: data goes to a temp file in the target's
//! directory and is renamed over the target only on `commit`. `-` means stdout.
use crate::error::{Error, Result};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub enum OutputTarget {
    Stdout,
    File(PathBuf),
}

impl OutputTarget {
    pub fn parse(s: &Path) -> Self {
        if s.as_os_str() == "-" {
            OutputTarget::Stdout
        } else {
            OutputTarget::File(s.to_path_buf())
        }
    }
}

/// A writer that becomes visible at its final path only after `commit()`.
/// Dropping it uncommitted removes the temp file.
pub struct AtomicOutput {
    inner: Option<BufWriter<Box<dyn Write + Send>>>,
    tmp: Option<tempfile::TempPath>,
    dest: Option<PathBuf>,
}

impl AtomicOutput {
    pub fn create(target: &OutputTarget) -> Result<Self> {
        match target {
            OutputTarget::Stdout => Ok(AtomicOutput {
                inner: Some(BufWriter::with_capacity(1 << 16, Box::new(std::io::stdout()))),
                tmp: None,
                dest: None,
            }),
            OutputTarget::File(path) => {
                let dir = match path.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                let tmp = tempfile::Builder::new()
                    .prefix(".flowconx-")
                    .suffix(".tmp")
                    .tempfile_in(&dir)
                    .map_err(|e| Error::io(&dir, e))?;
                let (file, tmp_path) = tmp.into_parts();
                Ok(AtomicOutput {
                    inner: Some(BufWriter::with_capacity(1 << 16, Box::new(file))),
                    tmp: Some(tmp_path),
                    dest: Some(path.clone()),
                })
            }
        }
    }

    /// Convenience: create from a path where `-` is stdout.
    pub fn create_path(path: &Path) -> Result<Self> {
        Self::create(&OutputTarget::parse(path))
    }

    pub fn path_label(&self) -> String {
        self.dest.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "<stdout>".into())
    }

    /// Flush and move the temp file over the destination.
    pub fn commit(mut self) -> Result<()> {
        let label = self.path_label();
        if let Some(mut w) = self.inner.take() {
            w.flush().map_err(|e| Error::io(&label, e))?;
        }
        if let (Some(tmp), Some(dest)) = (self.tmp.take(), self.dest.take()) {
            make_readable(&tmp, &dest)?;
            tmp.persist(&dest).map_err(|e| Error::io(&dest, e.error))?;
        }
        Ok(())
    }
}

impl Write for AtomicOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.inner.as_mut() {
            Some(w) => w.write(buf),
            None => Err(std::io::Error::other("output already committed")),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self.inner.as_mut() {
            Some(w) => w.write_all(buf),
            None => Err(std::io::Error::other("output already committed")),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self.inner.as_mut() {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

/// Write bytes to `path` atomically (temp file + rename).
/// Temp files are created 0600; an output is an ordinary 0644 file for its readers.
/// `dest` names the destination in the error.
pub fn make_readable(tmp: &Path, dest: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp, std::fs::Permissions::from_mode(0o644)).map_err(|e| Error::io(dest, e))?;
    }
    #[cfg(not(unix))]
    let _ = (tmp, dest);
    Ok(())
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut out = AtomicOutput::create(&OutputTarget::File(path.to_path_buf()))?;
    out.write_all(bytes).map_err(|e| Error::io(path, e))?;
    out.commit()
}
