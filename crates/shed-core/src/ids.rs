//! Identifiers: image IDs, layer diff IDs, chain IDs and container IDs.
//!
//! Each is a newtype so that an image ID can never be passed where a chain ID is expected. The
//! digest-shaped ones (`sha256:<64 hex>`) hold the 32 bytes of the sha256, not its text: an
//! inventory of a million images holds about ten million of them, and as text each would cost
//! a heap string of 71 bytes plus its header (the benchmarks in docs/benchmarks.md measure
//! the difference). They are written and read as the text `sha256:<64 lowercase hex>`, which
//! is validated strictly when parsed from untrusted input (snapshots, plan files); the engine
//! backend parses them from what the engine reports. Ordering the bytes orders the text, since
//! lowercase hex digits sort like the nibbles they stand for.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

const ALGORITHM: &str = "sha256:";
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";
/// The length of `sha256:<64 hex>`.
const TEXT_LEN: usize = ALGORITHM.len() + 64;

/// Why a string is not a digest of the form `sha256:<64 lowercase hex>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a digest of the form sha256:<64 hex digits>")]
pub struct BadDigest {
    pub value: String,
}

/// The 32 bytes of `sha256:<64 lowercase hex>`. Uppercase hex is refused, as the engine never
/// writes it and two spellings of one digest would compare unequal as text.
fn parse_digest(value: &str) -> Result<[u8; 32], BadDigest> {
    let bad = || BadDigest {
        value: value.to_owned(),
    };
    let hex = value.strip_prefix(ALGORITHM).ok_or_else(bad)?.as_bytes();
    if hex.len() != 64 {
        return Err(bad());
    }
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
        let high = nibble(pair[0]).ok_or_else(bad)?;
        let low = nibble(pair[1]).ok_or_else(bad)?;
        *byte = (high << 4) | low;
    }
    Ok(bytes)
}

fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

/// The text form of a digest, `sha256:<64 hex>`, held on the stack: what a caller that needs a
/// `&str` borrows (`id.text().as_str()`), without a heap string per digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DigestText([u8; TEXT_LEN]);

impl DigestText {
    fn new(bytes: &[u8; 32]) -> DigestText {
        let mut text = [0u8; TEXT_LEN];
        text[..ALGORITHM.len()].copy_from_slice(ALGORITHM.as_bytes());
        let hex = text[ALGORITHM.len()..].chunks_exact_mut(2);
        for (pair, byte) in hex.zip(bytes) {
            pair[0] = HEX_DIGITS[usize::from(byte >> 4)];
            pair[1] = HEX_DIGITS[usize::from(byte & 0x0f)];
        }
        DigestText(text)
    }

    /// The full form, `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        // Made only by `new`, from ASCII bytes.
        std::str::from_utf8(&self.0).expect("a digest's text is ASCII")
    }

    /// The 64 hex digits, without `sha256:`.
    pub fn hex(&self) -> &str {
        &self.as_str()[ALGORITHM.len()..]
    }

    /// The 12-hex-digit form Docker prints in tables.
    pub fn short(&self) -> &str {
        &self.hex()[..12]
    }
}

impl Deref for DigestText {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for DigestText {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for DigestText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for DigestText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Reads a digest from any string a deserializer holds, borrowed or not, without copying it.
struct DigestVisitor;

impl Visitor<'_> for DigestVisitor {
    type Value = [u8; 32];

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a digest of the form sha256:<64 hex digits>")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<[u8; 32], E> {
        parse_digest(value).map_err(E::custom)
    }
}

