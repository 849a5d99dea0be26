//! The CLI on snapshot files: no engine needed. These cover the README's first command, the
//! offline verbs (`ls`, `why`, `graph`, `plan` with `--from`) and how bad input is rejected.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use shed_core::plan::{ActionKind, Plan};
use shed_core::plan_file::parse_plan;

/// The snapshot the README plans on.
fn example_snapshot() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/engine-snapshot.json")
}

struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

/// Runs `shed` with no engine reachable: DOCKER_HOST points at a socket that does not exist,
/// so a verb that tried to reach an engine would fail instead of finding the user's one.
fn shed(args: &[&str]) -> Run {
    shed_in(Path::new("."), &[], args)
}

/// Runs `shed` in `dir` with extra environment variables.
fn shed_in(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_shed"))
        .current_dir(dir)
        .env_remove("SHED_POLICY")
        .args(args)
        .env("DOCKER_HOST", "unix:///nonexistent/shed-offline-test.sock")
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run the shed binary");
    Run {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn example_plan(selection: &[&str]) -> (Plan, String) {
    let snapshot = example_snapshot();
    let mut args = vec![
        "--from",
        snapshot.to_str().expect("utf-8 path"),
        "plan",
        "--format",
        "json",
    ];
    args.extend_from_slice(selection);
    let run = shed(&args);
    assert_eq!(run.status, 0, "stderr: {}", run.stderr);
    (
        parse_plan(&run.stdout).expect("plan JSON parses"),
        run.stdout,
    )
}

#[test]
fn readme_plan_on_the_example_snapshot_shows_what_goes_and_why() {
    let snapshot = example_snapshot();
    let run = shed(&["--from", snapshot.to_str().unwrap(), "plan"]);

    assert_eq!(run.status, 0, "stderr: {}", run.stderr);
    assert!(run.stdout.contains("dangling, unused"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("in use by exited container web-migrate"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("in use by running container worker"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("Total: delete "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.lines().count() < 40,
        "a plan should fit one screen:\n{}",
        run.stdout
    );
}

#[test]
fn the_example_plan_deletes_one_dangling_rebuild_and_keeps_the_one_in_use() {
    let (plan, _) = example_plan(&[]);

    let deleted_dangling: Vec<_> = plan
        .actions
        .iter()
        .filter(|a| {
            a.reasons
                .iter()
                .any(|r| r.to_string() == "dangling, unused")
        })
        .collect();
    assert_eq!(deleted_dangling.len(), 1, "{plan:#?}");
    assert!(
        plan.actions
            .iter()
            .all(|a| a.kind == ActionKind::Delete && a.references.is_empty())
    );
    let kept_in_use = plan
        .kept
        .iter()
        .find(|k| {
            k.reasons
                .iter()
                .any(|r| r.to_string().contains("web-migrate"))
        })
        .expect("the dangling rebuild used by web-migrate is kept");
    assert!(kept_in_use.tags.is_empty());
    assert_eq!(
        plan.totals.bytes,
        plan.actions.iter().map(|a| a.bytes).sum::<u64>()
    );
}

#[test]
fn plans_are_byte_for_byte_reproducible() {
    let (_, first) = example_plan(&["--all"]);
    let (_, second) = example_plan(&["--all"]);
    assert_eq!(first, second);
}

#[test]
fn all_keeps_every_tag_of_images_in_use() {
    let (plan, _) = example_plan(&["--all"]);
    let removed: Vec<&str> = plan
        .actions
        .iter()
        .flat_map(|a| a.references.iter().map(String::as_str))
        .collect();
    for in_use in [
        "golang:1.22",
        "golang:1.22.5",
        "shop/worker:2.1",
        "shop/api:1.4.0",
    ] {
        assert!(
            !removed.contains(&in_use),
            "{in_use} is in use, yet removed: {removed:?}"
        );
    }
    assert!(removed.contains(&"shop/web:latest"), "{removed:?}");
}

#[test]
fn plan_output_file_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.json");
    let snapshot = example_snapshot();
    let run = shed(&[
        "--from",
        snapshot.to_str().unwrap(),
        "plan",
        "--all",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(run.status, 0, "stderr: {}", run.stderr);
    let saved = parse_plan(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved, example_plan(&["--all"]).0);
}

#[test]
fn why_explains_an_image_in_use() {
    let snapshot = example_snapshot();
    let run = shed(&["--from", snapshot.to_str().unwrap(), "why", "golang:1.22.5"]);
    assert_eq!(run.status, 0, "stderr: {}", run.stderr);
    assert!(
        run.stdout
            .contains("Tags        golang:1.22, golang:1.22.5"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("go-version (exited)"), "{}", run.stdout);
    assert!(run.stdout.contains("Decision    keep"), "{}", run.stdout);
}

#[test]
fn why_an_unknown_reference_is_bad_input() {
    let snapshot = example_snapshot();
    let run = shed(&["--from", snapshot.to_str().unwrap(), "why", "nosuch:tag"]);
    assert_eq!(run.status, 2);
    assert_eq!(run.stderr.trim(), "shed: no such image: nosuch:tag");
}

#[test]
fn graph_draws_references_containers_and_parents() {
    let snapshot = example_snapshot();
    let dot = shed(&[
        "--from",
        snapshot.to_str().unwrap(),
        "graph",
        "shop/worker:2.1",
    ]);
    assert_eq!(dot.status, 0, "stderr: {}", dot.stderr);
    assert!(dot.stdout.starts_with("digraph shed {"));
    assert!(dot.stdout.contains("\"ref_shop/worker:2.1\" -> \"img_"));
    assert!(dot.stdout.contains("\"ctr_worker\" -> \"img_"));
    assert!(dot.stdout.contains("label=\"parent\""));
    assert!(
        !dot.stdout.contains("shop/api"),
        "only the worker's family is drawn"
    );

    let mermaid = shed(&[
        "--from",
        snapshot.to_str().unwrap(),
        "graph",
        "--format",
        "mermaid",
    ]);
    assert_eq!(mermaid.status, 0);
    assert!(mermaid.stdout.starts_with("flowchart LR\n"));
    assert!(mermaid.stdout.contains("-. parent .->"));
}

#[test]
fn a_malformed_snapshot_names_the_file_position_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.json");
    let text = std::fs::read_to_string(example_snapshot()).unwrap();
    // Break the first image's creation time.
    let broken = text.replacen("\"created\": \"", "\"created\": \"yesterday-", 1);
    std::fs::write(&file, broken).unwrap();

    let run = shed(&["--from", file.to_str().unwrap(), "plan"]);
    assert_eq!(run.status, 2, "stderr: {}", run.stderr);
    assert!(run.stderr.contains("broken.json: line "), "{}", run.stderr);
    assert!(run.stderr.contains("images[0].created"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

#[test]
fn apply_refuses_a_snapshot_source() {
    let snapshot = example_snapshot();
    let run = shed(&["--from", snapshot.to_str().unwrap(), "apply", "--yes"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr.contains("apply needs an engine"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_unreachable_engine_is_a_one_line_failure() {
    let run = shed(&["plan"]);
    assert_eq!(run.status, 1);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("is dockerd running?"), "{}", run.stderr);
}

#[test]
fn bad_filters_are_bad_input() {
    let snapshot = example_snapshot();
    let run = shed(&[
        "--from",
        snapshot.to_str().unwrap(),
        "plan",
        "--filter",
        "until=soon",
    ]);
    assert_eq!(run.status, 2);
    assert!(run.stderr.starts_with("shed: --filter"), "{}", run.stderr);
}

fn policy_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/policies")
        .join(name)
}

#[test]
fn policy_check_accepts_the_examples_and_names_line_and_column_of_a_mistake() {
    let good = shed(&[
        "policy",
        "check",
        policy_file("golang-matrix.toml").to_str().unwrap(),
    ]);
    assert_eq!(good.status, 0, "stderr: {}", good.stderr);
    assert!(good.stdout.contains(": ok ("), "{}", good.stdout);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("typo.toml");
    std::fs::write(
        &file,
        "[[rule]]\nname = \"old\"\nrepo = \"golang\"\naction = \"delete\"\n",
    )
    .unwrap();
    let bad = shed(&["policy", "check", file.to_str().unwrap()]);
    assert_eq!(bad.status, 2);
    let expected = format!(
        "shed: {}:3:1: unknown key `repo` in [[rule]]\n  help: did you mean `repository`?\n",
        file.display()
    );
    assert_eq!(bad.stderr, expected);
}

#[test]
fn plan_and_why_with_a_policy_name_the_rule_that_decided() {
    let snapshot = example_snapshot();
    let policy = policy_file("golang-matrix.toml");
    let run = shed(&[
        "--from",
        snapshot.to_str().unwrap(),
        "plan",
        "--policy",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(run.status, 0, "stderr: {}", run.stderr);
    assert!(run.stdout.starts_with("Plan for policy "), "{}", run.stdout);
    assert!(
        run.stdout.contains("rule \"golang aliases\""),
        "{}",
        run.stdout
    );

    let why = shed(&[
        "--from",
        snapshot.to_str().unwrap(),
        "why",
        "golang:latest",
        "--policy",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(why.status, 0, "stderr: {}", why.stderr);
    assert!(why.stdout.contains("golang aliases"), "{}", why.stdout);
}

#[test]
fn a_plan_over_the_policy_cap_is_refused_unless_the_cap_is_raised() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("greedy.toml");
    std::fs::write(
        &file,
        "[limits]\nmax_images = 1\n\n[[rule]]\nname = \"all unused\"\naction = \"delete\"\n",
    )
    .unwrap();
    let snapshot = example_snapshot();
    let base = [
        "--from",
        snapshot.to_str().unwrap(),
        "plan",
        "--policy",
        file.to_str().unwrap(),
    ];

    let refused = shed(&base);
    assert_eq!(refused.status, 2, "stdout: {}", refused.stdout);
    assert!(
        refused.stderr.contains("refusing this plan"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("max_images = 1"),
        "{}",
        refused.stderr
    );

    let mut raised = base.to_vec();
    raised.extend(["--max-images", "1000"]);
    let allowed = shed(&raised);
    assert_eq!(allowed.status, 0, "stderr: {}", allowed.stderr);
    assert!(allowed.stdout.contains("delete "), "{}", allowed.stdout);
}

#[test]
fn a_policy_is_found_in_shed_policy_then_in_shed_toml() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = example_snapshot();
    let from = ["--from", snapshot.to_str().unwrap(), "plan"];
    std::fs::write(dir.path().join("shed.toml"), "default = \"keep\"\n").unwrap();

    let local = shed_in(dir.path(), &[], &from);
    assert_eq!(local.status, 0, "stderr: {}", local.stderr);
    assert!(
        local.stdout.starts_with("Plan for policy shed.toml "),
        "{}",
        local.stdout
    );

    let matrix = policy_file("golang-matrix.toml");
    let named = shed_in(
        dir.path(),
        &[("SHED_POLICY", matrix.to_str().unwrap())],
        &from,
    );
    assert!(
        named.stdout.contains("golang-matrix.toml"),
        "{}",
        named.stdout
    );

    // Asking for prune's selection while a policy is in force is refused: the policy's
    // protections would silently go. --no-policy says it is meant.
    let mut all = from.to_vec();
    all.push("--all");
    let refused = shed_in(
        dir.path(),
        &[("SHED_POLICY", matrix.to_str().unwrap())],
        &all,
    );
    assert_eq!(refused.status, 2, "{}", refused.stdout);
    assert!(refused.stderr.contains("--no-policy"), "{}", refused.stderr);
    let here = shed_in(dir.path(), &[], &all);
    assert_eq!(here.status, 2, "{}", here.stdout);
    all.push("--no-policy");
    let prune = shed_in(
        dir.path(),
        &[("SHED_POLICY", matrix.to_str().unwrap())],
        &all,
    );
    assert!(
        prune.stdout.starts_with("Plan for unused images "),
        "{}",
        prune.stdout
    );
    let mut none = from.to_vec();
    none.push("--no-policy");
    let plain = shed_in(dir.path(), &[], &none);
    assert!(
        plain.stdout.starts_with("Plan for dangling images "),
        "{}",
        plain.stdout
    );
}

#[test]
fn the_readme_policy_example_is_valid() {
    let readme = include_str!("../../../../README.md");
    let block = readme
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("README.md has a toml block");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("readme.toml");
    std::fs::write(&file, block).unwrap();

    let run = shed(&["policy", "check", file.to_str().unwrap()]);
    assert_eq!(run.status, 0, "stderr: {}", run.stderr);
}

#[test]
fn the_cap_flags_bound_a_run_without_a_policy_too() {
    let snapshot = example_snapshot();
    let base = ["--from", snapshot.to_str().unwrap(), "plan", "--all"];

    let mut capped = base.to_vec();
    capped.extend(["--max-images", "2"]);
    let refused = shed(&capped);
    assert_eq!(refused.status, 2, "stdout: {}", refused.stdout);
    assert!(
        refused.stderr.contains("max_images = 2"),
        "{}",
        refused.stderr
    );

    for bad in [
        ["--max-percent", "250"],
        ["--max-bytes", "1XB"],
        ["--max-images", "0"],
    ] {
        let mut args = base.to_vec();
        args.extend(bad);
        let run = shed(&args);
        assert_eq!(run.status, 2, "{bad:?}: {}", run.stderr);
        assert!(
            run.stdout.is_empty(),
            "a bad flag is reported alone: {}",
            run.stdout
        );
        assert!(
            run.stderr.starts_with(&format!("shed: {}", bad[0])),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn unreadable_inputs_are_bad_input() {
    let missing = shed(&["--from", "/nonexistent/snapshot.json", "plan"]);
    assert_eq!(missing.status, 2, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("/nonexistent/snapshot.json"),
        "{}",
        missing.stderr
    );

    let policy = shed(&["policy", "check", "/nonexistent/policy.toml"]);
    assert_eq!(policy.status, 2, "{}", policy.stderr);

    let plan = shed(&["apply", "/nonexistent/plan.json", "--yes"]);
    assert_eq!(plan.status, 2, "{}", plan.stderr);
}

#[test]
fn apply_refuses_a_time_other_than_now() {
    let run = shed(&["--now", "2030-01-01T00:00:00Z", "apply", "--yes"]);
    assert_eq!(run.status, 2);
    assert!(run.stderr.contains("--now"), "{}", run.stderr);
}

#[test]
fn apply_of_a_saved_plan_takes_no_selection_flags() {
    let run = shed(&["apply", "plan.json", "--all"]);
    assert_eq!(run.status, 2);
    assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
}

#[test]
fn ls_reference_filter_lists_only_matching_tags() {
    let snapshot = example_snapshot();
    let run = shed(&[
        "--from",
        snapshot.to_str().unwrap(),
        "ls",
        "--filter",
        "reference=golang:1.2*",
    ]);
    assert_eq!(run.status, 0, "stderr: {}", run.stderr);
    let tags: Vec<&str> = run
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(
        tags,
        [
            "1.22",
            "1.22.5",
            "1.23-alpine",
            "1.23.1-alpine3.20",
            "1.23",
            "1.23.1"
        ]
    );
}
