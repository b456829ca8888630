//! A private `PostgreSQL` for `sentra demo` (and the chaos test, which
//! restarts it): the machine's own server binaries, a cluster in a folder
//! of its own (the demo folder), reachable only through a Unix socket in that
//! folder (or, when the socket path would be too long, a random loopback
//! port), with scram passwords kept in the folder (mode 0600).
//!
//! `initdb` refuses to run as root, so when Sentra runs as root the cluster
//! belongs to an unprivileged system user (`sentra-demo`, created when
//! missing, else `nobody`) and every server command runs through `setpriv`
//! (or `runuser`): the workspace forbids `unsafe`, so no `setuid` in a
//! `pre_exec` hook. When that user cannot reach the demo folder (a clone
//! under `/root`, mode 0700), the cluster lives under
//! `/var/tmp/sentra-demo-<hash of the folder>/` instead, and the demo says so.
//!
//! `pg_ctl start` puts the server in its own session, so Ctrl-C at the
//! terminal reaches only Sentra, which then stops the server with
//! `pg_ctl stop -m fast`. A server left running by a killed demo is stopped
//! and restarted on the next start (the folder's lock proves nobody else
//! uses it).

use anyhow::{Context as _, bail};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Overrides where the server binaries are looked for (a `:`-separated
/// list of folders); tests use it to simulate a machine without them.
pub const BIN_DIR_ENV: &str = "SENTRA_DEMO_PG_BIN_DIRS";

/// Longest Unix socket path the kernel accepts is 107 bytes; leave room.
const MAX_SOCKET_PATH: usize = 100;

/// The error a machine without `PostgreSQL` gets: exactly what to install.
pub const NO_POSTGRES: &str = "no PostgreSQL server binaries found (looked on PATH, in `pg_config --bindir` and /usr/lib/postgresql/*/bin).\n\
     Install them with:  sudo apt-get install postgresql   (Debian/Ubuntu; `dnf install postgresql-server` on Fedora/RHEL)\n\
     or point the demo at an existing server with SENTRA_DATABASE_URL and SENTRA_OWNER_DATABASE_URL.";

/// Finds a folder holding `initdb`, `pg_ctl` and `postgres`: the override
/// variable when set, else PATH, `pg_config --bindir`, then
/// `/usr/lib/postgresql/*/bin` newest version first.
pub fn find_bin_dir() -> Option<PathBuf> {
    let has_all = |d: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| d.join(b).is_file())
    };
    if let Some(list) = std::env::var_os(BIN_DIR_ENV) {
        return std::env::split_paths(&list).find(|d| has_all(d));
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        candidates.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((v, e.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|v| std::cmp::Reverse(v.0));
    candidates.extend(versions.into_iter().map(|(_, p)| p));
    candidates.into_iter().find(|d| has_all(d))
}

/// The account the server runs as.
#[derive(Debug, Clone)]
pub struct RunAs {
    name: String,
    uid: u32,
    gid: u32,
}

/// `None` when not root (the server runs as the current user); otherwise
/// the unprivileged account to run it as.
fn unprivileged_user() -> anyhow::Result<Option<RunAs>> {
    if !rustix::process::geteuid().is_root() {
        return Ok(None);
    }
    if lookup("sentra-demo").is_none() {
        // Best effort: a system account without a home or a shell.
        let _ = Command::new("useradd")
            .args(["--system", "--user-group", "--no-create-home"])
            .args(["--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin"])
            .arg("sentra-demo")
            .output();
    }
    lookup("sentra-demo")
        .or_else(|| lookup("nobody"))
        .map(Some)
        .context("running as root, and neither a `sentra-demo` nor a `nobody` account exists to run PostgreSQL as (initdb refuses root)")
}

fn lookup(name: &str) -> Option<RunAs> {
    let out = Command::new("getent")
        .args(["passwd", name])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let line = String::from_utf8(out.stdout).ok()?;
    let fields: Vec<&str> = line.trim().split(':').collect();
    Some(RunAs {
        name: name.to_owned(),
        uid: fields.get(2)?.parse().ok()?,
        gid: fields.get(3)?.parse().ok()?,
    })
}

/// A private cluster, started. Stop it with [`PrivatePostgres::stop`]; a
/// dropped one is stopped too, so an error after the start never leaves a
/// server behind.
#[derive(Debug)]
pub struct PrivatePostgres {
    bin: PathBuf,
    data: PathBuf,
    run_as: Option<RunAs>,
    socket_dir: Option<PathBuf>,
    port: u16,
    running: bool,
    /// Where the cluster lives when not in the demo folder (told to the user).
    pub relocated: Option<PathBuf>,
}

/// How to reach the server as its superuser.
#[derive(Debug, Clone)]
pub struct Endpoint {
    host: String,
    port: u16,
}

impl Endpoint {
    /// A URL for `user` with `password` on database `db`.
    pub fn url(&self, user: &str, password: &str, db: &str) -> String {
        format!(
            "postgres://{user}:{password}@localhost:{port}/{db}?host={host}",
            port = self.port,
            host = encode_query(&self.host),
        )
    }
}

/// Percent-encodes what a query value cannot hold literally.
fn encode_query(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Where the cluster of `demo_dir` lives, and as whom.
pub fn cluster_home(demo_dir: &Path) -> anyhow::Result<(PathBuf, Option<RunAs>, bool)> {
    let run_as = unprivileged_user()?;
    let Some(user) = &run_as else {
        return Ok((demo_dir.join("postgres"), None, false));
    };
    if can_enter(user, demo_dir) {
        return Ok((demo_dir.join("postgres"), run_as, false));
    }
    let home = PathBuf::from(format!("/var/tmp/sentra-demo-{:016x}", fnv1a(demo_dir)));
    Ok((home, run_as, true))
}

/// FNV-1a of the path's bytes: a stable name for the relocated cluster
/// (std's hasher may change between Rust releases).
fn fnv1a(path: &Path) -> u64 {
    use std::os::unix::ffi::OsStrExt as _;
    path.as_os_str()
        .as_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// Whether `user` can traverse every folder down to `dir`.
fn can_enter(user: &RunAs, dir: &Path) -> bool {
    as_user(
        Some(user),
        Path::new("test"),
        [OsString::from("-x"), dir.into()],
    )
    .status()
    .is_ok_and(|s| s.success())
}

/// A command run as `user` (or as ourselves when `None`).
fn as_user<I>(user: Option<&RunAs>, program: &Path, args: I) -> Command
where
    I: IntoIterator<Item = OsString>,
{
    let Some(user) = user else {
        let mut c = Command::new(program);
        c.args(args);
        return c;
    };
    let mut c = if which("setpriv") {
        let mut c = Command::new("setpriv");
        c.arg(format!("--reuid={}", user.uid))
            .arg(format!("--regid={}", user.gid))
            .arg("--clear-groups")
            .arg("--");
        c
    } else {
        let mut c = Command::new("runuser");
        c.args(["-u", &user.name, "--"]);
        c
    };
    c.arg(program).args(args);
    // The server must not inherit root's home or a cwd it cannot read.
    c.env("HOME", "/").current_dir("/");
    c
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// Makes `path` (a folder) belong to `user`, with mode 0700.
fn own(path: &Path, user: Option<&RunAs>) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
    if let Some(u) = user {
        std::os::unix::fs::chown(path, Some(u.uid), Some(u.gid))
            .with_context(|| format!("giving {} to {}", path.display(), u.name))?;
    }
    Ok(())
}

fn run(mut cmd: Command, what: &str) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

impl PrivatePostgres {
    /// Initialises the cluster when it does not exist (superuser `postgres`
    /// with `superuser_password`), then starts it. `home` comes from
    /// [`cluster_home`].
    pub fn start(
        bin: PathBuf,
        home: &Path,
        run_as: Option<RunAs>,
        relocated: bool,
        superuser_password: &str,
    ) -> anyhow::Result<(Self, Endpoint)> {
        let data = home.join("data");
        own(home, run_as.as_ref())?;
        let mut pg = Self {
            bin,
            data,
            socket_dir: None,
            run_as,
            port: 5432,
            running: false,
            relocated: relocated.then(|| home.to_owned()),
        };
        if !pg.data.join("PG_VERSION").is_file() {
            pg.initdb(home, superuser_password)?;
        }
        if pg.status_running() {
            // Left behind by a demo that was killed; the lock says it is ours.
            pg.pg_ctl_stop()?;
        }
        let socket_dir = home.join("run");
        let socket_ok = socket_dir.join(".s.PGSQL.5432").as_os_str().len() <= MAX_SOCKET_PATH;
        let conf = if socket_ok {
            own(&socket_dir, pg.run_as.as_ref())?;
            pg.socket_dir = Some(socket_dir.clone());
            format!(
                "listen_addresses = ''\nport = 5432\nunix_socket_directories = '{}'\n",
                socket_dir.display().to_string().replace('\'', "''")
            )
        } else {
            pg.port = free_port()?;
            format!(
                "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = ''\n",
                pg.port
            )
        };
        write_as(&pg.data.join("sentra-demo.conf"), &conf, pg.run_as.as_ref())?;
        let log = home.join("postgres.log");
        let mut cmd = as_user(
            pg.run_as.as_ref(),
            &pg.bin.join("pg_ctl"),
            [
                "-D".into(),
                pg.data.clone().into_os_string(),
                "-l".into(),
                log.clone().into_os_string(),
            ]
            .into_iter()
            .chain(["-w".into(), "-t".into(), "120".into(), "start".into()]),
        );
        cmd.stdin(std::process::Stdio::null());
        run(cmd, "pg_ctl start")
            .with_context(|| format!("starting PostgreSQL (log: {})", log.display()))?;
        pg.running = true;
        let endpoint = Endpoint {
            host: pg
                .socket_dir
                .as_ref()
                .map_or_else(|| "127.0.0.1".to_owned(), |d| d.display().to_string()),
            port: pg.port,
        };
        Ok((pg, endpoint))
    }

    fn initdb(&self, home: &Path, password: &str) -> anyhow::Result<()> {
        let pwfile = home.join("initdb-password");
        write_as(&pwfile, password, self.run_as.as_ref())?;
        let cmd = as_user(
            self.run_as.as_ref(),
            &self.bin.join("initdb"),
            [
                "-D".into(),
                self.data.clone().into_os_string(),
                "-U".into(),
                "postgres".into(),
                "--auth=scram-sha-256".into(),
                OsString::from(format!("--pwfile={}", pwfile.display())),
                "-E".into(),
                "UTF8".into(),
                "--no-locale".into(),
                "--no-sync".into(),
            ],
        );
        let result = run(cmd, "initdb");
        let _ = std::fs::remove_file(&pwfile);
        result?;
        let conf = self.data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).context("reading postgresql.conf")?;
        text.push_str(
            "\n# sentra demo: a small private server; the socket and port are set per start.\n\
             shared_buffers = 32MB\nmax_connections = 40\nsynchronous_commit = off\n\
             include_if_exists = 'sentra-demo.conf'\n",
        );
        std::fs::write(&conf, text).context("writing postgresql.conf")?;
        Ok(())
    }

    fn status_running(&self) -> bool {
        as_user(
            self.run_as.as_ref(),
            &self.bin.join("pg_ctl"),
            [
                "-D".into(),
                self.data.clone().into_os_string(),
                "status".into(),
            ],
        )
        .output()
        .is_ok_and(|o| o.status.success())
    }

    fn pg_ctl_stop(&self) -> anyhow::Result<()> {
        let cmd = as_user(
            self.run_as.as_ref(),
            &self.bin.join("pg_ctl"),
            ["-D".into(), self.data.clone().into_os_string()]
                .into_iter()
                .chain(["-m", "fast", "-w", "-t", "60", "stop"].map(OsString::from)),
        );
        run(cmd, "pg_ctl stop")
    }

    /// Stops the server (fast shutdown: sessions ended, data flushed).
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.running = false;
        self.pg_ctl_stop()
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if self.running {
            let _ = self.pg_ctl_stop();
        }
    }
}

/// Writes `text` to `path` with mode 0600, owned by `user`.
fn write_as(path: &Path, text: &str, user: Option<&RunAs>) -> anyhow::Result<()> {
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let _ = std::fs::remove_file(path);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("creating {}", path.display()))?;
        f.write_all(text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(u) = user {
        std::os::unix::fs::chown(path, Some(u.uid), Some(u.gid))
            .with_context(|| format!("giving {} to {}", path.display(), u.name))?;
    }
    Ok(())
}

/// A loopback port nobody listens on right now.
fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

/// Removes a relocated cluster (for `--reset`), stopping it first.
pub fn remove_cluster(bin: Option<&Path>, home: &Path, run_as: Option<&RunAs>) {
    let data = home.join("data");
    if let Some(bin) = bin
        && data.join("postmaster.pid").exists()
    {
        let _ = as_user(
            run_as,
            &bin.join("pg_ctl"),
            ["-D".into(), data.into_os_string()]
                .into_iter()
                .chain(["-m", "fast", "-w", "stop"].map(OsString::from)),
        )
        .output();
    }
    let _ = std::fs::remove_dir_all(home);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_urls_encode_the_folder() {
        let e = Endpoint {
            host: "/tmp/a b/run".to_owned(),
            port: 5432,
        };
        assert_eq!(
            e.url("u", "p", "d"),
            "postgres://u:p@localhost:5432/d?host=/tmp/a%20b/run"
        );
    }
}
