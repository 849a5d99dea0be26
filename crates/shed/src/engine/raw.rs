//! A plain HTTP/1 GET client for the engine endpoints that bollard's models cannot read.
//!
//! bollard 0.21 models API 1.53. Two answers shed needs differ from that model on the engines it
//! supports: `/version` must be read before any version is agreed (bollard asks for
//! `/v1.53/version`, which Docker 20.10 refuses with "client version 1.53 is too new"), and
//! `/system/df` has its legacy shape (`LayersSize`, `Images`, `BuildCache`) below API 1.52. One
//! connection per request is enough: these endpoints are called a few times per run.

use std::io;
use std::path::PathBuf;

use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;

use super::EngineError;

/// Where the engine listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Unix(PathBuf),
    /// `host:port`.
    Tcp(String),
}

impl Endpoint {
    /// Parses `unix:///path` or `tcp://host:port` (`http://` is accepted as tcp).
    pub(crate) fn parse(host: &str) -> Result<Endpoint, EngineError> {
        if let Some(path) = host.strip_prefix("unix://") {
            return Ok(Endpoint::Unix(PathBuf::from(path)));
        }
        let address = host
            .strip_prefix("tcp://")
            .or_else(|| host.strip_prefix("http://"));
        match address.map(|a| a.trim_end_matches('/')) {
            Some(address) if !address.is_empty() => Ok(Endpoint::Tcp(address.to_owned())),
            _ => Err(EngineError::UnsupportedHost {
                host: host.to_owned(),
            }),
        }
    }
}

/// GETs JSON documents from one engine.
#[derive(Debug, Clone)]
pub(crate) struct RawClient {
    pub(crate) endpoint: Endpoint,
    host: String,
    /// `/v1.41` once a version is agreed; empty before.
    prefix: String,
}

impl RawClient {
    pub(crate) fn new(host: &str) -> Result<RawClient, EngineError> {
        let endpoint = Endpoint::parse(host)?;
        Ok(RawClient {
            endpoint,
            host: host.to_owned(),
            prefix: String::new(),
        })
    }

    /// Sends later requests with the agreed API version in the path.
    pub(crate) fn with_api_version(mut self, api_version: &str) -> RawClient {
        self.prefix = format!("/v{api_version}");
        self
    }

    /// GETs `path` (below the version prefix) and reads the answer as `T`.
    pub(crate) async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, EngineError> {
        let uri = format!("{}{path}", self.prefix);
        let (status, body) = self.get(&uri).await.map_err(|e| self.io_error(e))?;
        if status >= 400 {
            return Err(EngineError::from_status(status, engine_message(&body)));
        }
        serde_json::from_slice(&body).map_err(|e| EngineError::BadAnswer {
            endpoint: path.to_owned(),
            detail: e.to_string(),
        })
    }

    async fn get(&self, uri: &str) -> io::Result<(u16, Bytes)> {
        match &self.endpoint {
            Endpoint::Unix(path) => {
                let stream = tokio::net::UnixStream::connect(path).await?;
                exchange(TokioIo::new(stream), uri).await
            }
            Endpoint::Tcp(address) => {
                let stream = tokio::net::TcpStream::connect(address).await?;
                exchange(TokioIo::new(stream), uri).await
            }
        }
    }

    /// Turns a connection error into the message a user can act on.
    fn io_error(&self, error: io::Error) -> EngineError {
        match (&self.endpoint, error.kind()) {
            (Endpoint::Unix(path), io::ErrorKind::NotFound) => EngineError::NoSocket {
                path: path.display().to_string(),
            },
            (Endpoint::Unix(path), io::ErrorKind::PermissionDenied) => {
                EngineError::PermissionDenied {
                    message: super::connect::describe_denial(path),
                }
            }
            (_, io::ErrorKind::ConnectionRefused) => EngineError::Refused {
                host: self.host.clone(),
            },
            _ => EngineError::Transport {
                host: self.host.clone(),
                detail: error.to_string(),
            },
        }
    }
}

/// One request and its answer over an open connection.
async fn exchange<I>(io: I, uri: &str) -> io::Result<(u16, Bytes)>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(other)?;
    // The connection future drives the socket; it ends when the answer has been read.
    tokio::spawn(connection);
    let request = hyper::Request::get(uri)
        .header(hyper::header::HOST, "docker")
        .body(Empty::<Bytes>::new())
        .map_err(other)?;
    let response = sender.send_request(request).await.map_err(other)?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(other)?
        .to_bytes();
    Ok((status, body))
}

fn other(error: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::other(error)
}

/// The engine's error message: the `message` field of its JSON error body, else the body.
fn engine_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        message: String,
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(error) => error.message,
        Err(_) => String::from_utf8_lossy(body).trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_parse_as_unix_or_tcp() {
        let unix = Endpoint::parse("unix:///run/docker.sock").unwrap();
        assert_eq!(unix, Endpoint::Unix(PathBuf::from("/run/docker.sock")));
        let tcp = Endpoint::parse("tcp://127.0.0.1:2375").unwrap();
        assert_eq!(tcp, Endpoint::Tcp("127.0.0.1:2375".to_owned()));
        assert!(matches!(
            Endpoint::parse("ssh://me@host"),
            Err(EngineError::UnsupportedHost { .. })
        ));
        assert!(Endpoint::parse("tcp://").is_err());
    }

    #[test]
    fn engine_message_is_read_from_the_error_body() {
        let body = br#"{"message":"conflict: unable to delete 1a2b (must be forced)"}"#;
        assert_eq!(
            engine_message(body),
            "conflict: unable to delete 1a2b (must be forced)"
        );
        assert_eq!(engine_message(b"page not found\n"), "page not found");
    }
}
