//! References checked against Docker's reference grammar: which strings can be a tag
//! (`repo:tag`) or a repo digest (`repo@sha256:…`).
//!
//! An engine reports only well-formed references, but a snapshot file can hold anything, and a
//! malformed reference would reach the engine as a removal that names nothing or something
//! else. The grammar is the one Docker's `distribution/reference` package parses:
//!
//! ```text
//! tag         = name ":" tag-name
//! repo digest = name "@sha256:" 64 × [0-9a-f]
//! name        = [ host [ ":" port ] "/" ] component *( "/" component )   at most 255 bytes
//! component   = alnum *( separator alnum )
//! alnum       = 1*[a-z0-9]
//! separator   = "." | "_" | "__" | 1*"-"
//! host        = label *( "." label ) | "[" 1*[0-9A-Fa-f:] "]"
//! label       = [A-Za-z0-9] [ *[A-Za-z0-9-] [A-Za-z0-9] ]
//! port        = 1*[0-9]
//! tag-name    = [A-Za-z0-9_] 0*127 [A-Za-z0-9_.-]
//! ```
//!
//! The first component is a registry host only when more components follow it; as in
//! Docker's grammar, one that reads both ways (`localhost`, `example.com`) is accepted either
//! way. Only the syntax is checked: whether a name is in the familiar form the engine reports
//! (`golang:1.22` rather than `docker.io/library/golang:1.22`) is not.

/// The longest repository name Docker accepts, host included.
const NAME_MAX: usize = 255;

/// The longest tag name.
const TAG_MAX: usize = 128;

/// Why a string is not a tag or a repo digest. Displays as the part of a sentence that follows
/// `"…" is not a valid tag: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadReference {
    #[error("has no \":tag\" after the repository name")]
    NoTag,
    #[error("names a digest (\"@\"), not a tag")]
    DigestNotTag,
    #[error("has no \"@sha256:…\" after the repository name")]
    NoDigest,
    #[error("repository name is {0} bytes long; at most 255")]
    NameTooLong(usize),
    #[error(
        "repository path component {0:?} must be lower-case letters and digits separated by \
         \".\", \"_\", \"__\" or \"-\""
    )]
    Component(String),
    #[error("registry host {0:?} must be a host name or [IPv6 address], with an optional :port")]
    Host(String),
    #[error(
        "tag {0:?} must be 1 to 128 letters, digits, \"_\", \".\" or \"-\", and not start with \
         \".\" or \"-\""
    )]
    TagName(String),
    #[error("digest {0:?} must be \"sha256:\" followed by 64 lower-case hex digits")]
    Digest(String),
}

/// Checks that `text` is a tag, `name:tag`.
pub fn check_tag(text: &str) -> Result<(), BadReference> {
    if text.contains('@') {
        return Err(BadReference::DigestNotTag);
    }
    // The tag follows the last ":" that has no "/" after it; an earlier ":" is a port.
    let (name, tag) = match text.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => return Err(BadReference::NoTag),
    };
    check_name(name)?;
    if is_tag_name(tag) {
        Ok(())
    } else {
        Err(BadReference::TagName(tag.to_owned()))
    }
}

/// Checks that `text` is a repo digest, `name@sha256:<64 hex>`.
pub fn check_repo_digest(text: &str) -> Result<(), BadReference> {
    let Some((name, digest)) = text.split_once('@') else {
        return Err(BadReference::NoDigest);
    };
    check_name(name)?;
    if is_sha256_digest(digest) {
        Ok(())
    } else {
        Err(BadReference::Digest(digest.to_owned()))
    }
}

/// Checks a repository name: an optional registry host, then path components.
fn check_name(name: &str) -> Result<(), BadReference> {
    if name.len() > NAME_MAX {
        return Err(BadReference::NameTooLong(name.len()));
    }
    let mut components = name.split('/');
    // `split` yields at least one item, possibly empty.
    let first = components.next().unwrap_or_default();
    let has_more = name.contains('/');
    let is_host_first = has_more && is_host(first);
    if !is_path_component(first) && !is_host_first {
        // A ":" or "[" can only belong to a host, so that is what the name meant there.
        let meant_host = has_more && first.contains([':', '[']);
        return Err(if meant_host {
            BadReference::Host(first.to_owned())
        } else {
            BadReference::Component(first.to_owned())
        });
    }
    match components.find(|c| !is_path_component(c)) {
        Some(bad) => Err(BadReference::Component(bad.to_owned())),
        None => Ok(()),
    }
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `alnum *( separator alnum )`: the runs between alnum bytes must each be a separator, and
/// any other byte (upper case, space, `:`) lands in a run that is not one.
fn is_path_component(text: &str) -> bool {
    let bytes = text.as_bytes();
    let ends_alnum =
        bytes.first().is_some_and(|&b| is_alnum(b)) && bytes.last().is_some_and(|&b| is_alnum(b));
    ends_alnum
        && bytes
            .split(|&b| is_alnum(b))
            .filter(|run| !run.is_empty())
            .all(is_separator)
}

fn is_separator(run: &[u8]) -> bool {
    matches!(run, b"." | b"_" | b"__") || run.iter().all(|&b| b == b'-')
}

/// `host [":" port]`, the host a name or a bracketed IPv6 address.
fn is_host(text: &str) -> bool {
    let (host, port) = if text.starts_with('[') {
        match text.find(']') {
            Some(end) => text.split_at(end + 1),
            None => return false,
        }
    } else {
        text.find(':')
            .map_or((text, ""), |colon| text.split_at(colon))
    };
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()));
    port_ok && (is_ipv6_literal(host) || host.split('.').all(is_host_label))
}

