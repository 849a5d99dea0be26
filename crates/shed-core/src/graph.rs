//! The reference graph: an inventory indexed for questions about images, containers and layers.
//!
//! A [`Graph`] owns one [`Inventory`] and answers, in time proportional to the answer: which
//! image a reference names, an image's parent and children, the containers that use it, and
//! the layers it shares with other images. Every image, container and chain ID gets a small
//! integer index ([`ImageIdx`], [`ContainerIdx`], [`ChainIdx`]); the indexes are flat vectors
//! (one offset table and one item table per relation), so that building a graph of 1,000,000
//! images takes near-linear time and does not copy the inventory's strings.
//!
//! ## Layers and their sizes
//! An image's layers are a stack of diff IDs, bottom first; the layer at position `n` is
//! identified on disk by the chain ID of the stack `0..=n` ([`ChainId::for_stack`]). Two images
//! share the bytes of a layer exactly when they share its chain ID, which is why the graph
//! keys layers by chain ID and never by diff ID alone. The size of a chain ID is the
//! [`Layer::size`](crate::inventory::Layer::size) of its top layer: the backend fills that in,
//! per layer, from the engine's image history (the bytes each step of the stack added). When
//! two images report different sizes for one chain ID, the first image in inventory order
//! wins; an engine reports one size per layer, so this only matters for hand-edited inventories.
//!
//! In the classic store an image built on a parent starts with the parent's layers, so a
//! parent's chain IDs are a prefix of its child's: a parent's bytes are "shared" with its
//! children, and only deleting the whole family frees them.
//!
//! ## Parent cycles
//! An engine cannot produce a cycle of parents, and
//! [`parse_snapshot`](crate::snapshot::parse_snapshot) rejects a snapshot that has one; an
//! inventory built some other way still could. The graph cuts each cycle at the image where it
//! finds it (that image has no parent in the graph), so every walk up the parents ends.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::ids::{ChainId, DiffId, ImageId};
use crate::inventory::{Container, Image, Inventory, Timestamp};

/// An image's index in a [`Graph`]: its position in the inventory's image list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImageIdx(u32);

/// A container's index in a [`Graph`]: its position in the inventory's container list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContainerIdx(u32);

/// A chain ID's index in a [`Graph`], in the order the graph first met it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChainIdx(u32);

impl ImageIdx {
    /// The position of the image in [`Inventory::images`].
    pub fn index(self) -> usize {
        self.0 as usize
    }

    pub(crate) fn from_index(position: usize) -> ImageIdx {
        ImageIdx(idx(position))
    }
}

impl ContainerIdx {
    /// The position of the container in [`Inventory::containers`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl ChainIdx {
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The chain at `position` in `0..Graph::chain_count()`.
    pub fn from_index(position: usize) -> ChainIdx {
        ChainIdx(idx(position))
    }
}

/// Converts a position into a `u32` index. Inventories hold far fewer than 2^32 images,
/// containers or layers; a larger one could not be read into memory in the first place.
fn idx(position: usize) -> u32 {
    u32::try_from(position).expect("an inventory holds fewer than 2^32 items")
}

/// A one-to-many relation from rows `0..n` to items, stored as one offset table and one item
/// table (compressed sparse rows), so that a million rows cost two allocations.
#[derive(Debug, Clone)]
struct Relation<T> {
    offsets: Vec<usize>,
    items: Vec<T>,
}

impl<T: Copy> Relation<T> {
    /// Groups `(row, item)` pairs by row, keeping the pairs' order within each row. `pairs`
    /// is called twice (once to count, once to place), so no list of pairs is kept in memory;
    /// `filler` only holds places until they are filled.
    fn grouped<I>(rows: usize, filler: T, pairs: impl Fn() -> I) -> Relation<T>
    where
        I: Iterator<Item = (usize, T)>,
    {
        let mut offsets = vec![0usize; rows + 1];
        for (row, _) in pairs() {
            offsets[row + 1] += 1;
        }
        for row in 0..rows {
            offsets[row + 1] += offsets[row];
        }
        let mut next = offsets.clone();
        let mut items = vec![filler; offsets[rows]];
        for (row, item) in pairs() {
            items[next[row]] = item;
            next[row] += 1;
        }
        Relation { offsets, items }
    }

    fn row(&self, row: usize) -> &[T] {
        &self.items[self.offsets[row]..self.offsets[row + 1]]
    }

