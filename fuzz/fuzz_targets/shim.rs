// The parts of `flowconx::error` the reader uses, without the crate's other dependencies.
pub mod error {
    use std::path::PathBuf;
    #[derive(Debug, thiserror::Error)]
    pub enum Error {
        #[error("{path}: {source}")]
        Io { path: PathBuf, source: std::io::Error },
        #[error("{path}: byte offset {offset}: {msg}")]
        Offset { path: PathBuf, offset: u64, msg: String },
        #[error("{path}: {msg}")]
        Input { path: PathBuf, msg: String },
    }
    pub type Result<T> = std::result::Result<T, Error>;
    impl Error {
        pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
            Error::Io { path: path.into(), source }
        }
        pub fn offset(path: impl Into<PathBuf>, offset: u64, msg: impl Into<String>) -> Self {
            Error::Offset { path: path.into(), offset, msg: msg.into() }
        }
        pub fn input(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
            Error::Input { path: path.into(), msg: msg.into() }
        }
    }
}
