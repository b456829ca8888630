//! `sentra demo` end to end, as child processes: a private `PostgreSQL` from
//! the machine's binaries, seeding, the web app, the live message, Ctrl-C,
//! reuse, `--reset`, two demos at once, an ordinary user, and the message a
//! machine without `PostgreSQL` gets; the acceptance in a browser is in
//! [`browser`]. Skipped (with `SKIPPED:`) when the machine has no
//! `PostgreSQL` server binaries.

mod browser;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Generous: several demos seed at once on a loaded 2-core machine.
const READY_TIMEOUT: Duration = Duration::from_mins(5);

fn has_postgres() -> bool {
    let found = Path::new("/usr/lib/postgresql").is_dir()
        || Command::new("pg_config")
            .arg("--bindir")
            .output()
            .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("SKIPPED: no PostgreSQL server binaries (apt-get install postgresql)");
    }
    found
}

/// A running demo; interrupted (and waited for) when dropped.
struct Demo {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    started: Instant,
}

fn command(dir: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sentra"));
    cmd.arg("demo")
        .arg("--data-dir")
        .arg(dir)
        .args(extra)
        .env_remove("SENTRA_DATABASE_URL")
        .env_remove("SENTRA_OWNER_DATABASE_URL")
        .env_remove("SENTRA_DEMO_PG_BIN_DIRS")
        .env_remove("SENTRA_KEYS")
        .env_remove("SENTRA_KEY_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    cmd
}

impl Demo {
    fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd.spawn().expect("spawn sentra demo");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
            started: Instant::now(),
        }
    }

    fn start(dir: &Path, extra: &[&str]) -> Self {
        Self::spawn(command(dir, extra))
    }

    /// The first line (from now on) starting with `prefix`.
    fn wait_for(&mut self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.trim_start().starts_with(prefix) {
                        return line;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout | mpsc::RecvTimeoutError::Disconnected) => {
                    panic!(
                        "no line starting {prefix:?} within {timeout:?}; output so far:\n{}",
                        self.seen.join("\n")
                    )
                }
            }
        }
    }

    /// Waits for `ready`; returns the base URL and the seconds it took.
    fn ready(&mut self) -> (String, f64) {
        let line = self.wait_for("ready in", READY_TIMEOUT);
        let secs = self.started.elapsed().as_secs_f64();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("a URL on the ready line")
            .trim_end_matches('/')
            .to_owned();
        (url, secs)
    }

    /// The printed clerk login (email, password).
    fn clerk(&self) -> (String, String) {
        let line = self
            .seen
            .iter()
            .find(|l| l.trim_start().starts_with("clerk "))
            .expect("a clerk login line");
        let words: Vec<&str> = line.split_whitespace().collect();
        (words[1].to_owned(), words[3].to_owned())
    }

    /// The cases the seeding opened, from `seeded: N messages analysed, M cases opened`.
    fn seeded_cases(&self) -> usize {
        let line = self
            .seen
            .iter()
            .find(|l| l.trim_start().starts_with("seeded:"))
            .expect("a seeded line");
        let words: Vec<&str> = line.split_whitespace().collect();
        let at = words.iter().position(|w| *w == "cases").expect("N cases");
        words[at - 1].parse().unwrap()
    }

    fn printed(&self, prefix: &str) -> bool {
        self.seen.iter().any(|l| l.trim_start().starts_with(prefix))
    }

    /// Ctrl-C, then the exit status.
    fn interrupt(mut self) -> std::process::ExitStatus {
        let pid = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
        let status = self.child.wait().unwrap();
        // Drain what it said on the way out.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(1)) {
            self.seen.push(line);
        }
        assert!(
            self.printed("PostgreSQL stopped."),
            "{}",
            self.seen.join("\n")
        );
        status
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let pid = rustix::process::Pid::from_child(&self.child);
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
            let _ = self.child.wait();
        }
    }
}

/// One HTTP/1.1 exchange with `Connection: close`: (status line, headers, body).
fn http(base: &str, request: &str) -> (String, String, String) {
    use std::io::{Read as _, Write as _};
    let addr = base.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_mins(1))).unwrap();
    conn.write_all(request.replace("{host}", addr).as_bytes())
        .unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (status.to_owned(), headers.to_owned(), body.to_owned())
}

