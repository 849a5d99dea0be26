//! Reaching an engine: which host, whether this user may use its socket, and which API version
//! shed and the engine agree on.
//!
//! The version is agreed before bollard sends anything: shed reads the unversioned `/version`,
//! takes the lower of the engine's API version and bollard's, and refuses engines older than
//! [`MIN_API_VERSION`]. Every failure becomes one line that says what to do.

use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::Path;

use bollard::{API_DEFAULT_VERSION, ClientVersion, Docker};

use super::raw::{Endpoint, RawClient};
use super::{Engine, EngineError};

/// The oldest engine API shed speaks: 1.41, Docker 20.10.
pub const MIN_API_VERSION: &str = "1.41";

const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// Seconds bollard waits for one answer; a `/system/df` on a large engine can take a while.
const TIMEOUT_SECONDS: u64 = 300;

impl Engine {
    /// Connects to `host`, else `DOCKER_HOST`, else the default socket, and agrees on an API
    /// version.
    ///
    /// Fails with a one-line message when nothing listens, when this user may not use the
    /// socket, or when the engine's API is older than [`MIN_API_VERSION`].
    pub async fn connect(host: Option<&str>) -> Result<Engine, EngineError> {
        let host = resolve_host(host, std::env::var("DOCKER_HOST").ok().as_deref());
        let raw = RawClient::new(&host)?;
        let version: bollard::models::SystemVersion = raw.get_json("/version").await?;

        let engine_version = version.version.unwrap_or_default();
        let engine_api = version.api_version.unwrap_or_default();
        let agreed = agree_on_version(&engine_api).ok_or_else(|| EngineError::TooOld {
            host: host.clone(),
            engine_version: engine_version.clone(),
            engine_api: engine_api.clone(),
        })?;
        let api_version = format!("{}.{}", agreed.major_version, agreed.minor_version);
        tracing::debug!(%host, %engine_version, %api_version, "connected to the engine");

        let docker = match &raw.endpoint {
            Endpoint::Unix(_) => Docker::connect_with_unix(&host, TIMEOUT_SECONDS, &agreed),
            Endpoint::Tcp(_) => Docker::connect_with_http(&host, TIMEOUT_SECONDS, &agreed),
        }
        .map_err(|e| EngineError::Transport {
            host: host.clone(),
            detail: e.to_string(),
        })?;
        let raw = raw.with_api_version(&api_version);
        Ok(Engine {
            docker,
            raw,
            host,
            api_version,
        })
    }
}

/// The host to use: the flag, else a non-empty `DOCKER_HOST`, else the default socket.
fn resolve_host(flag: Option<&str>, env: Option<&str>) -> String {
    flag.or(env.filter(|h| !h.is_empty()))
        .unwrap_or(DEFAULT_HOST)
        .to_owned()
}

/// The version both sides speak: the engine's, capped at bollard's; `None` when the engine's
/// is below [`MIN_API_VERSION`] or unreadable.
fn agree_on_version(engine_api: &str) -> Option<ClientVersion> {
    let engine = parse_api_version(engine_api)?;
    let minimum = parse_api_version(MIN_API_VERSION)?;
    if engine < minimum {
        return None;
    }
    let ours = (
        API_DEFAULT_VERSION.major_version,
        API_DEFAULT_VERSION.minor_version,
    );
    let (major_version, minor_version) = engine.min(ours);
    Some(ClientVersion {
        major_version,
        minor_version,
    })
}

fn parse_api_version(version: &str) -> Option<(usize, usize)> {
    let (major, minor) = version.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Explains a permission error on `path`, reading its owner and mode and this process's
/// identity from /proc/self/status.
pub(crate) fn describe_denial(path: &Path) -> String {
    let Ok(metadata) = std::fs::metadata(path) else {
        return format!(
            "permission denied reaching {}: a directory on the way is not searchable for this \
             user; run as root or fix the directory's mode",
            path.display()
        );
    };
    let owner = FileOwner {
        user: name_for_id("/etc/passwd", metadata.uid()),
        group: name_for_id("/etc/group", metadata.gid()),
        uid: metadata.uid(),
        gid: metadata.gid(),
        mode: metadata.mode(),
        is_socket: metadata.file_type().is_socket(),
    };
    let identity = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| Identity::from_proc_status(&status));
    permission_message(path, &owner, identity.as_ref())
}

/// Who owns a file and its mode bits, as `stat` reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOwner {
    pub user: Option<String>,
    pub group: Option<String>,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
    pub is_socket: bool,
}

/// The effective user and groups of this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gids: Vec<u32>,
}

impl Identity {
    /// Reads the effective uid (second field of `Uid:`), the effective gid and the
    /// supplementary groups from the text of /proc/self/status.
    pub fn from_proc_status(status: &str) -> Option<Identity> {
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .map(str::split_whitespace)
        };
        let uid = field("Uid:")?.nth(1)?.parse().ok()?;
        let mut gids: Vec<u32> = vec![field("Gid:")?.nth(1)?.parse().ok()?];
        gids.extend(
            field("Groups:")
                .into_iter()
                .flatten()
                .filter_map(|g| g.parse::<u32>().ok()),
        );
        Some(Identity { uid, gids })
    }
}