    fn row_mut(&mut self, row: usize) -> &mut [T] {
        &mut self.items[self.offsets[row]..self.offsets[row + 1]]
    }
}

/// The chain IDs of every image, interned: one index per distinct stack prefix. The chain ID
/// digests themselves are computed only when asked for ([`Graph::chain_id`]): planning needs
/// only which images share a prefix, and hashing millions of prefixes up front would cost
/// seconds and hundreds of megabytes.
#[derive(Debug)]
struct Layers {
    chain_sizes: Vec<u64>,
    /// Each image's chain IDs, bottom first.
    image_chains: Relation<ChainIdx>,
    /// The images that have each chain ID, in index order.
    chain_users: Relation<ImageIdx>,
}

impl Layers {
    /// Interns the layer stacks as a trie keyed by (chain below, diff ID): a chain ID is a
    /// function of exactly that pair, so two images share a chain index exactly when they
    /// share the chain ID.
    fn index(images: &[Image]) -> Layers {
        const BOTTOM: u32 = u32::MAX;
        let mut trie: HashMap<(u32, &[u8; 32]), ChainIdx, BuildHasherDefault<DigestHasher>> =
            HashMap::default();
        let mut chain_sizes: Vec<u64> = Vec::new();
        let mut offsets: Vec<usize> = Vec::with_capacity(images.len() + 1);
        let layer_count = images.iter().map(|image| image.layers.len()).sum();
        let mut items: Vec<ChainIdx> = Vec::with_capacity(layer_count);
        offsets.push(0);

        for image in images {
            let mut below = BOTTOM;
            for layer in &image.layers {
                let chain = *trie
                    .entry((below, layer.diff_id.sha256()))
                    .or_insert_with(|| {
                        chain_sizes.push(layer.size);
                        ChainIdx(idx(chain_sizes.len() - 1))
                    });
                items.push(chain);
                below = chain.0;
            }
            offsets.push(items.len());
        }

        let image_chains = Relation { offsets, items };
        // Within one stack every chain ID is new (each one hashes the one below it), so an
        // image is listed at most once among a chain's users.
        let chain_users = Relation::grouped(chain_sizes.len(), ImageIdx(0), || {
            (0..images.len()).flat_map(|image| {
                let chains = image_chains.row(image);
                chains
                    .iter()
                    .map(move |chain| (chain.index(), ImageIdx(idx(image))))
            })
        });
        Layers {
            chain_sizes,
            image_chains,
            chain_users,
        }
    }
}

/// A hasher for keys made of digests and small integers: digests are already uniformly
/// random, so a multiply-and-rotate per word and one final mix spread them well, several
/// times faster than the default SipHash on the millions of layers of a large inventory.
/// (Keys come from the inventory, not from an attacker who could aim at collisions.)
#[derive(Debug, Default, Clone, Copy)]
struct DigestHasher(u64);

impl DigestHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for DigestHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        // The final mix of splitmix64, so that low and high bits both depend on every word.
        let mut h = self.0;
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^ (h >> 31)
    }
}

/// An inventory indexed for questions about references, parents, containers and layers.
///
/// Built once per run by [`Graph::new`]; read-only afterwards.
#[derive(Debug)]
pub struct Graph {
    inventory: Inventory,
    /// Every image, sorted by image ID: lookups by ID and by ID prefix.
    by_id: Vec<ImageIdx>,
    /// Each image's position in `by_id`: comparing ranks compares image IDs.
    id_ranks: Vec<u32>,
    parents: Vec<Option<ImageIdx>>,
    depths: Vec<u32>,
    children: Relation<ImageIdx>,
    containers: Relation<ContainerIdx>,
    /// Children before parents: depth descending, then created descending, then image ID.
    children_first: Vec<ImageIdx>,
    layers: Layers,
}

