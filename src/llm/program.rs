//! Which program runs a backend: the one the configuration names (a
//! relative path is taken from the folder the command started in, since
//! the tool runs in a folder of its own; a bare name is looked up in
//! `PATH`), else the backend's name looked up in `PATH`.
//!
//! On Windows `claude` and `codex` installed with npm are `claude.cmd` and
//! `codex.cmd`, which a plain lookup (it tries `.exe` only) misses: there
//! the name is looked up with each extension of `PATHEXT`, in order, folder
//! by folder, and the path found is run (the standard library runs `.cmd`
//! and `.bat` files through `cmd.exe`, quoting their arguments for it).

#[cfg(any(windows, test))]
use std::ffi::OsStr;
use std::ffi::OsString;
#[cfg(any(windows, test))]
use std::path::PathBuf;

use super::Backend;
use crate::config::Config;

/// `PATHEXT` when the variable is unset.
#[cfg(any(windows, test))]
const DEFAULT_PATHEXT: &str = ".COM;.EXE;.BAT;.CMD";

/// The program that runs `backend`, as the module doc says.
pub(super) fn program(config: &Config, backend: Backend) -> OsString {
    let named = match backend {
        Backend::Claude => &config.claude_bin,
        Backend::Codex => &config.codex_bin,
    };
    match named {
        Some(path) if path.is_relative() && path.components().count() > 1 => {
            std::path::absolute(path)
                .unwrap_or_else(|_| path.clone())
                .into_os_string()
        }
        Some(path) => path.clone().into_os_string(),
        None => looked_up(backend.name()),
    }
}

#[cfg(not(windows))]
fn looked_up(name: &str) -> OsString {
    name.into()
}

#[cfg(windows)]
fn looked_up(name: &str) -> OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let extensions = std::env::var_os("PATHEXT").unwrap_or_else(|| DEFAULT_PATHEXT.into());
    find_in_path(name, &path, &extensions.to_string_lossy())
        .map_or_else(|| name.into(), PathBuf::into_os_string)
}

/// The first file `name` + an extension of `extensions` (`;`-separated,
/// in lower case: Windows file names ignore case) in the folders of
/// `path`, folder by folder, extension by extension.
#[cfg(any(windows, test))]
fn find_in_path(name: &str, path: &OsStr, extensions: &str) -> Option<PathBuf> {
    std::env::split_paths(path)
        .filter(|folder| !folder.as_os_str().is_empty())
        .flat_map(|folder| {
            extensions
                .split(';')
                .filter(|extension| extension.starts_with('.'))
                .map(move |extension| {
                    folder.join(format!("{name}{}", extension.to_ascii_lowercase()))
                })
        })
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_found_folder_by_folder_then_extension_by_extension() {
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir_all(&first).unwrap();
        std::fs::create_dir_all(&second).unwrap();
        std::fs::write(second.join("claude.cmd"), "").unwrap();
        std::fs::write(second.join("claude.exe"), "").unwrap();
        std::fs::create_dir_all(first.join("claude.com")).unwrap();
        let path = std::env::join_paths([&first, &second]).unwrap();
        assert_eq!(
            find_in_path("claude", &path, DEFAULT_PATHEXT),
            Some(second.join("claude.exe"))
        );
        assert_eq!(
            find_in_path("claude", &path, ".CMD;.EXE"),
            Some(second.join("claude.cmd"))
        );
        std::fs::write(first.join("claude.bat"), "").unwrap();
        assert_eq!(
            find_in_path("claude", &path, DEFAULT_PATHEXT),
            Some(first.join("claude.bat"))
        );
        assert_eq!(find_in_path("codex", &path, DEFAULT_PATHEXT), None);
        assert_eq!(find_in_path("claude", &path, ""), None);
    }
}
