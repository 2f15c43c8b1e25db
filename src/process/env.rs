//! Which of this process's environment variables a command gets.

use std::ffi::OsStr;

/// Variables every command gets under [`Environment::Essentials`]: enough
/// to find programs, the home folder, the locale and a temporary folder.
#[cfg(unix)]
const ESSENTIALS: &[&str] = &["PATH", "HOME", "LANG", "LANGUAGE", "TMPDIR", "TZ"];
/// Variables every command gets under [`Environment::Essentials`]: enough
/// to find programs, the user's folders, the system and a temporary folder.
#[cfg(windows)]
const ESSENTIALS: &[&str] = &[
    "PATH",
    "PATHEXT",
    "SYSTEMROOT",
    "WINDIR",
    "COMSPEC",
    "USERPROFILE",
    "HOMEDRIVE",
    "HOMEPATH",
    "APPDATA",
    "LOCALAPPDATA",
    "TEMP",
    "TMP",
];

/// Which variables of this process's environment the command inherits
/// (variables set on the [`Job`](super::Job) itself always reach it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Environment {
    /// Every variable.
    #[default]
    Inherit,
    /// Only the essentials (Unix: `PATH`, `HOME`, `LANG`, `LANGUAGE`,
    /// `LC_*`, `TMPDIR`, `TZ`; Windows: `PATH`, the system and user
    /// folders, `TEMP`, `TMP`) and the variables named here.
    Essentials {
        /// More variables to pass on, by exact name.
        extra: Vec<String>,
    },
}

impl Environment {
    /// Returns whether a variable of this name is passed on.
    pub fn keeps(&self, name: &OsStr) -> bool {
        let Environment::Essentials { extra } = self else {
            return true;
        };
        let Some(name) = name.to_str() else {
            return false;
        };
        is_essential(name) || extra.iter().any(|e| e == name)
    }
}

#[cfg(unix)]
fn is_essential(name: &str) -> bool {
    ESSENTIALS.contains(&name) || name.starts_with("LC_")
}

#[cfg(windows)]
fn is_essential(name: &str) -> bool {
    ESSENTIALS.iter().any(|e| e.eq_ignore_ascii_case(name))
}
