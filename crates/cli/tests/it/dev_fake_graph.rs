// `sentra dev fake-graph` as a process: it prints its bases, serves the
// admin API and the token endpoint, and refuses non-loopback addresses.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

/// A bare HTTP/1.1 request (the cli tests have no HTTP client); returns the
/// whole response text.
fn http(addr: &str, request: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect to the fake");
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn fake_graph_runs_seeded_on_loopback() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sentra"))
        .args([
            "dev",
            "fake-graph",
            "--listen",
            "127.0.0.1:0",
            "--seed-standard",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sentra");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = std::collections::HashMap::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line == "ready" {
            break;
        }
        if let Some((k, v)) = line.split_once(": ") {
            printed.insert(k.to_owned(), v.to_owned());
        }
    }
    let root = printed["root"].clone();
    let addr = root.trim_start_matches("http://").to_owned();
    assert_eq!(printed["graph_base"], format!("{root}/v1.0"));

    let report = http(
        &addr,
        "GET /_fake/report HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(report.starts_with("HTTP/1.1 200"), "{report}");
    let form = format!(
        "client_id={}&client_secret=fake-secret-value&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&grant_type=client_credentials",
        printed["client_id"]
    );
    let token = http(
        &addr,
        &format!(
            "POST /login/{}/oauth2/v2.0/token HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            printed["tenant_id"],
            form.len()
        ),
    );
    assert!(token.starts_with("HTTP/1.1 200"), "{token}");
    assert!(token.contains("\"access_token\""));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn fake_graph_refuses_a_public_address() {
    let out = Command::new(env!("CARGO_BIN_EXE_sentra"))
        .args(["dev", "fake-graph", "--listen", "0.0.0.0:0"])
        .stdin(Stdio::null())
        .output()
        .expect("run sentra");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}