/// Signs in as `email` and lists the cases.
fn cases(base: &str, email: &str, password: &str) -> Vec<serde_json::Value> {
    let login = serde_json::json!({ "email": email, "password": password }).to_string();
    let (status, headers, _) = http(
        base,
        &format!(
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: {{host}}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{login}",
            login.len()
        ),
    );
    assert!(status.contains(" 200"), "login: {status}");
    let cookie = headers
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("set-cookie").then(|| {
                value
                    .trim()
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
        })
        .expect("a session cookie");
    let (status, _, body) = http(
        base,
        &format!(
            "GET /api/v1/cases HTTP/1.1\r\nHost: {{host}}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(status.contains(" 200"), "cases: {status}");
    serde_json::from_str(&body).expect("a JSON array of cases")
}

/// A temporary folder others may enter: as root, the demo's `PostgreSQL` runs
/// as an unprivileged account that must reach the data inside it.
fn open_tempdir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    tmp
}

fn postgres_running(dir: &Path) -> bool {
    dir.join("postgres/data/postmaster.pid").exists()
}

#[test]
fn demo_seeds_serves_alerts_live_stops_and_reuses_its_data() {
    if !has_postgres() {
        return;
    }
    let tmp = open_tempdir();
    let dir = tmp.path().join("demo");
    let mut demo = Demo::start(&dir, &["--live-after", "5"]);
    let (base, secs) = demo.ready();
    eprintln!(
        "MEASURED: first `sentra demo` (debug build, seeding 57 messages) ready in {secs:.1} s"
    );
    let seeded = demo.seeded_cases();
    assert!(seeded >= 20, "{seeded} cases");
    let (email, password) = demo.clerk();
    // The live message may already have arrived: the seeded cases, or one more.
    let now = cases(&base, &email, &password).len();
    assert!(
        now == seeded || now == seeded + 1,
        "{now} cases, {seeded} seeded"
    );
    let live = demo.wait_for("live: new message", Duration::from_mins(2));
    assert!(
        live.contains("risk critical")
            && live.contains("case ")
            && live.contains(", 1 alert(s) recorded"),
        "{live}"
    );
    assert_eq!(cases(&base, &email, &password).len(), seeded + 1);
    assert!(postgres_running(&dir));
    assert!(demo.interrupt().success());
    assert!(!postgres_running(&dir), "Ctrl-C stops PostgreSQL");

    // The second start reuses everything: same logins, same cases.
    let mut again = Demo::start(&dir, &["--live-after", "3600"]);
    let (base, secs) = again.ready();
    eprintln!("MEASURED: second `sentra demo` (reusing the data) ready in {secs:.1} s");
    assert!(again.printed("reusing:"));
    assert_eq!(again.clerk(), (email.clone(), password.clone()));
    assert_eq!(cases(&base, &email, &password).len(), seeded + 1);
    assert!(again.interrupt().success());

    // --reset starts clean: new logins, only the seeded cases.
    let mut reset = Demo::start(&dir, &["--reset", "--live-after", "3600"]);
    let (base, _) = reset.ready();
    assert_eq!(reset.seeded_cases(), seeded);
    let (email2, password2) = reset.clerk();
    assert_ne!(password2, password);
    assert_eq!(cases(&base, &email2, &password2).len(), seeded);
    assert!(reset.interrupt().success());
}

#[test]
fn two_demos_run_side_by_side_and_one_folder_serves_one_demo() {
    if !has_postgres() {
        return;
    }
    let tmp = open_tempdir();
    let (a_dir, b_dir) = (tmp.path().join("a"), tmp.path().join("b"));
    let mut a = Demo::start(&a_dir, &["--live-after", "3600"]);
    let mut b = Demo::start(&b_dir, &["--live-after", "3600"]);
    let (a_url, _) = a.ready();
    let (b_url, _) = b.ready();
    assert_ne!(a_url, b_url);
    let (ae, ap) = a.clerk();
    let (be, bp) = b.clerk();
    assert!(!cases(&a_url, &ae, &ap).is_empty());
    assert!(!cases(&b_url, &be, &bp).is_empty());

    let out = command(&a_dir, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("another `sentra demo` is using"), "{text}");
    assert!(a.interrupt().success());
    assert!(b.interrupt().success());
}

#[test]
fn demo_runs_as_an_ordinary_user() {
    if !has_postgres() {
        return;
    }
    let me = rustix::process::geteuid();
    let tmp = tempfile::tempdir().unwrap();
    let dir: PathBuf = tmp.path().join("demo");
    let mut cmd = command(&dir, &["--live-after", "3600"]);
    if me.is_root() {
        // Root runs the server as an unprivileged account itself (covered
        // above); here the whole demo runs as `nobody`, as a developer would.
        let bin = env!("CARGO_BIN_EXE_sentra");
        let reachable = Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--",
                "test",
                "-x",
                bin,
            ])
            .status()
            .is_ok_and(|s| s.success());
        if !reachable {
            eprintln!("SKIPPED: `nobody` cannot execute {bin} (a parent folder is private)");
            return;
        }
        std::fs::create_dir_all(&dir).unwrap();
        for p in [tmp.path(), dir.as_path()] {
            std::os::unix::fs::chown(p, Some(65534), Some(65534)).unwrap();
        }
        let mut wrapped = Command::new("setpriv");
        wrapped
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(cmd.get_program())
            .args(cmd.get_args())
            .env_remove("SENTRA_DATABASE_URL")
            .env_remove("SENTRA_OWNER_DATABASE_URL")
            .env_remove("SENTRA_DEMO_PG_BIN_DIRS")
            .env("HOME", tmp.path())
            .current_dir(tmp.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        cmd = wrapped;
    }
    let mut demo = Demo::spawn(cmd);
    let (base, secs) = demo.ready();
    eprintln!("MEASURED: `sentra demo` as an ordinary user ready in {secs:.1} s");
    let (e, p) = demo.clerk();
    assert!(cases(&base, &e, &p).len() >= 20);
    assert!(demo.interrupt().success());
}

#[test]
fn demo_without_postgres_says_which_package_to_install() {
    let tmp = tempfile::tempdir().unwrap();
    let out = command(&tmp.path().join("demo"), &[])
        .env("SENTRA_DEMO_PG_BIN_DIRS", tmp.path().join("nothing-here"))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("apt-get install postgresql"), "{text}");
    assert!(!tmp.path().join("demo").exists(), "nothing is created");
}
