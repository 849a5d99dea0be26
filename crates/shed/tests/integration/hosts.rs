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
            stdout.contains(image.as_str()),
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
