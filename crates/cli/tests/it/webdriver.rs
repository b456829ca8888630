//! A minimal W3C `WebDriver` client over plain HTTP/1.1 for driving headless
//! Chromium through `chromedriver`: enough to open a page, fill a form,
//! click, read the page and take a screenshot, with no browser automation
//! crate. `Browser::start` returns `None` (after printing `SKIPPED:`) when
//! Chromium or chromedriver is missing, unless `SENTRA_REQUIRE_BROWSER=1`.

use serde_json::{Value, json};
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The key W3C `WebDriver` puts element references under.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A headless Chromium session through a chromedriver child process; both
/// end when dropped.
pub struct Browser {
    driver: Child,
    addr: String,
    session: String,
}

fn find(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    candidates.iter().map(PathBuf::from).find(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One request; returns the status code and the JSON body. chromedriver
/// keeps connections open whatever the request says, so the body is read by
/// its `Content-Length`.
fn call(addr: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    use std::io::BufRead as _;
    let body = body.map(Value::to_string).unwrap_or_default();
    let conn = TcpStream::connect(addr).expect("connect to chromedriver");
    conn.set_read_timeout(Some(Duration::from_mins(3))).unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    (&conn).write_all(request.as_bytes()).unwrap();
    let mut reader = std::io::BufReader::new(&conn);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut raw = vec![0; length];
    reader.read_exact(&mut raw).unwrap();
    (status, serde_json::from_slice(&raw).unwrap_or(Value::Null))
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session, or says
    /// `SKIPPED:` and returns `None` when either is missing.
    pub fn start() -> Option<Self> {
        let chrome = find(
            "CHROME_BIN",
            &[
                "/usr/bin/chromium",
                "/usr/bin/chromium-browser",
                "/usr/bin/google-chrome",
            ],
        );
        let driver = find("CHROMEDRIVER", &["/usr/bin/chromedriver"]);
        let (Some(chrome), Some(driver)) = (chrome, driver) else {
            assert!(
                std::env::var("SENTRA_REQUIRE_BROWSER").as_deref() != Ok("1"),
                "SENTRA_REQUIRE_BROWSER=1 but Chromium or chromedriver is missing (apt-get install chromium chromium-driver)"
            );
            eprintln!(
                "SKIPPED: no Chromium/chromedriver (set CHROME_BIN and CHROMEDRIVER, or apt-get install chromium chromium-driver)"
            );
            return None;
        };
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_mins(1);
        while TcpStream::connect(&addr).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut args = vec![
            "--headless=new",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1280,1100",
            "--no-first-run",
        ];
        if rustix::process::geteuid().is_root() {
            // Chromium's sandbox refuses root; the page is our own demo.
            args.push("--no-sandbox");
        }
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chrome, "args": args }
        }}});
        let mut browser = Self {
            driver: child,
            addr,
            session: String::new(),
        };
        let (status, v) = call(&browser.addr, "POST", "/session", Some(&caps));
        assert_eq!(status, 200, "new session: {v}");
        v["value"]["sessionId"]
            .as_str()
            .unwrap()
            .clone_into(&mut browser.session);
        Some(browser)
    }

    fn post(&self, path: &str, body: &Value) -> Value {
        let (status, v) = call(
            &self.addr,
            "POST",
            &format!("/session/{}{path}", self.session),
            Some(body),
        );
        assert_eq!(status, 200, "POST {path}: {v}");
        v["value"].clone()
    }

    fn get(&self, path: &str) -> Value {
        let (status, v) = call(
            &self.addr,
            "GET",
            &format!("/session/{}{path}", self.session),
            None,
        );
        assert_eq!(status, 200, "GET {path}: {v}");
        v["value"].clone()
    }

    /// Opens `url`.
    pub fn open(&self, url: &str) {
        self.post("/url", &json!({ "url": url }));
    }

    /// The current URL.
    pub fn url(&self) -> String {
        self.get("/url").as_str().unwrap_or_default().to_owned()
    }

    /// The page's HTML.
    pub fn source(&self) -> String {
        self.get("/source").as_str().unwrap_or_default().to_owned()
    }

    fn element(&self, css: &str) -> String {
        let v = self.post(
            "/element",
            &json!({ "using": "css selector", "value": css }),
        );
        match v[ELEMENT].as_str() {
            Some(id) => id.to_owned(),
            None => panic!("no element {css} on {}: {v}\n{}", self.url(), self.source()),
        }
    }

    /// Types `text` into the element `css` selects.
    pub fn fill(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.post(&format!("/element/{id}/value"), &json!({ "text": text }));
    }

    /// Clicks the element `css` selects.
    pub fn click(&self, css: &str) {
        let id = self.element(css);
        self.post(&format!("/element/{id}/click"), &json!({}));
    }

    /// A PNG of the viewport.
    pub fn screenshot(&self) -> Vec<u8> {
        use base64ct::Encoding as _;
        let b64 = self.get("/screenshot");
        base64ct::Base64::decode_vec(b64.as_str().unwrap_or_default()).expect("base64 PNG")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = call(
                &self.addr,
                "DELETE",
                &format!("/session/{}", self.session),
                None,
            );
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Decodes RFC 4648 base32 (the printed TOTP secrets), ignoring padding.
pub fn base32_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET
            .iter()
            .position(|a| *a == c.to_ascii_uppercase())
            .expect("a base32 character");
        buffer = (buffer << 5) | u32::try_from(v).unwrap();
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).unwrap());
        }
    }
    out
}