fn is_host_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    let ends_ok = bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric);
    ends_ok
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-')
}

fn is_ipv6_literal(host: &str) -> bool {
    host.strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .is_some_and(|inner| {
            !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':')
        })
}

fn is_tag_name(tag: &str) -> bool {
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    bytes.len() <= TAG_MAX
        && bytes.first().is_some_and(|&b| is_word(b))
        && bytes.iter().all(|&b| is_word(b) || b == b'.' || b == b'-')
}

/// `sha256:` and 64 lower-case hex digits: the only digest algorithm engines report, and
/// Docker's digest package requires lower case for it.
fn is_sha256_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex64() -> String {
        "0123456789abcdef".repeat(4)
    }

    #[test]
    fn tags_the_engine_reports_are_valid() {
        let long_tag = format!("app:{}", "a".repeat(128));
        for tag in [
            "golang:1.22",
            "golang:1.23.1-alpine3.20",
            "shop/web:latest",
            "registry:5000/app:v1",
            "registry.example.com:5000/team/app-api:v1",
            "Registry.Example.com/app:v1",
            "localhost/app:1",
            "[::1]:5000/app:1",
            "a__b/c-d/e.f_g---h:_Tag.1-x",
            "ci/app-0:build-12",
            long_tag.as_str(),
        ] {
            assert_eq!(check_tag(tag), Ok(()), "{tag}");
        }
    }

    #[test]
    fn malformed_tags_say_which_part_is_wrong() {
        use BadReference::*;
        let component = |c: &str| Component(c.to_owned());
        let long_name = format!("{}:1", "a".repeat(256));
        let long_tag = format!("app:{}", "a".repeat(129));
        let table: &[(&str, BadReference)] = &[
            ("UPPER:Case", component("UPPER")),
            ("a b:c", component("a b")),
            ("shop/Web:1", component("Web")),
            ("a..b:1", component("a..b")),
            ("a___b:1", component("a___b")),
            ("-a:1", component("-a")),
            ("a-:1", component("a-")),
            ("a//b:1", component("")),
            (":1", component("")),
            ("app/:1", component("")),
            ("golang", NoTag),
            ("registry:5000/app", NoTag),
            ("app:", TagName(String::new())),
            ("app:.hidden", TagName(".hidden".to_owned())),
            ("app:-x", TagName("-x".to_owned())),
            ("app:a+b", TagName("a+b".to_owned())),
            (long_tag.as_str(), TagName("a".repeat(129))),
            ("registry:port/app:1", Host("registry:port".to_owned())),
            ("registry:/app:1", Host("registry:".to_owned())),
            ("[zz]:5000/app:1", Host("[zz]:5000".to_owned())),
            ("bad-.host/app:1", component("bad-.host")),
            ("golang@sha256:abc", DigestNotTag),
            (long_name.as_str(), NameTooLong(256)),
        ];
        for (tag, expected) in table {
            assert_eq!(check_tag(tag).as_ref(), Err(expected), "{tag}");
        }
    }

    #[test]
    fn repo_digests_need_a_name_and_a_sha256_digest() {
        let hex = hex64();
        for valid in [
            format!("golang@sha256:{hex}"),
            format!("registry.example.com:5000/app-api@sha256:{hex}"),
        ] {
            assert_eq!(check_repo_digest(&valid), Ok(()), "{valid}");
        }
        let digest = |d: &str| BadReference::Digest(d.to_owned());
        let table = [
            (
                format!("golang@sha256:{}", &hex[..63]),
                digest(&format!("sha256:{}", &hex[..63])),
            ),
            (
                format!("golang@sha256:{}", hex.to_uppercase()),
                digest(&format!("sha256:{}", hex.to_uppercase())),
            ),
            (
                format!("golang@sha512:{hex}"),
                digest(&format!("sha512:{hex}")),
            ),
            (
                format!("Golang@sha256:{hex}"),
                BadReference::Component("Golang".to_owned()),
            ),
            (
                format!("golang:1.22@sha256:{hex}"),
                BadReference::Component("golang:1.22".to_owned()),
            ),
            ("golang:1.22".to_owned(), BadReference::NoDigest),
        ];
        for (text, expected) in table {
            assert_eq!(check_repo_digest(&text), Err(expected), "{text}");
        }
    }

    #[test]
    fn messages_read_as_the_end_of_a_sentence() {
        assert_eq!(
            BadReference::Component("UPPER".to_owned()).to_string(),
            "repository path component \"UPPER\" must be lower-case letters and digits \
             separated by \".\", \"_\", \"__\" or \"-\""
        );
        assert_eq!(
            BadReference::TagName("-x".to_owned()).to_string(),
            "tag \"-x\" must be 1 to 128 letters, digits, \"_\", \".\" or \"-\", and not start \
             with \".\" or \"-\""
        );
    }
}
