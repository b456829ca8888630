//! `GET /metrics` in the Prometheus text format (0.0.4): request counts and
//! a latency histogram per route template and status, the database pool's
//! gauges, and build info. Hand-rolled (a few dozen lines) rather than the
//! `metrics` exporter crates: no upkeep task, no summary-vs-histogram trap.
//!
//! Labels are the route *template* (`/api/v1/cases/{id}`), the method and
//! the status: never ids, organisations or users, so cardinality stays
//! bounded. Unrouted paths share the label `unmatched`. The endpoint shows
//! no tenant data; restrict it at the proxy in production.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

/// Histogram bucket upper bounds, seconds.
pub const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Debug, Default, Clone)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// The request metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(String, &'static str, u16), Series>>,
}

impl Metrics {
    /// Records one request.
    pub fn observe(&self, method: &str, route: &'static str, status: u16, secs: f64) {
        let Ok(mut map) = self.series.lock() else {
            return;
        };
        let s = map.entry((method.to_owned(), route, status)).or_default();
        s.count += 1;
        s.sum += secs;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                s.buckets[i] += 1;
            }
        }
    }

    /// The exposition text.
    pub fn render(&self, pool: (u32, usize, u32)) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP sentra_build_info Build information.");
        let _ = writeln!(out, "# TYPE sentra_build_info gauge");
        let _ = writeln!(
            out,
            "sentra_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        let (size, idle, max) = pool;
        for (name, help, value) in [
            (
                "sentra_db_pool_connections",
                "Open database connections.",
                size as usize,
            ),
            (
                "sentra_db_pool_idle_connections",
                "Idle database connections.",
                idle,
            ),
            (
                "sentra_db_pool_max_connections",
                "Maximum database connections.",
                max as usize,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        let map = self.series.lock().map(|m| m.clone()).unwrap_or_default();
        let _ = writeln!(
            out,
            "# HELP sentra_http_requests_total HTTP requests answered."
        );
        let _ = writeln!(out, "# TYPE sentra_http_requests_total counter");
        for ((method, route, status), s) in &map {
            let _ = writeln!(
                out,
                "sentra_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {}",
                escape(route),
                s.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP sentra_http_request_duration_seconds Time to answer HTTP requests."
        );
        let _ = writeln!(out, "# TYPE sentra_http_request_duration_seconds histogram");
        for ((method, route, status), s) in &map {
            let labels = format!(
                "method=\"{method}\",route=\"{}\",status=\"{status}\"",
                escape(route)
            );
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "sentra_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "sentra_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "sentra_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "sentra_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out
    }
}

/// The read cache's counters (`web::read_cache`).
fn render_cache(c: crate::read_cache::CacheStats) -> String {
    let mut out = String::new();
    let name = "sentra_read_cache_lookups_total";
    let _ = writeln!(
        out,
        "# HELP {name} Read cache lookups by kind and outcome.\n# TYPE {name} counter"
    );
    for (kind, outcome, value) in [
        ("page", "hit", c.page_hits),
        ("page", "miss", c.page_misses),
        ("session", "hit", c.session_hits),
        ("session", "miss", c.session_misses),
    ] {
        let _ = writeln!(
            out,
            "{name}{{kind=\"{kind}\",outcome=\"{outcome}\"}} {value}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP sentra_read_cache_changes_total Changes that ended cache entries.\n\
         # TYPE sentra_read_cache_changes_total counter\nsentra_read_cache_changes_total {}",
        c.changes
    );
    let _ = writeln!(
        out,
        "# HELP sentra_read_cache_live Whether database change notifications are followed.\n\
         # TYPE sentra_read_cache_live gauge\nsentra_read_cache_live {}",
        u8::from(c.live)
    );
    out
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Interns route templates (a fixed set: the router's) so series keys are
/// `&'static str` without allocating per request.
fn intern(route: &str) -> &'static str {
    static SEEN: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let Ok(mut seen) = SEEN.lock() else {
        return "unmatched";
    };
    if let Some(s) = seen.iter().find(|s| **s == route) {
        return s;
    }
    if seen.len() >= 1000 {
        return "other";
    }
    let leaked: &'static str = Box::leak(route.to_owned().into_boxed_str());
    seen.push(leaked);
    leaked
}

/// Records every routed request (a per-route layer, so the matched
/// template is known).
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| intern(p.as_str()));
    let res = next.run(req).await;
    state.metrics.observe(
        &method,
        route,
        res.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    res
}

/// `GET /metrics`.
pub async fn serve(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics.render(state.pool.stats()) + &render_cache(state.read_cache.stats()),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_labels_escaped() {
        let m = Metrics::default();
        m.observe("GET", "/a/{id}", 200, 0.003);
        m.observe("GET", "/a/{id}", 200, 0.2);
        let text = m.render((2, 1, 10));
        assert!(text.contains(
            "sentra_http_requests_total{method=\"GET\",route=\"/a/{id}\",status=\"200\"} 2"
        ));
        assert!(text.contains("le=\"0.005\"} 1"));
        assert!(text.contains("le=\"0.25\"} 2"));
        assert!(text.contains("le=\"+Inf\"} 2"));
        assert!(text.contains("sentra_db_pool_max_connections 10"));
        assert_eq!(escape("a\"b"), "a\\\"b");
    }
}