impl Graph {
    /// Indexes an inventory. Runs in O(n log n) in the number of images (the sort by image
    /// ID), and linear in the number of layers and containers.
    ///
    /// Parents and containers that name an image missing from the inventory are ignored: the
    /// image has no parent in the graph, the container uses no image of the graph.
    pub fn new(inventory: Inventory) -> Graph {
        let images = &inventory.images;
        let mut by_id: Vec<ImageIdx> = (0..images.len()).map(|i| ImageIdx(idx(i))).collect();
        by_id.sort_unstable_by(|a, b| images[a.index()].id.cmp(&images[b.index()].id));
        let mut id_ranks = vec![0u32; images.len()];
        for (rank, i) in by_id.iter().enumerate() {
            id_ranks[i.index()] = idx(rank);
        }
        let find = |id: &ImageId| find_in(images, &by_id, id);

        let mut parents: Vec<Option<ImageIdx>> = images
            .iter()
            .map(|image| image.parent.as_ref().and_then(find))
            .collect();
        let depths = depths_cutting_cycles(&mut parents);
        let children = Relation::grouped(images.len(), ImageIdx(0), || {
            let links = parents.iter().enumerate();
            links.filter_map(|(child, parent)| parent.map(|p| (p.index(), ImageIdx(idx(child)))))
        });
        let containers = index_containers(&inventory, find);
        let children_first = order_children_first(images, &depths, &id_ranks);
        let layers = Layers::index(images);

        Graph {
            inventory,
            by_id,
            id_ranks,
            parents,
            depths,
            children,
            containers,
            children_first,
            layers,
        }
    }

    /// The inventory the graph indexes.
    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    pub fn image_count(&self) -> usize {
        self.inventory.images.len()
    }

    pub fn image(&self, i: ImageIdx) -> &Image {
        &self.inventory.images[i.index()]
    }