macro_rules! digest_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Held as the 32 bytes of the sha256; written, read and displayed as
        /// `sha256:<64 hex>`.
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; 32]);

        impl $name {
            /// Parses `sha256:<64 lowercase hex>`.
            pub fn parse(value: &str) -> Result<Self, BadDigest> {
                parse_digest(value).map(Self)
            }

            /// The digest whose sha256 is `bytes`.
            pub fn from_sha256(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            /// The 32 bytes of the sha256.
            pub fn sha256(&self) -> &[u8; 32] {
                &self.0
            }

            /// The full form, `sha256:<hex>`, on the stack.
            pub fn text(&self) -> DigestText {
                DigestText::new(&self.0)
            }

            /// The 12-hex-digit form Docker prints in tables.
            pub fn short(&self) -> String {
                self.text().short().to_owned()
            }

            /// Whether the hex digits start with `hex` (lowercase, any length up to 64).
            pub fn has_hex_prefix(&self, hex: &str) -> bool {
                self.text().hex().starts_with(hex)
            }
        }

        impl FromStr for $name {
            type Err = BadDigest;

            fn from_str(value: &str) -> Result<Self, BadDigest> {
                Self::parse(value)
            }
        }

        impl TryFrom<String> for $name {
            type Error = BadDigest;

            fn try_from(value: String) -> Result<Self, BadDigest> {
                Self::parse(&value)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = BadDigest;

            fn try_from(value: &str) -> Result<Self, BadDigest> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.text().as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.text().as_str() == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.text().as_str() == other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.text().as_str())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.text().as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.text().as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str(DigestVisitor).map(Self)
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
    /// `chain(0) = diff(0)`; `chain(n) = sha256(chain(n-1) + " " + diff(n))`, over the text
    /// forms `sha256:<hex>`.
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
            None => ChainId(diff_id.0),
            Some(below) => {
                // The OCI spec hashes the text forms, so both are spelled out on the stack.
                let mut hasher = Sha256::new();
                hasher.update(below.text().as_str());
                hasher.update(b" ");
                hasher.update(diff_id.text().as_str());
                ChainId(hasher.finalize().into())
            }
        }
    }
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
        assert_eq!(chain[0].sha256(), diff(1).sha256());
    }

    #[test]
    fn chain_id_follows_the_oci_definition() {
        // printf 'sha256:0101… sha256:0202…' | sha256sum
        let chain = ChainId::for_stack(&[diff(1), diff(2)]);
        assert_eq!(
            chain[1].to_string(),
            "sha256:ad00036de6f26a309d173ace61d4a45573a1658ab0ff36e3858c3dbee3c5ded8"
        );
    }

    #[test]
    fn digests_are_validated() {
        let valid = format!("sha256:{}", "a".repeat(64));
        assert!(ImageId::parse(&valid).is_ok());
        let invalid = [
            "sha256:abc".to_owned(),
            format!("md5:{}", "a".repeat(64)),
            format!("sha256:{}", "A".repeat(64)),
            format!("sha256:{}g", "a".repeat(63)),
            format!("sha256:{}", "a".repeat(65)),
            format!(" sha256:{}", "a".repeat(64)),
            "a".repeat(64),
        ];
        for text in invalid {
            assert_eq!(ImageId::parse(&text), Err(BadDigest { value: text }));
        }
    }

    #[test]
    fn digest_displays_in_full_and_short() {
        let text = format!("sha256:0123456789ab{}", "f".repeat(52));
        let id = ImageId::parse(&text).unwrap();
        assert_eq!(id.to_string(), text);
        assert_eq!(id.text().as_str(), text);
        assert_eq!(id.short(), "0123456789ab");
        assert_eq!(format!("{id:?}"), format!("ImageId({text:?})"));
        assert!(id.has_hex_prefix("0123") && !id.has_hex_prefix("1"));
        assert_eq!(id, text.as_str());
    }

    #[test]
    fn digest_serializes_as_its_text_and_rejects_bad_text() {
        let id = diff(0xab);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"sha256:{}\"", "ab".repeat(32)));
        assert_eq!(serde_json::from_str::<DiffId>(&json).unwrap(), id);
        let error = serde_json::from_str::<DiffId>("\"sha256:AB\"").unwrap_err();
        assert!(error.to_string().contains("is not a digest"), "{error}");
        assert!(serde_json::from_str::<DiffId>("12").is_err());
    }

    #[test]
    fn digests_order_as_their_text_does() {
        let texts =
            ["0f", "10", "a0", "9f", "ff", "00"].map(|h| format!("sha256:{}", h.repeat(32)));
        let mut ids: Vec<ImageId> = texts.iter().map(|t| ImageId::parse(t).unwrap()).collect();
        ids.sort();
        let mut sorted = texts.to_vec();
        sorted.sort();
        assert_eq!(
            ids.iter().map(ToString::to_string).collect::<Vec<_>>(),
            sorted
        );
    }
}
