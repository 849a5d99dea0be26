//! The harness: a private engine, per-test fixtures, images made from nothing, and `shed` runs.
//!
//! Tests reach only the engine that `scripts/test` started for them (`SHED_TEST_DOCKER_HOST`);
//! the default socket is refused unless `SHED_TEST_DISPOSABLE_ENGINE=1` says that engine may be
//! wrecked. Each test makes a [`Fixture`]: a unique name prefix for its references, a
//! `shedtest.case` label on every image and container it makes (so that plans can be scoped to
//! them with `--filter label=…`), and cleanup of all of them when it is dropped.
//!
//! Images are built from nothing, since nothing can be pulled: the classic builder on
//! `FROM scratch` with Debian's static busybox, `docker import` of a tar written here, and
//! `docker load` of an image archive written here byte for byte, which is the one way to give
//! an image a chosen creation time. Set-up uses the docker CLI: it is fixture code, not shed's.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use shed_core::ids::ImageId;
use shed_core::inventory::Timestamp;
use shed_core::plan::Plan;

const HOST_VARIABLE: &str = "SHED_TEST_DOCKER_HOST";
const DISPOSABLE_VARIABLE: &str = "SHED_TEST_DISPOSABLE_ENGINE";
const DEFAULT_SOCKETS: [&str; 2] = ["/var/run/docker.sock", "/run/docker.sock"];
/// The label that marks every image and container a fixture makes.
pub const CASE_LABEL: &str = "shedtest.case";
const BUSYBOX: &str = "/usr/bin/busybox";

/// Tests that measure the engine's whole layer total hold this exclusively; every other
/// fixture holds it shared, so that nothing else builds or removes layers meanwhile.
static ENGINE_LOCK: RwLock<()> = RwLock::new(());
static FIXTURE_COUNT: AtomicUsize = AtomicUsize::new(0);

/// The engine the tests may use, from `SHED_TEST_DOCKER_HOST`.
///
/// Panics when it is unset (a test that cannot reach its engine must fail, not pass) and when it
/// names the default socket without `SHED_TEST_DISPOSABLE_ENGINE=1`.
pub fn engine_host() -> String {
    let host = std::env::var(HOST_VARIABLE).ok();
    let disposable = std::env::var(DISPOSABLE_VARIABLE).is_ok_and(|v| v == "1");
    checked_host(host, disposable).unwrap_or_else(|refusal| panic!("{refusal}"))
}

/// The rule behind [`engine_host`]: a host must be given, and the default socket only when it
/// is declared disposable.
fn checked_host(host: Option<String>, disposable: bool) -> Result<String, String> {
    let Some(host) = host else {
        return Err(format!(
            "{HOST_VARIABLE} is not set: run the integration tests with scripts/test, which \
             starts a private engine for them"
        ));
    };
    let path = host
        .strip_prefix("unix://")
        .unwrap_or(&host)
        .trim_end_matches('/');
    let path = path.replacen("//", "/", usize::MAX);
    if DEFAULT_SOCKETS.contains(&path.as_str()) && !disposable {
        return Err(format!(
            "{HOST_VARIABLE}={host} is the default engine, whose images may be someone's: the \
             tests delete images. Use scripts/test, or set {DISPOSABLE_VARIABLE}=1 if it is \
             disposable"
        ));
    }
    Ok(host)
}

#[test]
fn harness_refuses_a_missing_host_and_the_default_socket() {
    let refused = |host: &str| checked_host(Some(host.to_owned()), false).is_err();
    assert!(
        checked_host(None, true)
            .unwrap_err()
            .contains("scripts/test")
    );
    assert!(refused("unix:///var/run/docker.sock"));
    assert!(refused("unix:///run/docker.sock"));
    assert!(refused("/var/run/docker.sock"));
    assert!(refused("unix:////var/run//docker.sock"));
    assert!(!refused("unix:///tmp/shed-test-engine.abc/docker.sock"));
    let disposable = checked_host(Some("unix:///var/run/docker.sock".to_owned()), true);
    assert_eq!(disposable.as_deref(), Ok("unix:///var/run/docker.sock"));
}