    /// Every image, in inventory order.
    pub fn images(&self) -> impl Iterator<Item = ImageIdx> + '_ {
        (0..self.image_count()).map(|i| ImageIdx(idx(i)))
    }

    /// Every image, sorted by image ID.
    pub fn images_by_id(&self) -> &[ImageIdx] {
        &self.by_id
    }

    /// Every image, children before their parents: depth (distance from the root of its
    /// parent chain) descending, then creation time descending, then image ID. Deleting in
    /// this order never deletes a parent before its child.
    pub fn children_first(&self) -> &[ImageIdx] {
        &self.children_first
    }

    /// The image's position in [`Graph::images_by_id`]: ordering images by rank orders them
    /// by image ID, without comparing strings.
    pub fn id_rank(&self, i: ImageIdx) -> usize {
        self.id_ranks[i.index()] as usize
    }

    /// The image with exactly this ID.
    pub fn find(&self, id: &ImageId) -> Option<ImageIdx> {
        find_in(&self.inventory.images, &self.by_id, id)
    }

    /// The image a person means by `reference`, as the engine resolves it.
    ///
    /// In order: a full image ID (`sha256:<64 hex>`); a tag in any form that normalizes to the
    /// familiar one (`bb` is `bb:latest`; `docker.io/library/bb:1` and `library/bb:1` are
    /// `bb:1`); a repo digest (`bb@sha256:…`); a prefix of an image ID, of any length from
    /// one hex digit, with or without `sha256:`, that matches exactly one image. That is what
    /// `docker image inspect` accepts: a name that reads both ways (`f3`, `cafe`) is a tag
    /// first, so a short prefix never hides a tag. Tag and repo digest lookups scan the
    /// references (this is called once per command, not per image).
    pub fn resolve(&self, reference: &str) -> Option<ImageIdx> {
        if let Ok(id) = ImageId::parse(reference)
            && let Some(found) = self.find(&id)
        {
            return Some(found);
        }
        self.find_reference(reference)
            .or_else(|| self.find_id_prefix(reference))
    }

    fn find_reference(&self, reference: &str) -> Option<ImageIdx> {
        let wanted = familiar_reference(reference)?;
        self.images().find(|&i| {
            let image = self.image(i);
            image
                .tags
                .iter()
                .chain(&image.repo_digests)
                .any(|r| *r == wanted)
        })
    }

    fn find_id_prefix(&self, text: &str) -> Option<ImageIdx> {
        let hex = text.strip_prefix("sha256:").unwrap_or(text);
        let is_hex = hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if hex.is_empty() || hex.len() > 64 || !is_hex {
            return None;
        }
        let images = &self.inventory.images;
        // Image IDs sort like their hex digits, so the matches are one run of `by_id`.
        let start = self
            .by_id
            .partition_point(|i| images[i.index()].id.text().hex() < hex);
        let mut matches = self.by_id[start..]
            .iter()
            .take_while(|i| images[i.index()].id.has_hex_prefix(hex));
        match (matches.next(), matches.next()) {
            (Some(&only), None) => Some(only),
            _ => None,
        }
    }

    /// The image this one was built on, when the inventory holds it (classic store only).
    pub fn parent(&self, i: ImageIdx) -> Option<ImageIdx> {
        self.parents[i.index()]
    }

    /// The number of parents above the image: 0 for an image without a parent.
    pub fn depth(&self, i: ImageIdx) -> u32 {
        self.depths[i.index()]
    }

    /// The images built directly on this one, in inventory order.
    pub fn children(&self, i: ImageIdx) -> &[ImageIdx] {
        self.children.row(i.index())
    }

    /// The containers that use the image, in any state, sorted by container ID.
    pub fn containers_of(&self, i: ImageIdx) -> &[ContainerIdx] {
        self.containers.row(i.index())
    }

    pub fn container(&self, c: ContainerIdx) -> &Container {
        &self.inventory.containers[c.index()]
    }

    /// Whether a container in any state uses the image.
    pub fn is_in_use(&self, i: ImageIdx) -> bool {
        !self.containers_of(i).is_empty()
    }

    /// Whether the image is dangling: no tags, and no image has it as its parent. Repo
    /// digests do not count, as in the engine's own prune: an image whose tag moved away
    /// keeps the digest it was pulled as.
    pub fn is_dangling(&self, i: ImageIdx) -> bool {
        self.image(i).tags.is_empty() && self.children(i).is_empty()
    }

    /// The image's chain IDs, bottom first.
    pub fn chains(&self, i: ImageIdx) -> &[ChainIdx] {
        self.layers.image_chains.row(i.index())
    }

    /// The chain ID digest, computed from the stack of its first user (O(depth) hashes).
    pub fn chain_id(&self, c: ChainIdx) -> ChainId {
        // Every chain index was made for a layer of some image, so it has a first user.
        let user = self.chain_users(c)[0];
        let position = self.chains(user).iter().position(|&own| own == c);
        let depth = position.expect("a chain's user has the chain in its stack");
        let diff_ids: Vec<DiffId> = self.image(user).layers[..=depth]
            .iter()
            .map(|layer| layer.diff_id.clone())
            .collect();
        let chain = ChainId::for_stack(&diff_ids);
        chain
            .into_iter()
            .next_back()
            .expect("a stack of depth + 1 layers has a top")
    }

    /// The bytes of the layer on disk: the size of the top layer of that stack prefix.
    pub fn chain_size(&self, c: ChainIdx) -> u64 {
        self.layers.chain_sizes[c.index()]
    }

    /// The images that have this chain ID, in index order.
    pub fn chain_users(&self, c: ChainIdx) -> &[ImageIdx] {
        self.layers.chain_users.row(c.index())
    }

    /// The number of distinct chain IDs in the inventory.
    pub fn chain_count(&self) -> usize {
        self.layers.chain_sizes.len()
    }

    /// The bytes of all layers, each chain ID counted once.
    pub fn total_layer_bytes(&self) -> u64 {
        self.layers.chain_sizes.iter().sum()
    }

    /// The bytes of the image's layers that no other image uses.
    pub fn unique_bytes(&self, i: ImageIdx) -> u64 {
        self.chains(i)
            .iter()
            .filter(|&&c| self.chain_users(c).len() == 1)
            .map(|&c| self.chain_size(c))
            .sum()
    }

    /// The bytes of the image's layers that some other image also uses.
    pub fn shared_bytes(&self, i: ImageIdx) -> u64 {
        self.chains(i)
            .iter()
            .filter(|&&c| self.chain_users(c).len() > 1)
            .map(|&c| self.chain_size(c))
            .sum()
    }

    /// The images that share layers with this one, with the bytes they share: most bytes
    /// first, then by image ID.
    pub fn sharing(&self, i: ImageIdx) -> Vec<(ImageIdx, u64)> {
        let mut shared: HashMap<ImageIdx, u64> = HashMap::new();
        for &c in self.chains(i) {
            for &user in self.chain_users(c).iter().filter(|&&user| user != i) {
                *shared.entry(user).or_default() += self.chain_size(c);
            }
        }
        let mut sharing: Vec<(ImageIdx, u64)> = shared.into_iter().collect();
        sharing.sort_unstable_by_key(|&(image, bytes)| (Reverse(bytes), self.id_rank(image)));
        sharing
    }

    /// The reclaimable bytes of a set of images: the bytes of the chain IDs whose every user
    /// is in the set. Duplicates in `set` count once. Linear in the set's layers.
    pub fn reclaimable_bytes(&self, set: impl IntoIterator<Item = ImageIdx>) -> u64 {
        let mut members: Vec<ImageIdx> = set.into_iter().collect();
        members.sort_unstable();
        members.dedup();
        let mut users_in_set: HashMap<ChainIdx, usize> = HashMap::new();
        for &i in &members {
            for &c in self.chains(i) {
                *users_in_set.entry(c).or_default() += 1;
            }
        }
        users_in_set
            .into_iter()
            .filter(|&(c, count)| count == self.chain_users(c).len())
            .map(|(c, _)| self.chain_size(c))
            .sum()
    }
}

