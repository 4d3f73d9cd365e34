//! Typed errors of the library. Every variant that comes from input names the file and where in
//! it (line or byte offset), so the CLI can print one clear line.
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: line {line}: {msg}")]
    Line { path: PathBuf, line: u64, msg: String },
    #[error("{path}: byte offset {offset}: {msg}")]
    Offset { path: PathBuf, offset: u64, msg: String },
    #[error("{path}: missing required column `{column}`")]
    MissingColumn { path: PathBuf, column: String },
    #[error("{path}: {msg}")]
    Input { path: PathBuf, msg: String },
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Model(String),
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
    pub fn line(path: impl Into<PathBuf>, line: u64, msg: impl Into<String>) -> Self {
        Error::Line { path: path.into(), line, msg: msg.into() }
    }
    pub fn offset(path: impl Into<PathBuf>, offset: u64, msg: impl Into<String>) -> Self {
        Error::Offset { path: path.into(), offset, msg: msg.into() }
    }
    pub fn input(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::Input { path: path.into(), msg: msg.into() }
    }
}
