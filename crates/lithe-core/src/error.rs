//! One error type for the library crates.
//!
//! The split that matters to a user is *whose fault*: [`Error::Input`] means the
//! data, a flag or a model file given to lithe is wrong (exit code 2 at the CLI),
//! everything else is a runtime failure (exit code 1).

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is wrong: a data file, a model file, a flag value.
    #[error("{0}")]
    Input(String),
    /// A parameter's value is wrong (or breaks a rule with another parameter); front
    /// ends show `name` in their own vocabulary (a flag, a keyword argument).
    #[error("{name} {message}")]
    Param { name: &'static str, message: String },
    /// The operating system refused an operation (disk full, permission denied, ...).
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// Something failed that is not the input's fault.
    #[error("{0}")]
    Runtime(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn input(msg: impl Into<String>) -> Self {
        Error::Input(msg.into())
    }

    /// A parameter error: `name` is the parameter, `message` what is wrong with it
    /// ("must be at least 1, got 0").
    pub fn param(name: &'static str, message: impl Into<String>) -> Self {
        Error::Param {
            name,
            message: message.into(),
        }
    }

    /// An I/O error about `path`. A file that does not exist is the user's input being
    /// wrong, so it becomes [`Error::Input`].
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        match source.kind() {
            std::io::ErrorKind::NotFound => {
                Error::Input(format!("{}: no such file", path.display()))
            }
            std::io::ErrorKind::IsADirectory => Error::Input(format!(
                "{}: is a directory, expected a file",
                path.display()
            )),
            std::io::ErrorKind::InvalidData => {
                Error::Input(format!("{}: {}", path.display(), source))
            }
            _ => Error::Io {
                context: path.display().to_string(),
                source,
            },
        }
    }

    /// True when the user's input is at fault (the CLI exits with code 2).
    pub fn is_input(&self) -> bool {
        matches!(self, Error::Input(_) | Error::Param { .. })
    }

    /// Prefix the message with a context such as the file name.
    pub fn context(self, ctx: impl std::fmt::Display) -> Self {
        match self {
            Error::Input(m) => Error::Input(format!("{ctx}: {m}")),
            Error::Param { name, message } => Error::Input(format!("{ctx}: {name} {message}")),
            Error::Runtime(m) => Error::Runtime(format!("{ctx}: {m}")),
            Error::Io { context, source } => Error::Io {
                context: format!("{ctx}: {context}"),
                source,
            },
        }
    }
}