fn find_in(images: &[Image], by_id: &[ImageIdx], id: &ImageId) -> Option<ImageIdx> {
    by_id
        .binary_search_by(|i| images[i.index()].id.cmp(id))
        .ok()
        .map(|at| by_id[at])
}

/// Each image's depth, cutting parent cycles: a walk up the parents that comes back to an
/// image it already passed removes the parent link where it closed the loop.
fn depths_cutting_cycles(parents: &mut [Option<ImageIdx>]) -> Vec<u32> {
    const UNKNOWN: u32 = u32::MAX;
    const WALKING: u32 = u32::MAX - 1;
    let mut depths = vec![UNKNOWN; parents.len()];
    let mut path: Vec<usize> = Vec::new();
    for start in 0..parents.len() {
        let mut current = start;
        let base = loop {
            match depths[current] {
                UNKNOWN => {
                    depths[current] = WALKING;
                    path.push(current);
                    match parents[current] {
                        Some(parent) => current = parent.index(),
                        None => break None,
                    }
                }
                WALKING => {
                    // `path` is not empty: `current` is on it.
                    let closing = *path.last().expect("a cycle passes through the path");
                    parents[closing] = None;
                    break None;
                }
                depth => break Some(depth),
            }
        };
        let mut depth = base.map_or(0, |d| d + 1);
        while let Some(image) = path.pop() {
            depths[image] = depth;
            depth += 1;
        }
    }
    depths
}

fn index_containers(
    inventory: &Inventory,
    find: impl Fn(&ImageId) -> Option<ImageIdx>,
) -> Relation<ContainerIdx> {
    let containers = &inventory.containers;
    let users: Vec<Option<ImageIdx>> = containers.iter().map(|c| find(&c.image_id)).collect();
    let mut relation = Relation::grouped(inventory.images.len(), ContainerIdx(0), || {
        let uses = users.iter().enumerate();
        uses.filter_map(|(c, image)| image.map(|i| (i.index(), ContainerIdx(idx(c)))))
    });
    for image in 0..inventory.images.len() {
        let row = relation.row_mut(image);
        row.sort_by(|a, b| containers[a.index()].id.cmp(&containers[b.index()].id));
    }
    relation
}

fn order_children_first(images: &[Image], depths: &[u32], id_ranks: &[u32]) -> Vec<ImageIdx> {
    // Sorting small keys instead of comparing the images themselves keeps a million-image
    // sort inside the cache.
    let mut keys: Vec<(Reverse<u32>, Reverse<Timestamp>, u32, ImageIdx)> = images
        .iter()
        .enumerate()
        .map(|(i, image)| {
            (
                Reverse(depths[i]),
                Reverse(image.created),
                id_ranks[i],
                ImageIdx(idx(i)),
            )
        })
        .collect();
    keys.sort_unstable();
    keys.into_iter().map(|(_, _, _, i)| i).collect()
}

