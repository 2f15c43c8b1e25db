//! The OAuth-only guard: a backend is not started when its environment or
//! its login file would make it bill an API key instead of the user's
//! subscription.

use super::Backend;
use super::backend::Vars;
use super::failure::API_KEY_HINT;
use crate::error::{Error, ErrorKind, Result};

/// Checks that `backend` would use the subscription, given the variables
/// `var` returns (empty values count as unset).
///
/// # Failure
/// [`ErrorKind::ApiKeyRefused`] naming what would bill an API key.
pub(super) fn refuse_api_keys(backend: Backend, var: Vars<'_>) -> Result<()> {
    let spec = backend.spec();
    let set = |name: &&str| var(name).is_some_and(|value| !value.is_empty());
    let reason = match spec.key_vars.iter().copied().find(set) {
        Some(name) => Some(format!("{name} is set")),
        None => (spec.key_in_files)(var),
    };
    match reason {
        Some(reason) => Err(Error::new(
            ErrorKind::ApiKeyRefused,
            format!(
                "{} was not started: {reason}, so it could bill an API key",
                spec.name
            ),
        )
        .with_hint(API_KEY_HINT)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.into())
    }

    #[test]
    fn key_variables_are_refused_and_empty_ones_ignored() {
        let refused = [
            (Backend::Claude, "ANTHROPIC_API_KEY"),
            (Backend::Claude, "ANTHROPIC_AUTH_TOKEN"),
            (Backend::Claude, "CLAUDE_CODE_USE_BEDROCK"),
            (Backend::Claude, "CLAUDE_CODE_USE_VERTEX"),
            (Backend::Claude, "CLAUDE_CODE_USE_FOUNDRY"),
            (Backend::Codex, "OPENAI_API_KEY"),
            (Backend::Codex, "CODEX_API_KEY"),
        ];
        for (backend, name) in refused {
            let err = refuse_api_keys(backend, &vars(&[(name, "x")])).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ApiKeyRefused, "{name}");
            assert!(err.message().contains(name));
            refuse_api_keys(backend, &vars(&[(name, ""), ("HOME", "/no/such/home")])).unwrap();
        }
        refuse_api_keys(Backend::Claude, &vars(&[("OPENAI_API_KEY", "x")])).unwrap();
        let homeless = refuse_api_keys(Backend::Codex, &vars(&[("HOME", "")])).unwrap_err();
        assert!(homeless.message().contains("HOME"), "{homeless:?}");
    }

    #[test]
    fn a_codex_login_file_in_api_key_mode_is_refused() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().to_str().unwrap();
        let file = home.path().join("auth.json");
        let codex = |text: &str| {
            std::fs::write(&file, text).unwrap();
            refuse_api_keys(Backend::Codex, &vars(&[("CODEX_HOME", dir)]))
        };
        codex(r#"{"OPENAI_API_KEY":null,"tokens":{"access_token":"t"}}"#).unwrap();
        assert!(codex(r#"{"OPENAI_API_KEY":"sk-proj-1"}"#).is_err());
        assert!(codex(r#"{"auth_mode":"apikey","OPENAI_API_KEY":null}"#).is_err());
        codex("not json").unwrap();
    }
}
