//! The one resolved configuration: flags > environment > defaults, decided once.
//!
//! The environment is read in exactly one place, [`Env::from_process`]; the
//! rest of the program only sees the typed [`Config`].

use std::ffi::OsString;
use std::path::PathBuf;

use tracing::level_filters::LevelFilter;

use crate::cli::GlobalArgs;
use crate::error::{Error, Result};
use crate::memory::{DEFAULT_NAMESPACE, validate_namespace};

/// Environment variable naming the database file.
pub const ENV_DB: &str = "SQLITE_GRAPHRAG_DB";
/// Environment variable naming the namespace.
pub const ENV_NAMESPACE: &str = "SQLITE_GRAPHRAG_NAMESPACE";

/// The file name of the database inside the data folder.
const DB_FILE_NAME: &str = "graphrag.sqlite";
/// The folder created inside the platform's data folder.
const APP_DIR: &str = "sqlite-graphrag";

/// The environment variables this program reads, captured once.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// `SQLITE_GRAPHRAG_DB`.
    pub db: Option<OsString>,
    /// `SQLITE_GRAPHRAG_NAMESPACE`.
    pub namespace: Option<OsString>,
    /// `XDG_DATA_HOME`.
    pub xdg_data_home: Option<OsString>,
    /// `HOME`.
    pub home: Option<OsString>,
    /// `APPDATA` (Windows).
    pub appdata: Option<OsString>,
}

impl Env {
    /// Reads the variables from this process's environment; empty values count as unset.
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        Env {
            db: var(ENV_DB),
            namespace: var(ENV_NAMESPACE),
            xdg_data_home: var("XDG_DATA_HOME"),
            home: var("HOME"),
            appdata: var("APPDATA"),
        }
    }
}

/// Everything a command needs to know about how it was invoked.
#[derive(Debug, Clone)]
pub struct Config {
    /// The database file.
    pub db_path: PathBuf,
    /// The namespace memories are read from and written to.
    pub namespace: String,
    /// The most detailed log level written to stderr.
    pub log_level: LevelFilter,
}

impl Config {
    /// Resolves the configuration from the global flags and the environment.
    ///
    /// # Failure
    /// Invalid input for a malformed namespace or a non-UTF-8 namespace variable;
    /// usage when no database path can be derived.
    pub fn resolve(flags: &GlobalArgs, env: &Env) -> Result<Self> {
        let db_path = match (&flags.db, &env.db) {
            (Some(path), _) => path.clone(),
            (None, Some(path)) => PathBuf::from(path),
            (None, None) => default_db_path(env)?,
        };
        let namespace = match (&flags.namespace, &env.namespace) {
            (Some(ns), _) => ns.clone(),
            (None, Some(ns)) => ns
                .to_str()
                .ok_or_else(|| Error::invalid(format!("{ENV_NAMESPACE} is not valid UTF-8")))?
                .to_owned(),
            (None, None) => DEFAULT_NAMESPACE.to_owned(),
        };
        validate_namespace(&namespace)?;
        Ok(Config {
            db_path,
            namespace,
            log_level: log_level(flags.verbose, flags.quiet),
        })
    }
}

/// The per-user default: `%APPDATA%\sqlite-graphrag\graphrag.sqlite` on
/// Windows, else `$XDG_DATA_HOME/sqlite-graphrag/graphrag.sqlite`, falling
/// back to `$HOME/.local/share/sqlite-graphrag/graphrag.sqlite`.
fn default_db_path(env: &Env) -> Result<PathBuf> {
    let base = if cfg!(windows) {
        env.appdata.as_ref().map(PathBuf::from)
    } else {
        env.xdg_data_home.as_ref().map(PathBuf::from).or_else(|| {
            env.home
                .as_ref()
                .map(|h| PathBuf::from(h).join(".local/share"))
        })
    };
    base.map(|b| b.join(APP_DIR).join(DB_FILE_NAME))
        .ok_or_else(|| {
            Error::usage("cannot find a per-user data folder for the default database")
                .with_hint(format!("pass --db PATH or set {ENV_DB}"))
        })
}

fn log_level(verbose: u8, quiet: u8) -> LevelFilter {
    match (verbose, quiet) {
        (0, 0) => LevelFilter::WARN,
        (1, _) => LevelFilter::INFO,
        (2, _) => LevelFilter::DEBUG,
        (v, _) if v > 2 => LevelFilter::TRACE,
        (_, 1) => LevelFilter::ERROR,
        _ => LevelFilter::OFF,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags() -> GlobalArgs {
        GlobalArgs::default()
    }

    #[test]
    fn flags_beat_environment_beats_defaults() {
        let env = Env {
            db: Some("/env.db".into()),
            namespace: Some("envns".into()),
            home: Some("/home/u".into()),
            ..Env::default()
        };
        let mut f = flags();
        let c = Config::resolve(&f, &env).unwrap();
        assert_eq!(
            (c.db_path.to_str(), c.namespace.as_str()),
            (Some("/env.db"), "envns")
        );
        f.db = Some("/flag.db".into());
        f.namespace = Some("flagns".into());
        let c = Config::resolve(&f, &env).unwrap();
        assert_eq!(
            (c.db_path.to_str(), c.namespace.as_str()),
            (Some("/flag.db"), "flagns")
        );
        let c = Config::resolve(
            &flags(),
            &Env {
                home: Some("/home/u".into()),
                ..Env::default()
            },
        )
        .unwrap();
        assert_eq!(c.namespace, "global");
        if !cfg!(windows) {
            assert_eq!(
                c.db_path,
                PathBuf::from("/home/u/.local/share/sqlite-graphrag/graphrag.sqlite")
            );
        }
    }

    #[test]
    fn a_bad_namespace_is_rejected() {
        let mut f = flags();
        f.db = Some("x.db".into());
        f.namespace = Some("no spaces".into());
        assert!(Config::resolve(&f, &Env::default()).is_err());
    }
}