/// The familiar form of a tag or repo digest, as the engine reports references: `bb` is
/// `bb:latest`, and the default registry and the `library/` namespace are dropped. `None` when
/// the text cannot be a reference.
fn familiar_reference(text: &str) -> Option<String> {
    if text.is_empty() || text.chars().any(char::is_whitespace) {
        return None;
    }
    let (name, digest) = match text.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (text, None),
    };
    let name = ["docker.io/", "index.docker.io/", "registry-1.docker.io/"]
        .iter()
        .find_map(|registry| name.strip_prefix(registry))
        .unwrap_or(name);
    let name = match name.strip_prefix("library/") {
        Some(rest) if !rest.contains('/') => rest,
        _ => name,
    };
    // A colon after the last slash starts a tag; one before it belongs to a registry's port.
    let last_slash = name.rfind('/').map_or(0, |at| at + 1);
    let (repository, tag) = match name[last_slash..].find(':') {
        Some(colon) => name.split_at(last_slash + colon),
        None => (name, ""),
    };
    if repository.is_empty() {
        return None;
    }
    Some(match digest {
        // The engine ignores a tag written next to a digest.
        Some(digest) => format!("{repository}@{digest}"),
        None if tag.is_empty() => format!("{repository}:latest"),
        None => format!("{repository}{tag}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{InventoryBuilder, image, image_id};

    #[test]
    fn familiar_reference_normalizes_like_the_engine() {
        let cases = [
            ("bb", "bb:latest"),
            ("bb:1", "bb:1"),
            ("library/bb:1", "bb:1"),
            ("docker.io/library/bb:1", "bb:1"),
            ("docker.io/user/app", "user/app:latest"),
            ("registry:5000/app", "registry:5000/app:latest"),
            ("registry:5000/app:v1", "registry:5000/app:v1"),
            ("bb@sha256:abc", "bb@sha256:abc"),
            ("docker.io/library/bb:1@sha256:abc", "bb@sha256:abc"),
        ];
        for (text, familiar) in cases {
            assert_eq!(
                familiar_reference(text).as_deref(),
                Some(familiar),
                "{text}"
            );
        }
    }

    #[test]
    fn resolve_accepts_ids_prefixes_tags_and_digests() {
        let graph = InventoryBuilder::new()
            .image(
                image(0xab01)
                    .tags(&["bb:1", "bb:latest"])
                    .digests(&["bb@sha256:d1"]),
            )
            .image(image(0xab02).tags(&["registry:5000/app:v1"]))
            .graph();
        let first = graph.find(&image_id(0xab01));
        assert!(first.is_some());
        assert_eq!(graph.resolve(&image_id(0xab01).to_string()), first);
        assert_eq!(graph.resolve("0000ab01"), first);
        assert_eq!(graph.resolve("sha256:0000ab01"), first);
        assert_eq!(graph.resolve("bb"), first);
        assert_eq!(graph.resolve("docker.io/library/bb:1"), first);
        assert_eq!(graph.resolve("library/bb:1"), first);
        assert_eq!(graph.resolve("bb@sha256:d1"), first);
        assert_eq!(
            graph.resolve("registry:5000/app:v1"),
            graph.find(&image_id(0xab02))
        );
    }

    #[test]
    fn resolve_rejects_short_ambiguous_and_unknown_names() {
        let graph = InventoryBuilder::new()
            .image(image(0xab01))
            .image(image(0xab02))
            .graph();
        assert_eq!(graph.resolve("0"), None, "matches two images");
        assert_eq!(graph.resolve("0000ab0"), None, "matches two images");
        assert_eq!(graph.resolve(""), None);
        assert_eq!(graph.resolve("sha256:"), None);
        assert_eq!(graph.resolve("f"), None, "matches no image");
        assert_eq!(graph.resolve("bb:1"), None);
        assert_eq!(
            graph.resolve("0000ab02").map(|i| graph.image(i).id.clone()),
            Some(image_id(0xab02))
        );
    }

    #[test]
    fn resolve_accepts_a_unique_prefix_of_one_or_two_hex_digits() {
        // Regression: `shed why f3` failed where `docker image inspect f3` found the image.
        let graph = InventoryBuilder::new()
            .image(image(0xf3000001))
            .image(image(0xa1000001))
            .image(image(0xa2000001))
            .graph();
        let f3 = graph.find(&image_id(0xf3000001));
        assert!(f3.is_some());
        assert_eq!(graph.resolve("f3"), f3);
        assert_eq!(graph.resolve("f"), f3);
        assert_eq!(graph.resolve("sha256:f"), f3);
        assert_eq!(graph.resolve("a"), None, "matches two images");
        assert_eq!(graph.resolve("a2"), graph.find(&image_id(0xa2000001)));
    }

    #[test]
    fn resolve_tries_tags_before_a_short_id_prefix() {
        let graph = InventoryBuilder::new()
            .image(image(0xf3000001))
            .image(image(0xa1000001).tags(&["f3:latest"]))
            .graph();
        assert_eq!(graph.resolve("f3"), graph.find(&image_id(0xa1000001)));
        assert_eq!(graph.resolve("f30"), graph.find(&image_id(0xf3000001)));
    }

    #[test]
    fn parents_children_and_containers_are_linked() {
        use crate::inventory::ContainerState::{Exited, Running};
        let graph = InventoryBuilder::new()
            .image(image(1).tags(&["base:1"]).layers(&[1]))
            .image(image(2).parent(1).layers(&[1, 2]))
            .image(image(3).parent(2).tags(&["app:1"]).layers(&[1, 2, 3]))
            .container("web", 3, Running)
            .container("old", 3, Exited)
            .graph();
        let [base, mid, app] = [1, 2, 3].map(|n| graph.find(&image_id(n)).unwrap());
        assert_eq!(graph.parent(app), Some(mid));
        assert_eq!(graph.children(base), &[mid]);
        assert_eq!(graph.depth(app), 2);
        assert_eq!(graph.children_first()[0], app);
        let names: Vec<&str> = graph
            .containers_of(app)
            .iter()
            .map(|&c| graph.container(c).display_name())
            .collect();
        assert_eq!(names.len(), 2);
        assert!(names.contains(&"web") && names.contains(&"old"));
        assert!(graph.is_in_use(app) && !graph.is_in_use(mid));
        assert!(
            !graph.is_dangling(mid),
            "an untagged image with a child is not dangling"
        );
    }

    #[test]
    fn untagged_image_with_only_a_repo_digest_is_dangling() {
        let graph = InventoryBuilder::new()
            .image(image(1).digests(&["bb@sha256:d1"]))
            .graph();
        assert!(graph.is_dangling(graph.find(&image_id(1)).unwrap()));
    }

    #[test]
    fn shared_base_counts_once_and_frees_only_own_layers() {
        // Layer n is n * 1000 bytes. Both images sit on layers 1 and 2.
        let graph = InventoryBuilder::new()
            .image(image(1).tags(&["a:1"]).layers(&[1, 2, 3]))
            .image(image(2).tags(&["b:1"]).layers(&[1, 2, 4]))
            .graph();
        let [a, b] = [1, 2].map(|n| graph.find(&image_id(n)).unwrap());
        assert_eq!(graph.chain_count(), 4);
        assert_eq!(graph.unique_bytes(a), 3000);
        assert_eq!(graph.shared_bytes(a), 3000);
        assert_eq!(graph.reclaimable_bytes([a]), 3000);
        assert_eq!(graph.reclaimable_bytes([a, b, a]), 10_000);
        assert_eq!(graph.sharing(a), vec![(b, 3000)]);
    }

    #[test]
    fn same_diff_on_different_bases_is_a_different_layer() {
        let graph = InventoryBuilder::new()
            .image(image(1).layers(&[1, 3]))
            .image(image(2).layers(&[2, 3]))
            .graph();
        let a = graph.find(&image_id(1)).unwrap();
        assert_eq!(graph.chain_count(), 4);
        assert_eq!(graph.unique_bytes(a), 4000);
        assert!(graph.sharing(a).is_empty());
        assert_eq!(
            graph.chain_id(graph.chains(a)[1]),
            ChainId::for_stack(&[crate::testkit::diff_id(1), crate::testkit::diff_id(3)])[1]
        );
    }

    #[test]
    fn parent_layers_are_shared_with_children() {
        let graph = InventoryBuilder::new()
            .image(image(1).tags(&["base:1"]).layers(&[1, 2]))
            .image(image(2).parent(1).tags(&["app:1"]).layers(&[1, 2, 3]))
            .graph();
        let [base, app] = [1, 2].map(|n| graph.find(&image_id(n)).unwrap());
        assert_eq!(graph.unique_bytes(base), 0);
        assert_eq!(graph.unique_bytes(app), 3000);
        assert_eq!(graph.sharing(base), vec![(app, 3000)]);
    }

    #[test]
    fn parent_cycles_are_cut() {
        let graph = InventoryBuilder::new()
            .image(image(1).parent(2))
            .image(image(2).parent(1))
            .image(image(3).parent(3))
            .graph();
        for i in graph.images() {
            let mut steps = 0;
            let mut current = Some(i);
            while let Some(image) = current {
                current = graph.parent(image);
                steps += 1;
                assert!(steps <= 3, "walk up the parents of {i:?} did not end");
            }
        }
        assert_eq!(graph.parent(graph.find(&image_id(3)).unwrap()), None);
    }

    #[test]
    fn missing_parent_is_no_parent() {
        let graph = InventoryBuilder::new().image(image(2).parent(1)).graph();
        assert_eq!(graph.parent(graph.find(&image_id(2)).unwrap()), None);
    }
}
