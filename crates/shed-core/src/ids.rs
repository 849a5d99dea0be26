//! Identifiers: image IDs, layer diff IDs, chain IDs and container IDs.
//!
//! Each is a newtype so that an image ID can never be passed where a chain ID is expected. The
//! digest-shaped ones (`sha256:<64 hex>`) are validated when parsed from untrusted input
//! (snapshots, plan files); the engine backend builds them from what the engine reports.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Why a string is not a digest of the form `sha256:<64 lowercase hex>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a digest of the form sha256:<64 hex digits>")]
pub struct BadDigest {
    pub value: String,
}

fn check_digest(value: &str) -> Result<(), BadDigest> {
    let hex = value.strip_prefix("sha256:").unwrap_or("");
    let is_hex = hex
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if hex.len() == 64 && is_hex {
        Ok(())
    } else {
        Err(BadDigest {
            value: value.to_owned(),
        })
    }
}

macro_rules! digest_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses `sha256:<64 hex>`.
            pub fn parse(value: &str) -> Result<Self, BadDigest> {
                check_digest(value)?;
                Ok(Self(value.to_owned()))
            }

            /// The full form, `sha256:<hex>`.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The 12-hex-digit form Docker prints in tables.
            pub fn short(&self) -> &str {
                let hex = self.0.strip_prefix("sha256:").unwrap_or(&self.0);
                &hex[..hex.len().min(12)]
            }
        }

        impl TryFrom<String> for $name {
            type Error = BadDigest;

            fn try_from(value: String) -> Result<Self, BadDigest> {
                check_digest(&value)?;
                Ok(Self(value))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

digest_id!(
    /// An image ID: the digest of the image config in the classic store, the digest of the
    /// manifest or index in the containerd image store.
    ImageId
);
digest_id!(
    /// A layer's diff ID: the digest of its uncompressed tar stream.
    DiffId
);
digest_id!(
    /// A layer's place in a stack: the chain ID of layers `0..=n` as the OCI image spec
    /// defines it. Two images that share a chain ID share those bytes on disk.
    ChainId
);

impl ChainId {
    /// The chain IDs of a stack of layers, bottom first.
    ///
    /// `chain(0) = diff(0)`; `chain(n) = sha256(chain(n-1) + " " + diff(n))`.
    pub fn for_stack(diff_ids: &[DiffId]) -> Vec<ChainId> {
        let mut chain: Vec<ChainId> = Vec::with_capacity(diff_ids.len());
        for diff_id in diff_ids {
            let next = ChainId::on_top(chain.last(), diff_id);
            chain.push(next);
        }
        chain
    }

    /// The chain ID of the layer `diff_id` stacked on the chain `below` (`None` for the bottom
    /// layer). [`ChainId::for_stack`] applies this once per layer; the graph applies it once
    /// per distinct stack prefix, so that images sharing a base hash it only once.
    pub fn on_top(below: Option<&ChainId>, diff_id: &DiffId) -> ChainId {
        match below {
            None => ChainId(diff_id.0.clone()),
            Some(below) => {
                let mut hasher = Sha256::new();
                hasher.update(below.0.as_bytes());
                hasher.update(b" ");
                hasher.update(diff_id.0.as_bytes());
                ChainId(format!("sha256:{}", hex(&hasher.finalize())))
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// A container ID: 64 hex digits, without an algorithm prefix.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContainerId(pub String);

impl ContainerId {
    /// The 12-digit form Docker prints in tables.
    pub fn short(&self) -> &str {
        &self.0[..self.0.len().min(12)]
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(n: u8) -> DiffId {
        DiffId::parse(&format!("sha256:{}", format!("{n:02x}").repeat(32))).unwrap()
    }

    #[test]
    fn chain_id_of_first_layer_is_its_diff_id() {
        let chain = ChainId::for_stack(&[diff(1)]);
        assert_eq!(chain[0].as_str(), diff(1).as_str());
    }

    #[test]
    fn chain_id_follows_the_oci_definition() {
        // sha256("sha256:0101… sha256:0202…"), computed independently with sha256sum.
        let chain = ChainId::for_stack(&[diff(1), diff(2)]);
        let expected = {
            let mut hasher = Sha256::new();
            hasher.update(format!("{} {}", diff(1), diff(2)).as_bytes());
            format!("sha256:{}", hex(&hasher.finalize()))
        };
        assert_eq!(chain[1].as_str(), expected);
        assert_ne!(chain[1].as_str(), diff(2).as_str());
    }

    #[test]
    fn digests_are_validated() {
        assert!(ImageId::parse("sha256:abc").is_err());
        assert!(ImageId::parse(&format!("md5:{}", "a".repeat(64))).is_err());
        assert!(ImageId::parse(&format!("sha256:{}", "A".repeat(64))).is_err());
        assert_eq!(
            ImageId::parse(&format!("sha256:{}", "a".repeat(64)))
                .unwrap()
                .short(),
            "aaaaaaaaaaaa"
        );
    }
}