/// The one-line message for a socket this user may not use: which access is missing on which
/// path, who owns it, and what to do.
///
/// `identity` is this process's; without it the message names both read and write.
pub fn permission_message(path: &Path, owner: &FileOwner, identity: Option<&Identity>) -> String {
    let (read, write) = match identity {
        Some(identity) => missing_access(owner, identity),
        None => (true, true),
    };
    let missing = match (read, write) {
        (true, false) => "read access",
        (false, true) => "write access",
        _ => "read and write access",
    };
    let user = owner.user.clone().unwrap_or_else(|| owner.uid.to_string());
    let group = owner.group.clone().unwrap_or_else(|| owner.gid.to_string());
    let fix = match &owner.group {
        Some(group) if group != "root" => format!("run as root or join group {group}"),
        _ => "run as root".to_owned(),
    };
    format!(
        "permission denied on {} (owner {user}:{group}, mode {}): shed needs read and write \
         access and this user lacks {missing}; {fix}",
        path.display(),
        mode_string(owner.mode, owner.is_socket),
    )
}

/// Which of read and write the mode bits deny to `identity` (root is never denied).
fn missing_access(owner: &FileOwner, identity: &Identity) -> (bool, bool) {
    if identity.uid == 0 {
        return (false, false);
    }
    let bits = if identity.uid == owner.uid {
        owner.mode >> 6
    } else if identity.gids.contains(&owner.gid) {
        owner.mode >> 3
    } else {
        owner.mode
    };
    (bits & 0o4 == 0, bits & 0o2 == 0)
}

/// `srw-rw----`, as `ls -l` prints it.
fn mode_string(mode: u32, is_socket: bool) -> String {
    let mut out = String::from(if is_socket { "s" } else { "-" });
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 0o7;
        out.push(if bits & 0o4 != 0 { 'r' } else { '-' });
        out.push(if bits & 0o2 != 0 { 'w' } else { '-' });
        out.push(if bits & 0o1 != 0 { 'x' } else { '-' });
    }
    out
}

/// The name for `id` in an /etc/passwd- or /etc/group-shaped file (`name:x:id:…`).
fn name_for_id(file: &str, id: u32) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let found: u32 = fields.nth(1)?.parse().ok()?;
        (found == id).then(|| name.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docker_socket() -> FileOwner {
        FileOwner {
            user: Some("root".into()),
            group: Some("docker".into()),
            uid: 0,
            gid: 998,
            mode: 0o140660,
            is_socket: true,
        }
    }

    #[test]
    fn permission_message_names_path_owner_mode_and_fix() {
        let me = Identity {
            uid: 1000,
            gids: vec![1000],
        };
        let message = permission_message(
            Path::new("/var/run/docker.sock"),
            &docker_socket(),
            Some(&me),
        );
        assert_eq!(
            message,
            "permission denied on /var/run/docker.sock (owner root:docker, mode srw-rw----): \
             shed needs read and write access and this user lacks read and write access; run as \
             root or join group docker"
        );
    }

    #[test]
    fn permission_message_says_which_access_is_missing() {
        let socket = FileOwner {
            mode: 0o140640,
            ..docker_socket()
        };
        let member = Identity {
            uid: 1000,
            gids: vec![1000, 998],
        };
        let message = permission_message(Path::new("/s"), &socket, Some(&member));
        assert!(message.contains("mode srw-r-----"), "{message}");
        assert!(message.contains("lacks write access;"), "{message}");
    }

    #[test]
    fn permission_message_without_names_uses_numbers() {
        let socket = FileOwner {
            user: None,
            group: None,
            ..docker_socket()
        };
        let message = permission_message(Path::new("/s"), &socket, None);
        assert!(
            message.contains("(owner 0:998, mode srw-rw----)"),
            "{message}"
        );
        assert!(message.ends_with("run as root"), "{message}");
    }

    #[test]
    fn identity_is_read_from_proc_status() {
        let status = "Name:\tshed\nUid:\t1000\t1001\t1001\t1001\nGid:\t100\t998\t998\t998\n\
                      Groups:\t4 27 \n";
        let identity = Identity::from_proc_status(status).unwrap();
        assert_eq!(
            identity,
            Identity {
                uid: 1001,
                gids: vec![998, 4, 27]
            }
        );
    }

    #[test]
    fn api_versions_below_the_minimum_are_refused() {
        assert!(agree_on_version("1.40").is_none());
        assert!(agree_on_version("garbage").is_none());
        let agreed = agree_on_version("1.41").unwrap();
        assert_eq!((agreed.major_version, agreed.minor_version), (1, 41));
        let capped = agree_on_version("1.99").unwrap();
        assert_eq!(capped.minor_version, API_DEFAULT_VERSION.minor_version);
    }

    #[test]
    fn too_old_names_both_versions() {
        let error = EngineError::TooOld {
            host: "unix:///s".into(),
            engine_version: "19.03.15".into(),
            engine_api: "1.40".into(),
        };
        assert_eq!(
            error.to_string(),
            "the engine at unix:///s (Docker 19.03.15) speaks API 1.40; shed needs API 1.41 \
             (Docker 20.10) or newer"
        );
    }

    #[tokio::test]
    async fn a_closed_tcp_port_is_refused() {
        // A port that was just free: nothing listens on it once the listener is dropped.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let host = format!("tcp://127.0.0.1:{port}");
        let error = Engine::connect(Some(&host)).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("connection refused by {host}: is dockerd running?")
        );
    }

    #[test]
    fn host_flag_wins_over_docker_host() {
        assert_eq!(
            resolve_host(Some("tcp://a:1"), Some("unix:///b")),
            "tcp://a:1"
        );
        assert_eq!(resolve_host(None, Some("unix:///b")), "unix:///b");
        assert_eq!(resolve_host(None, Some("")), DEFAULT_HOST);
        assert_eq!(resolve_host(None, None), DEFAULT_HOST);
    }
}
