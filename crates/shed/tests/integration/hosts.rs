//! Reaching the engine: `--host` and `DOCKER_HOST`, over a unix socket and over tcp.
//!
//! The test engine listens on a unix socket only, so the tcp test puts a small relay on
//! 127.0.0.1 in front of it: bytes in, bytes out, nothing interpreted.

use std::io::copy;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::thread;

use crate::common::{Fixture, engine_host};

/// Relays every tcp connection on an ephemeral loopback port to the engine's unix socket, for
/// as long as the test process lives. Returns `tcp://127.0.0.1:<port>`.
fn tcp_relay_to(unix_host: &str) -> String {
    let socket = unix_host
        .strip_prefix("unix://")
        .expect("the test engine is on a unix socket");
    let socket = socket.to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let address = listener.local_addr().expect("the relay's address");
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let engine = UnixStream::connect(&socket).expect("connect to the engine");
            relay(client, engine);
        }
    });
    format!("tcp://{address}")
}

fn relay(client: TcpStream, engine: UnixStream) {
    let (mut client_in, mut engine_out) = (clone_tcp(&client), clone_unix(&engine));
    thread::spawn(move || {
        let _ = copy(&mut client_in, &mut engine_out);
        let _ = engine_out.shutdown(Shutdown::Write);
    });
    let (mut engine_in, mut client_out) = (engine, client);
    thread::spawn(move || {
        let _ = copy(&mut engine_in, &mut client_out);
        let _ = client_out.shutdown(Shutdown::Write);
    });
}

fn clone_tcp(stream: &TcpStream) -> TcpStream {
    stream.try_clone().expect("clone the tcp stream")
}

fn clone_unix(stream: &UnixStream) -> UnixStream {
    stream.try_clone().expect("clone the unix stream")
}

/// Runs `shed ls --format json` with the given environment and arguments.
fn ls(host_flag: Option<&str>, docker_host: Option<&str>) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shed"));
    if let Some(host) = host_flag {
        command.args(["--host", host]);
    }
    command
        .args(["ls", "--format", "json"])
        .env_remove("DOCKER_HOST")
        .stdin(Stdio::null());
    if let Some(host) = docker_host {
        command.env("DOCKER_HOST", host);
    }
    let output = command.output().expect("run shed");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_engine_is_reached_over_tcp_and_through_docker_host() {
    let fx = Fixture::new("hosts");
    let image = fx.scratch_image("reach:1");
    let unix = engine_host();
    let tcp = tcp_relay_to(&unix);

    for (flag, variable) in [(Some(tcp.as_str()), None), (None, Some(unix.as_str()))] {
        let (status, stdout, stderr) = ls(flag, variable);
        assert_eq!(
            status, 0,
            "--host {flag:?} DOCKER_HOST {variable:?}: {stderr}"
        );
        assert!(
            stdout.contains(image.text().as_str()),
            "{flag:?} {variable:?}: {stdout}"
        );
    }
}

#[test]
fn host_flag_wins_over_docker_host() {
    let unix = engine_host();
    let (status, _, stderr) = ls(Some(&unix), Some("unix:///nonexistent/shed.sock"));
    assert_eq!(status, 0, "{stderr}");

    let (status, _, stderr) = ls(Some("unix:///nonexistent/shed.sock"), Some(&unix));
    assert_eq!(status, 1);
    assert!(stderr.contains("/nonexistent/shed.sock"), "{stderr}");
}

#[test]
fn an_unsupported_host_scheme_is_bad_input_in_one_line() {
    let (status, _, stderr) = ls(Some("ssh://user@127.0.0.1"), None);
    assert_eq!(status, 2);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("unsupported engine host"), "{stderr}");
}

/// A relay that forwards requests until it sees the `nth` DELETE request, which it drops along
/// with every connection, present and future: the engine "stops answering" at that point.
fn relay_failing_at_delete(unix_host: &str, nth: usize) -> String {
    use std::io::{Read as _, Write as _};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    let socket = unix_host
        .strip_prefix("unix://")
        .expect("a unix socket")
        .to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let address = listener.local_addr().expect("the relay's address");
    let dead = Arc::new(AtomicBool::new(false));
    let deletes = Arc::new(AtomicUsize::new(0));
    let clients: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            if dead.load(Ordering::SeqCst) {
                continue; // dropped: the connection closes at once
            }
            clients
                .lock()
                .expect("the list of relayed clients")
                .push(clone_tcp(&client));
            let engine = UnixStream::connect(&socket).expect("connect to the engine");
            let (mut engine_out, mut engine_in) = (clone_unix(&engine), engine);
            let (mut client_in, mut client_out) = (clone_tcp(&client), client);
            let (dead, deletes, clients) = (dead.clone(), deletes.clone(), clients.clone());
            thread::spawn(move || {
                let mut buffer = [0u8; 16384];
                while let Ok(n) = client_in.read(&mut buffer) {
                    let chunk = &buffer[..n];
                    if n == 0 {
                        break;
                    }
                    let seen = chunk.windows(7).filter(|w| w == b"DELETE ").count();
                    if seen > 0 && deletes.fetch_add(seen, Ordering::SeqCst) + seen >= nth {
                        dead.store(true, Ordering::SeqCst);
                        for client in clients.lock().expect("the list of relayed clients").iter() {
                            let _ = client.shutdown(Shutdown::Both);
                        }
                        break;
                    }
                    if engine_out.write_all(chunk).is_err() {
                        break;
                    }
                }
            });
            thread::spawn(move || {
                let _ = copy(&mut engine_in, &mut client_out);
            });
        }
    });
    format!("tcp://{address}")
}

#[test]
fn an_engine_that_stops_answering_mid_apply_leaves_the_rest_untouched_and_a_report() {
    let fx = Fixture::new("engine-gone");
    let images: Vec<_> = (0..3)
        .map(|n| {
            fx.scratch_build()
                .file("/n", 100 + n)
                .tag(&format!("gone{n}"))
        })
        .collect();
    let relay = relay_failing_at_delete(&engine_host(), 2);

    let filter = fx.case_filter();
    let output = Command::new(env!("CARGO_BIN_EXE_shed"))
        .args([
            "--host", &relay, "apply", "--all", "--filter", &filter, "--yes",
        ])
        .args(["--format", "json"])
        .env("SHED_STATE_DIR", fx.temp_path("state"))
        .env_remove("DOCKER_HOST")
        .stdin(Stdio::null())
        .output()
        .expect("run shed");

    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: crate::common::ApplyReport =
        serde_json::from_slice(&output.stdout).expect("a report, even though the engine left");
    // The three images and the classic builder's intermediate images under them.
    assert!(report.actions.len() >= 3, "{report:#?}");
    assert_eq!(
        (report.done, report.failed),
        (1, report.actions.len() - 1),
        "{report:#?}"
    );
    for later in &report.actions[2..] {
        let message = later.message.as_deref().unwrap_or_default();
        assert!(message.starts_with("not attempted"), "{later:?}");
    }
    assert_eq!(report.engine_freed_bytes, None);

    let remaining = images
        .iter()
        .filter(|image| fx.image_exists(image.text().as_str()))
        .count();
    assert_eq!(
        remaining, 2,
        "only the one action that was done removed anything"
    );
}
