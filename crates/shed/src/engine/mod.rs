//! The Docker Engine backend: one [`Engine`] client that reads an inventory and carries out
//! single actions.
//!
//! bollard's models become `shed_core::inventory` types here and go no further. The methods are
//! grouped by engine resource: [`connect`](Engine::connect) and the version check in `connect`,
//! the inventory read in `inventory` (with the image cache of `cache`), the per-action calls of
//! the executor in `actions`, the layer-size derivation in `layers`. A few endpoints are read
//! with a plain HTTP client (`raw`) because bollard's models follow a newer API than the engines
//! shed supports.
//!
//! **The image cache.** An image ID names immutable content, so what an inspect and a history
//! tell about an image (its layers, their sizes, its exact creation time) never changes for that
//! ID. [`ImageCache`] keeps it in `image-cache.db` ([`CACHE_FILE`]) in the state directory, per
//! engine, and [`Engine::read_inventory_cached`] then asks the engine only about images it has
//! not seen: a repeat read is the list calls, `/system/df` and the containers. Entries are used
//! only for IDs the engine lists at that moment, and those of images gone are dropped after each
//! read. Deleting the file is always safe; without it (or with a state directory that cannot be
//! written) every image is read from the engine.

mod actions;
mod cache;
mod connect;
mod inventory;
mod layers;
mod raw;

use bollard::Docker;

pub use actions::Recheck;
pub use cache::{CACHE_FILE, CacheError, ImageCache};
pub use connect::{FileOwner, Identity, MIN_API_VERSION, permission_message};
pub use inventory::{Progress, Stage};
pub use layers::{HistoryStep, align_layer_sizes, is_metadata_step};

use raw::RawClient;

/// A connection to one engine, with the API version shed and the engine agreed on.
#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    raw: RawClient,
    /// The host as the user gave it (`unix:///run/docker.sock`, `tcp://127.0.0.1:2375`).
    host: String,
    api_version: String,
}

impl Engine {
    /// The host this engine was reached at.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The API version shed and the engine agreed on (`1.41`).
    pub fn api_version(&self) -> &str {
        &self.api_version
    }
}

/// What can go wrong talking to an engine. Each displays as one line that the CLI prints after
/// `shed:`.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The socket file does not exist.
    #[error("no engine socket at {path}: is dockerd running?")]
    NoSocket { path: String },
    /// Nothing listens at the address, or the socket is stale.
    #[error("connection refused by {host}: is dockerd running?")]
    Refused { host: String },
    /// The socket exists but this user may not use it; the message says which access is
    /// missing on which path (see [`permission_message`]).
    #[error("{message}")]
    PermissionDenied { message: String },
    /// The host is neither `unix://` nor `tcp://`.
    #[error("unsupported engine host {host:?}: use unix:///path/to/docker.sock or tcp://host:port")]
    UnsupportedHost { host: String },
    /// The engine's newest API version is below [`MIN_API_VERSION`].
    #[error(
        "the engine at {host} (Docker {engine_version}) speaks API {engine_api}; shed needs API \
         {MIN_API_VERSION} (Docker 20.10) or newer"
    )]
    TooOld {
        host: String,
        engine_version: String,
        engine_api: String,
    },
    /// The engine refused a change because of a conflict (HTTP 409): the message is the
    /// engine's own, verbatim.
    #[error("{message}")]
    Conflict { message: String },
    /// The engine does not know the object (HTTP 404); the engine's message.
    #[error("{message}")]
    NotFound { message: String },
    /// Any other error status from the engine, with its message.
    #[error("the engine answered {status}: {message}")]
    Status { status: u16, message: String },
    /// The engine answered something shed cannot read.
    #[error("unexpected answer from the engine to {endpoint}: {detail}")]
    BadAnswer { endpoint: String, detail: String },
    /// The connection failed in another way.
    #[error("cannot talk to the engine at {host}: {detail}")]
    Transport { host: String, detail: String },
}

impl EngineError {
    /// Maps a bollard error to shed's, keeping the engine's status code and message.
    fn from_bollard(host: &str, endpoint: &str, error: bollard::errors::Error) -> EngineError {
        use bollard::errors::Error as B;
        match error {
            B::DockerResponseServerError {
                status_code,
                message,
            } => EngineError::from_status(status_code, message),
            B::JsonDataError { message, .. } => EngineError::BadAnswer {
                endpoint: endpoint.to_owned(),
                detail: message,
            },
            B::JsonSerdeError { err } => EngineError::BadAnswer {
                endpoint: endpoint.to_owned(),
                detail: err.to_string(),
            },
            other => EngineError::Transport {
                host: host.to_owned(),
                detail: other.to_string(),
            },
        }
    }

    /// Maps an error status and the engine's message to a variant.
    fn from_status(status: u16, message: String) -> EngineError {
        match status {
            409 => EngineError::Conflict { message },
            404 => EngineError::NotFound { message },
            _ => EngineError::Status { status, message },
        }
    }
}