/// The current time, for images of a chosen age.
#[allow(
    clippy::disallowed_methods,
    reason = "fixtures date images relative to the real clock"
)]
pub fn now() -> Timestamp {
    chrono::Utc::now()
}

enum EngineGuard {
    Shared(#[allow(dead_code, reason = "held for its lifetime")] RwLockReadGuard<'static, ()>),
    Exclusive(#[allow(dead_code, reason = "held for its lifetime")] RwLockWriteGuard<'static, ()>),
}

/// One test's footprint on the engine: its names, its label, its temp files.
pub struct Fixture {
    host: String,
    prefix: String,
    dir: tempfile::TempDir,
    files_made: AtomicUsize,
    _guard: EngineGuard,
}

impl std::fmt::Debug for Fixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixture")
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl Fixture {
    /// A fixture that shares the engine with other tests.
    pub fn new(test: &str) -> Fixture {
        let guard = ENGINE_LOCK
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Fixture::with_guard(test, EngineGuard::Shared(guard))
    }

    /// A fixture that has the engine to itself while it lives: for tests that compare the
    /// engine's whole layer total before and after.
    pub fn exclusive(test: &str) -> Fixture {
        let guard = ENGINE_LOCK
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Fixture::with_guard(test, EngineGuard::Exclusive(guard))
    }

    fn with_guard(test: &str, guard: EngineGuard) -> Fixture {
        let host = engine_host();
        let n = FIXTURE_COUNT.fetch_add(1, Ordering::Relaxed);
        let test = test
            .to_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-");
        let prefix = format!("shedtest-{test}-{}-{n}", std::process::id());
        let dir = tempfile::tempdir().expect("temp dir for the fixture");
        Fixture {
            host,
            prefix,
            dir,
            files_made: AtomicUsize::new(0),
            _guard: guard,
        }
    }

    /// A reference unique to this fixture: `shedtest-<test>-<pid>-<n>/<name>`, where `name`
    /// may carry a tag.
    pub fn reference(&self, name: &str) -> String {
        format!("{}/{name}", self.prefix)
    }

    /// `label=shedtest.case=<this fixture>`: the filter that scopes a plan to this fixture.
    pub fn case_filter(&self) -> String {
        format!("label={CASE_LABEL}={}", self.prefix)
    }

    fn case_label(&self) -> String {
        format!("{CASE_LABEL}={}", self.prefix)
    }

    /// A path in the fixture's temp dir that no other call returns; removed with the fixture.
    pub fn temp_path(&self, stem: &str) -> PathBuf {
        let n = self.files_made.fetch_add(1, Ordering::Relaxed);
        self.dir.path().join(format!("{stem}-{n}"))
    }

    // ---- docker CLI --------------------------------------------------------------------------

    fn docker_command(&self) -> Command {
        let mut command = Command::new("docker");
        command
            .arg("--host")
            .arg(&self.host)
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            // The engine is 20.10 without buildx: builds use the classic builder, which is also
            // the one that records parent images.
            .env("DOCKER_BUILDKIT", "0");
        command
    }

    /// Runs the docker CLI against the test engine and returns its output, whatever its status.
    pub fn try_docker(&self, args: &[&str]) -> Output {
        self.docker_command()
            .args(args)
            .output()
            .expect("run the docker CLI")
    }

    /// Runs the docker CLI against the test engine; panics with its stderr when it fails.
    pub fn docker(&self, args: &[&str]) -> String {
        let output = self.try_docker(args);
        check_output("docker", args, &output);
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    fn docker_with_stdin(&self, args: &[&str], stdin: &Path) -> String {
        let file = fs::File::open(stdin).expect("open the input for docker");
        let output = self
            .docker_command()
            .args(args)
            .stdin(Stdio::from(file))
            .output()
            .expect("run the docker CLI");
        check_output("docker", args, &output);
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    // ---- images ------------------------------------------------------------------------------

    /// A build on `FROM scratch` with the static busybox at /bin/busybox and this fixture's
    /// label. Add layers with [`Build::file`] and [`Build::run`], then [`Build::tag`].
    pub fn scratch_build(&self) -> Build<'_> {
        Build::new(self, "scratch").copy_busybox()
    }

    /// A build on another image (a reference or an image ID).
    pub fn build_on(&self, base: &str) -> Build<'_> {
        Build::new(self, base)
    }

    /// The smallest runnable image: scratch plus busybox, tagged `name`.
    pub fn scratch_image(&self, name: &str) -> ImageId {
        self.scratch_build().tag(name)
    }

    /// `docker import` of a one-layer tar holding `files` (path, size), tagged `name`.
    pub fn import(&self, name: &str, files: &[(&str, usize)]) -> ImageId {
        let entries: Vec<(String, Vec<u8>)> = files
            .iter()
            .map(|(path, size)| (path.to_string(), self.content(path, *size)))
            .collect();
        let tar = self.temp_path("import.tar");
        fs::write(&tar, tar_archive(&entries)).expect("write the import tar");
        let change = format!("LABEL {}", self.case_label());
        let reference = self.reference(name);
        let id = self.docker_with_stdin(&["import", "--change", &change, "-", &reference], &tar);
        parse_image_id(&id)
    }

    /// `docker load` of an image archive written here, so that its creation time, labels and
    /// layers are exactly the ones given. Returns the image ID, which is computed here (the
    /// digest of the config) and checked against what the engine loaded.
    pub fn load(&self, image: &ArchiveImage) -> ImageId {
        let mut labels = image.labels.clone();
        labels.insert(CASE_LABEL.to_owned(), self.prefix.clone());
        let layers: Vec<Vec<u8>> = image
            .layers
            .iter()
            .map(|files| {
                let entries: Vec<(String, Vec<u8>)> = files
                    .iter()
                    .map(|(path, size)| (path.to_string(), self.content(path, *size)))
                    .collect();
                tar_archive(&entries)
            })
            .collect();
        let tags: Vec<String> = image
            .tags
            .iter()
            .map(|t| full_tag(&self.reference(t)))
            .collect();
        let (archive, id) = image_archive(&layers, image.created, &labels, &tags);
        let path = self.temp_path("load.tar");
        fs::write(&path, archive).expect("write the image archive");
        self.docker_with_stdin(&["load", "--quiet"], &path);
        assert!(
            self.image_exists(id.text().as_str()),
            "docker load did not make image {id}"
        );
        id
    }

    /// Adds a tag (`name` is made unique to the fixture) to an image.
    pub fn tag(&self, image: &str, name: &str) -> String {
        let reference = self.reference(name);
        self.docker(&["tag", image, &reference]);
        reference
    }

    /// Bytes unique to this fixture, path and size: layers of different fixtures never share.
    fn content(&self, path: &str, size: usize) -> Vec<u8> {
        let n = self.files_made.fetch_add(1, Ordering::Relaxed);
        pseudo_random(&format!("{}:{path}:{n}", self.prefix), size)
    }

    // ---- containers --------------------------------------------------------------------------

    fn container(&self, verb: &str, extra: &[&str], image: &str, command: &[&str]) -> String {
        let label = self.case_label();
        let mut args = vec![verb, "--network", "none", "--label", &label];
        args.extend_from_slice(extra);
        args.push(image);
        args.extend_from_slice(command);
        self.docker(&args)
    }

    /// A container in the created state, never started.
    pub fn create_container(&self, image: &str) -> String {
        self.container("create", &[], image, &["/bin/busybox", "true"])
    }

    /// A running container (`sleep 300`); the image must hold busybox.
    pub fn run_container(&self, image: &str) -> String {
        self.container(
            "run",
            &["--detach"],
            image,
            &["/bin/busybox", "sleep", "300"],
        )
    }

    /// A container that ran and exited; the image must hold busybox.
    pub fn run_exited(&self, image: &str) -> String {
        let id = self.container("create", &[], image, &["/bin/busybox", "true"]);
        self.docker(&["start", "--attach", &id]);
        id
    }

    /// The state of a container as the engine names it (`created`, `running`, `exited`).
    pub fn container_state(&self, container: &str) -> String {
        self.docker(&[
            "container",
            "inspect",
            "--format",
            "{{.State.Status}}",
            container,
        ])
    }

    // ---- what the engine holds ---------------------------------------------------------------

    pub fn image_exists(&self, image: &str) -> bool {
        self.try_docker(&["image", "inspect", "--format", "{{.Id}}", image])
            .status
            .success()
    }

    /// The image a reference points to now.
    pub fn resolve(&self, reference: &str) -> ImageId {
        parse_image_id(&self.docker(&["image", "inspect", "--format", "{{.Id}}", reference]))
    }

    /// The image's tags, sorted.
    pub fn tags_of(&self, image: &str) -> Vec<String> {
        let json = self.docker(&["image", "inspect", "--format", "{{json .RepoTags}}", image]);
        let mut tags: Vec<String> = serde_json::from_str::<Option<Vec<String>>>(&json)
            .expect("RepoTags")
            .unwrap_or_default();
        tags.sort();
        tags
    }

    /// The classic builder's parent of an image, if any.
    pub fn parent_of(&self, image: &str) -> Option<ImageId> {
        let parent = self.docker(&["image", "inspect", "--format", "{{.Parent}}", image]);
        (!parent.is_empty()).then(|| parse_image_id(&parent))
    }

    /// Every image (intermediate ones too) that carries this fixture's label.
    pub fn own_images(&self) -> Vec<ImageId> {
        let filter = self.case_filter();
        let ids = self.docker(&[
            "images",
            "--all",
            "--quiet",
            "--no-trunc",
            "--filter",
            &filter,
        ]);
        let mut ids: Vec<ImageId> = ids.lines().map(parse_image_id).collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// The engine's own total of layer bytes (`LayersSize` in `GET /system/df`).
    pub fn layers_size(&self) -> u64 {
        let df = engine_get(&self.host, "/system/df");
        df["LayersSize"].as_u64().expect("LayersSize in /system/df")
    }

    /// The engine's size of an image: the sum of its layers' diff sizes.
    pub fn image_size(&self, image: &str) -> u64 {
        let size = self.docker(&["image", "inspect", "--format", "{{.Size}}", image]);
        size.parse().expect("image size")
    }

    // ---- shed --------------------------------------------------------------------------------

    /// Runs the `shed` binary with `--host` set to the test engine.
    pub fn shed(&self, args: &[&str]) -> ShedOutput {
        let state = self.dir.path().join("state");
        let output = Command::new(env!("CARGO_BIN_EXE_shed"))
            .arg("--host")
            .arg(&self.host)
            .args(args)
            .env_remove("DOCKER_HOST")
            .env("XDG_STATE_HOME", &state)
            .env("SHED_STATE_DIR", &state)
            .stdin(Stdio::null())
            .output()
            .expect("run the shed binary");
        ShedOutput {
            args: args.iter().map(|a| a.to_string()).collect(),
            status: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// `shed plan --format json` scoped to this fixture's images, parsed.
    pub fn plan(&self, selection: &[&str]) -> Plan {
        let filter = self.case_filter();
        let mut args = vec!["plan", "--format", "json", "--filter", &filter];
        args.extend_from_slice(selection);
        let output = self.shed(&args);
        output.expect_status(0);
        output.json()
    }

    /// `shed plan -o FILE` scoped to this fixture's images; returns the file.
    pub fn save_plan(&self, selection: &[&str]) -> PathBuf {
        let path = self.temp_path("plan.json");
        let path_text = path.to_str().expect("utf-8 temp path").to_owned();
        let filter = self.case_filter();
        let mut args = vec!["plan", "--filter", &filter, "-o", &path_text];
        args.extend_from_slice(selection);
        self.shed(&args).expect_status(0);
        path
    }

    /// `shed apply --yes --format json` scoped to this fixture's images: the report and the
    /// exit status (0, or 3 when something was skipped).
    pub fn apply(&self, selection: &[&str]) -> (ApplyReport, i32) {
        let filter = self.case_filter();
        let mut args = vec!["apply", "--yes", "--format", "json", "--filter", &filter];
        args.extend_from_slice(selection);
        self.apply_with(&args)
    }

    /// `shed apply FILE --yes --format json`.
    pub fn apply_file(&self, plan: &Path) -> (ApplyReport, i32) {
        let plan = plan.to_str().expect("utf-8 temp path");
        self.apply_with(&["apply", plan, "--yes", "--format", "json"])
    }

    fn apply_with(&self, args: &[&str]) -> (ApplyReport, i32) {
        let output = self.shed(args);
        assert!(
            output.status == 0 || output.status == 3,
            "shed {:?} exited {}\nstdout:\n{}\nstderr:\n{}",
            output.args,
            output.status,
            output.stdout,
            output.stderr
        );
        let report: ApplyReport = output.json();
        assert_eq!(report.schema, "shed.apply-report/v1");
        (report, output.status)
    }

    // ---- cleanup -----------------------------------------------------------------------------

    fn remove_own_containers(&self) {
        let filter = self.case_filter();
        let ids = self.try_docker(&["ps", "--all", "--quiet", "--filter", &filter]);
        let ids = String::from_utf8_lossy(&ids.stdout).into_owned();
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "--force"];
            args.extend(ids);
            self.try_docker(&args);
        }
    }

    /// Removes the fixture's images, children before parents: the engine refuses to delete an
    /// image with children, so this retries while each round removes something.
    fn remove_own_images(&self) {
        let mut left = self.own_images().len();
        while left > 0 {
            let ids: Vec<String> = self
                .own_images()
                .iter()
                .map(|id| id.text().as_str().to_owned())
                .collect();
            let mut args = vec!["rmi", "--force"];
            args.extend(ids.iter().map(String::as_str));
            self.try_docker(&args);
            let now_left = self.own_images().len();
            if now_left >= left {
                eprintln!(
                    "fixture {}: could not remove {now_left} images",
                    self.prefix
                );
                break;
            }
            left = now_left;
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.remove_own_containers();
        self.remove_own_images();
    }
}

fn check_output(program: &str, args: &[&str], output: &Output) {
    assert!(
        output.status.success(),
        "{program} {args:?} failed ({})\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A reference with its tag written out, as an archive's manifest needs it: `repo:latest`.
fn full_tag(reference: &str) -> String {
    let name = reference.rsplit('/').next().unwrap_or(reference);
    if name.contains(':') {
        reference.to_owned()
    } else {
        format!("{reference}:latest")
    }
}

fn parse_image_id(text: &str) -> ImageId {
    let text = text.trim();
    let full = if text.starts_with("sha256:") {
        text.to_owned()
    } else {
        format!("sha256:{text}")
    };
    ImageId::parse(&full).unwrap_or_else(|e| panic!("not an image ID: {e}"))
}

// ---- builds --------------------------------------------------------------------------------

/// A classic-builder build: each `file` and `run` step adds one layer, and each step leaves an
/// intermediate image whose child is the next step's.
#[derive(Debug)]
pub struct Build<'f> {
    fixture: &'f Fixture,
    context: PathBuf,
    dockerfile: Vec<String>,
}

impl<'f> Build<'f> {
    fn new(fixture: &'f Fixture, base: &str) -> Build<'f> {
        let context = fixture.temp_path("build");
        fs::create_dir_all(&context).expect("build context");
        // The label comes first, so that builds of different fixtures share no cached step.
        let dockerfile = vec![
            format!("FROM {base}"),
            format!("LABEL {}", fixture.case_label()),
        ];
        Build {
            fixture,
            context,
            dockerfile,
        }
    }

    fn copy_busybox(mut self) -> Self {
        fs::copy(BUSYBOX, self.context.join("busybox")).expect("copy /usr/bin/busybox");
        self.dockerfile.push("COPY busybox /bin/busybox".to_owned());
        self
    }

    /// A layer holding one file of `size` bytes of content unique to the fixture.
    pub fn file(mut self, path: &str, size: usize) -> Self {
        let name = format!("file-{}", self.dockerfile.len());
        fs::write(self.context.join(&name), self.fixture.content(path, size)).expect("file");
        self.dockerfile.push(format!("COPY {name} {path}"));
        self
    }

    /// A layer made by running a busybox shell script in the image.
    pub fn run(mut self, script: &str) -> Self {
        let script = serde_json::to_string(script).expect("script as JSON");
        self.dockerfile
            .push(format!(r#"RUN ["/bin/busybox", "sh", "-c", {script}]"#));
        self
    }

    /// Builds and tags the image as `name`, made unique to the fixture.
    pub fn tag(self, name: &str) -> ImageId {
        let reference = self.fixture.reference(name);
        self.build(&["--tag", &reference])
    }

    /// Builds the image without a tag.
    pub fn untagged(self) -> ImageId {
        self.build(&[])
    }

    fn build(self, extra: &[&str]) -> ImageId {
        let dockerfile = self.context.join("Dockerfile");
        fs::write(&dockerfile, self.dockerfile.join("\n") + "\n").expect("write Dockerfile");
        let context = self.context.to_str().expect("utf-8 temp path");
        let mut args = vec!["build", "--quiet", "--network", "none"];
        args.extend_from_slice(extra);
        args.push(context);
        parse_image_id(&self.fixture.docker(&args))
    }
}

// ---- hand-written archives -----------------------------------------------------------------

/// An image for [`Fixture::load`]: its tags (made unique to the fixture; none for a dangling
/// image), creation time, labels, and layers as lists of (path, size) files.
#[derive(Debug, Clone)]
pub struct ArchiveImage {
    pub tags: Vec<String>,
    pub created: Timestamp,
    pub labels: BTreeMap<String, String>,
    pub layers: Vec<Vec<(&'static str, usize)>>,
}

impl ArchiveImage {
    /// One tag, one layer with one file.
    pub fn new(tag: &str, created: Timestamp) -> ArchiveImage {
        ArchiveImage {
            tags: vec![tag.to_owned()],
            created,
            labels: BTreeMap::new(),
            layers: vec![vec![("data", 4096)]],
        }
    }

    pub fn label(mut self, key: &str, value: &str) -> ArchiveImage {
        self.labels.insert(key.to_owned(), value.to_owned());
        self
    }
}

/// A `docker save`-format archive (manifest.json, the config, one tar per layer) and the image
/// ID the engine will give it: the digest of the config bytes.
fn image_archive(
    layers: &[Vec<u8>],
    created: Timestamp,
    labels: &BTreeMap<String, String>,
    tags: &[String],
) -> (Vec<u8>, ImageId) {
    let diff_ids: Vec<String> = layers.iter().map(|l| sha256_digest(l)).collect();
    let created = created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let history: Vec<serde_json::Value> = layers
        .iter()
        .map(|_| serde_json::json!({ "created": created }))
        .collect();
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": { "Labels": labels, "Cmd": ["/bin/busybox", "true"] },
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
        "history": history,
    });
    let config = serde_json::to_vec(&config).expect("config JSON");
    let id = parse_image_id(&sha256_digest(&config));
    let config_name = format!("{}.json", id.text().as_str().trim_start_matches("sha256:"));

    let mut entries = vec![(config_name.clone(), config)];
    let mut layer_paths = Vec::new();
    for (layer, diff_id) in layers.iter().zip(&diff_ids) {
        let path = format!("{}/layer.tar", diff_id.trim_start_matches("sha256:"));
        entries.push((path.clone(), layer.clone()));
        layer_paths.push(path);
    }
    let manifest = serde_json::json!([{
        "Config": config_name,
        "RepoTags": if tags.is_empty() { serde_json::Value::Null } else { serde_json::json!(tags) },
        "Layers": layer_paths,
    }]);
    entries.push((
        "manifest.json".to_owned(),
        serde_json::to_vec(&manifest).expect("manifest"),
    ));
    (tar_archive(&entries), id)
}

fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A ustar archive of regular files (mode 0644, owner root, mtime 0): deterministic, so that
/// the same files always make the same layer digest.
fn tar_archive(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut tar = Vec::new();
    for (path, content) in entries {
        tar.extend_from_slice(&tar_header(path, content.len()));
        tar.extend_from_slice(content);
        tar.resize(tar.len().next_multiple_of(512), 0);
    }
    // Two zero blocks end the archive.
    tar.resize(tar.len() + 1024, 0);
    tar
}

fn tar_header(path: &str, size: usize) -> [u8; 512] {
    assert!(path.len() < 100, "tar paths here are short: {path}");
    let mut header = [0u8; 512];
    let mut put = |offset: usize, field: &[u8]| {
        header[offset..offset + field.len()].copy_from_slice(field);
    };
    put(0, path.as_bytes());
    put(100, b"0000644\0");
    put(108, b"0000000\0");
    put(116, b"0000000\0");
    put(124, format!("{size:011o}\0").as_bytes());
    put(136, b"00000000000\0");
    put(148, b"        ");
    put(156, b"0");
    put(257, b"ustar\0");
    put(263, b"00");
    let checksum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{checksum:06o}\0 ").as_bytes());
    header
}

/// Deterministic bytes from a seed (xorshift64*): incompressible enough that sizes on disk are
/// the sizes written.
fn pseudo_random(seed: &str, size: usize) -> Vec<u8> {
    let mut state = seed.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }) | 1;
    let mut bytes = Vec::with_capacity(size + 8);
    while bytes.len() < size {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        bytes.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    bytes.truncate(size);
    bytes
}

// ---- the engine's API, read directly --------------------------------------------------------

/// `GET path` on the engine, parsed as JSON. HTTP/1.0, so that the answer is neither chunked
/// nor kept alive: it ends when the connection closes.
pub fn engine_get(host: &str, path: &str) -> serde_json::Value {
    let request = format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n");
    let mut response = Vec::new();
    if let Some(socket) = host.strip_prefix("unix://") {
        let mut stream =
            std::os::unix::net::UnixStream::connect(socket).expect("connect to the engine");
        stream
            .write_all(request.as_bytes())
            .expect("send the request");
        stream.read_to_end(&mut response).expect("read the answer");
    } else {
        let address = host.strip_prefix("tcp://").unwrap_or(host);
        let mut stream = std::net::TcpStream::connect(address).expect("connect to the engine");
        stream
            .write_all(request.as_bytes())
            .expect("send the request");
        stream.read_to_end(&mut response).expect("read the answer");
    }
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(
        head.starts_with("HTTP/1.") && head.contains(" 200 "),
        "GET {path}: {head}"
    );
    serde_json::from_str(body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

// ---- shed's output ---------------------------------------------------------------------------

/// What one `shed` run printed, and its exit status.
#[derive(Debug)]
pub struct ShedOutput {
    pub args: Vec<String>,
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl ShedOutput {
    pub fn expect_status(&self, status: i32) -> &Self {
        assert_eq!(
            self.status, status,
            "shed {:?}: exit status\nstdout:\n{}\nstderr:\n{}",
            self.args, self.stdout, self.stderr
        );
        self
    }

    /// Stdout parsed as JSON of type `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "shed {:?}: stdout is not the JSON expected: {e}\n{}",
                self.args, self.stdout
            )
        })
    }
}

/// `shed apply --format json`'s report.
#[derive(Debug, Clone, Deserialize)]
pub struct ApplyReport {
    /// `shed.apply-report/v1`, checked on every report read.
    pub schema: String,
    pub actions: Vec<ActionReport>,
    pub done: usize,
    pub skipped: usize,
    pub failed: usize,
    pub promised_bytes: u64,
    pub engine_layers_before: u64,
    pub engine_layers_after: Option<u64>,
    pub engine_freed_bytes: Option<u64>,
}

/// One action of an [`ApplyReport`].
#[derive(Debug, Clone, Deserialize)]
pub struct ActionReport {
    pub kind: String,
    pub image_id: ImageId,
    pub references: Vec<String>,
    /// `done`, `skipped` or `failed`.
    pub status: String,
    pub message: Option<String>,
    pub bytes: u64,
}
