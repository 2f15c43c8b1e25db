//! Which provider URLs may be used, and with which keys: a key is needed
//! off this machine, and never crosses the network in clear text.

use crate::error::{Error, Result};

/// Checks a provider's base URL: `https://`, or `http://` to this machine;
/// a key (named by `key_vars` in the error) when the server is elsewhere.
///
/// # Failure
/// Invalid input naming the URL.
pub fn check_target(base_url: &str, has_key: bool, key_vars: &str) -> Result<()> {
    let rest = base_url
        .strip_prefix("https://")
        .map(|rest| (rest, true))
        .or_else(|| base_url.strip_prefix("http://").map(|rest| (rest, false)));
    let Some((rest, encrypted)) = rest else {
        return Err(Error::invalid(format!(
            "the base URL {base_url:?} must start with https:// or http://"
        )));
    };
    if base_url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Error::invalid(format!(
            "the base URL {base_url:?} holds a space or a control character"
        )));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(Error::invalid(
            "the base URL must not hold a user name or a password: the key goes in \
             the API-key variable",
        ));
    }
    if host_of(rest).is_empty() || !port_is_valid(authority) {
        return Err(Error::invalid(format!(
            "the base URL {base_url:?} has no host, or a port that is not a number"
        )));
    }
    let local = is_loopback(host_of(rest));
    if !has_key && !local {
        return Err(Error::invalid(format!(
            "{base_url} is not on this machine, and no API key is set ({key_vars})"
        )));
    }
    if has_key && !encrypted && !local {
        return Err(Error::invalid(format!(
            "the API key would cross the network in clear text to {base_url}: use https://"
        )));
    }
    Ok(())
}

/// The app attribution OpenRouter shows in its rankings, sent only to
/// OpenRouter: the program's name (as the User-Agent already says).
pub fn attribution(base_url: &str) -> Vec<(String, String)> {
    match is_openrouter(base_url) {
        true => vec![(
            "X-OpenRouter-Title".to_owned(),
            "sqlite-graphrag".to_owned(),
        )],
        false => Vec::new(),
    }
}

/// Whether `base_url` is OpenRouter's.
pub fn is_openrouter(base_url: &str) -> bool {
    let rest = base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest);
    host_of(rest).eq_ignore_ascii_case("openrouter.ai")
}

/// Whether the port of `authority` (`host[:port]`, `[v6][:port]`), if
/// any, is a number from 1 to 65535.
fn port_is_valid(authority: &str) -> bool {
    let after_host = match authority.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once(']') {
            Some((_, after)) => after,
            None => return false,
        },
        None => authority.find(':').map_or("", |at| &authority[at..]),
    };
    match after_host.strip_prefix(':') {
        Some(port) => port.parse::<u16>().is_ok_and(|n| n > 0),
        None => after_host.is_empty(),
    }
}

/// The host of the part of a URL after its scheme.
fn host_of(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    }
}

/// Whether `host` names this machine.
fn is_loopback(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_needed_off_this_machine_and_never_goes_in_clear_text() {
        for (url, key) in [
            ("http://127.0.0.1:11434/v1", false),
            ("http://localhost:8080", false),
            ("http://[::1]:8080/v1", false),
            ("https://openrouter.ai/api/v1", true),
            ("http://127.0.0.1:8000", true),
        ] {
            assert!(check_target(url, key, "K").is_ok(), "{url} {key}");
        }
        for (url, key) in [
            ("https://openrouter.ai/api/v1", false),
            ("http://api.example.com/v1", true),
            ("http://127.0.0.1.example.com/v1", true),
            ("http://user@localhost.evil.com/", false),
            ("http://192.0.2.1:80@127.0.0.1/v1", true),
            ("http://user:secret@127.0.0.1:8080/v1", false),
            ("http://127.0.0.1:80x/v1", false),
            ("http://127.0.0.1:/v1", false),
            ("http://[::1/v1", false),
            ("http://127.0.0.1/v 1", false),
            ("http://127.0.0.1/v1\r\nX-Injected: yes", false),
            ("https:///v1", true),
            ("ftp://example.com", true),
            ("openrouter.ai", true),
        ] {
            assert!(check_target(url, key, "K").is_err(), "{url} {key}");
        }
    }

    #[test]
    fn only_openrouter_gets_the_attribution() {
        assert_eq!(attribution("https://openrouter.ai/api/v1").len(), 1);
        assert!(is_openrouter("https://key@OpenRouter.ai:443/api/v1"));
        for other in [
            "https://api.openai.com/v1",
            "https://openrouter.ai.example.com/v1",
            "http://127.0.0.1:8080/openrouter.ai",
            "https://openrouter.ai@evil.example/v1",
        ] {
            assert!(!is_openrouter(other), "{other}");
            assert!(attribution(other).is_empty(), "{other}");
        }
    }

    #[test]
    fn hosts_are_read_from_urls() {
        assert_eq!(host_of("user:pw@Host.example:443/v1"), "Host.example");
        assert_eq!(host_of("[::1]:8080/x"), "::1");
        assert_eq!(host_of("localhost"), "localhost");
    }
}
