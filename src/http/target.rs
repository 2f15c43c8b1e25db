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
            ("ftp://example.com", true),
            ("openrouter.ai", true),
        ] {
            assert!(check_target(url, key, "K").is_err(), "{url} {key}");
        }
    }

    #[test]
    fn hosts_are_read_from_urls() {
        assert_eq!(host_of("user:pw@Host.example:443/v1"), "Host.example");
        assert_eq!(host_of("[::1]:8080/x"), "::1");
        assert_eq!(host_of("localhost"), "localhost");
    }
}
