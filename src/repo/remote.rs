//! The `origin` remote of a repository's `config`, and its URL normalised
//! to a namespace: `host/owner/repo`.

/// Returns the first `url` of the `[remote "origin"]` section of a git
/// `config` file's text. Section and key names are matched as git does
/// (the section and key case-insensitively, the remote's name exactly);
/// comments and quotes are understood, `include` directives are not
/// followed.
pub(super) fn origin_url(config: &str) -> Option<String> {
    let mut in_origin = false;
    for line in config.lines() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[') {
            let header = header.split(']').next().unwrap_or_default().trim();
            in_origin = match header.split_once(char::is_whitespace) {
                Some((section, name)) => {
                    section.eq_ignore_ascii_case("remote") && name.trim() == "\"origin\""
                }
                None => false,
            };
            continue;
        }
        if !in_origin {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim().eq_ignore_ascii_case("url") {
            let value = config_value(value);
            if !value.is_empty() {
                return Some(value);
            }
        }
    }
    None
}

/// A config value: quotes removed, `\"` and `\\` unescaped, a comment
/// (`#` or `;` outside quotes) cut off, surrounding blanks trimmed.
fn config_value(raw: &str) -> String {
    let mut value = String::new();
    let (mut quoted, mut chars) = (false, raw.trim().chars());
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' => value.extend(chars.next()),
            '#' | ';' if !quoted => break,
            c => value.push(c),
        }
    }
    value.trim().to_owned()
}

/// Normalises a remote URL to `host/owner/repo`: the scheme, credentials,
/// port and a trailing `.git` are dropped and the host is lowercased, so
/// `https://github.com/acme/harbor.git`, `git@github.com:acme/harbor.git`
/// and `ssh://git@github.com:22/acme/harbor` all give
/// `github.com/acme/harbor`. Returns `None` for a URL without a host (a
/// local path or `file://`), or one with nothing left of its path.
pub fn normalise_remote(url: &str) -> Option<String> {
    let url = url.trim();
    let (host, path) = if let Some((scheme, rest)) = url.split_once("://") {
        if scheme.eq_ignore_ascii_case("file") {
            return None;
        }
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        (strip_port(after_credentials(authority)), path)
    } else {
        // scp-like `[user@]host:path`; a `/` before the `:` makes it a
        // local path, and so does a one-letter host (a Windows drive).
        let (before, path) = url.split_once(':')?;
        if before.contains('/') || before.len() < 2 {
            return None;
        }
        (after_credentials(before), path)
    };
    let host = clean_part(&host.to_ascii_lowercase())?;
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let parts: Vec<String> = path.split('/').filter_map(clean_part).collect();
    if parts.is_empty() {
        return None;
    }
    Some(format!("{host}/{}", parts.join("/")))
}

/// The host of an authority, without `user[:password]@`.
fn after_credentials(authority: &str) -> &str {
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
}

/// A host without its `:port` (an IPv6 literal keeps its brackets' inside).
fn strip_port(host: &str) -> &str {
    match host.strip_prefix('[') {
        Some(inner) => inner.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    }
}

/// One part of a namespace made from outside text: characters outside
/// `A-Z a-z 0-9 - _ .` become `-`, and leading ones that are not a letter
/// or digit go (so `..`, `~user` and `.hidden` cannot make a bad part).
/// `None` if nothing is left.
pub(super) fn clean_part(text: &str) -> Option<String> {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
    (!cleaned.is_empty()).then(|| cleaned.to_owned())
}
