//! The dashboard (`GET /`): open cases by risk, messages flagged per week
//! over the last 12 weeks (an SVG bar chart drawn here, with the same
//! numbers as a table), mailbox health, and the latest flagged messages.

use super::{Chrome, PageError, PageSession, render, when};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;
use sentra_domain::RiskLevel;
use sentra_store::repo::assessment::AssessedFilter;
use sentra_store::repo::dashboard;
use sentra_store::repo::listing;

/// Weeks in the chart.
pub const WEEKS: u32 = 12;
/// The level from which a message counts as flagged (the case threshold).
pub const FLAGGED_FROM: RiskLevel = RiskLevel::Medium;

/// Routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(dashboard))
}

/// One bar of the chart, in SVG user units.
pub struct Bar {
    /// The week (`2026-03-02`).
    pub week: String,
    /// Short label (`03-02`).
    pub label: String,
    /// Count.
    pub count: i64,
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Height.
    pub height: u32,
    /// Label position (centre).
    pub label_x: u32,
}

/// Chart geometry.
pub const CHART_W: u32 = 600;
/// Chart height.
pub const CHART_H: u32 = 180;
const PLOT_H: u32 = 140;
const SLOT: u32 = 50;
const BAR_W: u32 = 34;

/// Lays out `weeks` as bars scaled to the largest count.
pub fn bars(weeks: &[(time::Date, i64)]) -> Vec<Bar> {
    let max = weeks.iter().map(|w| w.1).max().unwrap_or(0).max(1);
    weeks
        .iter()
        .enumerate()
        .map(|(i, (week, count))| {
            let height = ((*count).max(0) as u64 * u64::from(PLOT_H) / max as u64) as u32;
            let x = i as u32 * SLOT + (SLOT - BAR_W) / 2;
            let week = week.to_string();
            Bar {
                label: week.get(5..).unwrap_or(&week).to_owned(),
                week,
                count: *count,
                x,
                y: 10 + PLOT_H - height,
                height,
                label_x: x + BAR_W / 2,
            }
        })
        .collect()
}

/// A mailbox as shown.
pub struct MailboxView {
    /// Address.
    pub address: String,
    /// Provider.
    pub provider: String,
    /// Status.
    pub status: String,
    /// Last sync.
    pub last_sync: String,
    /// Last error.
    pub last_error: String,
}

/// A recent flagged message.
pub struct Recent {
    /// Id.
    pub id: String,
    /// When.
    pub received: String,
    /// Level.
    pub level: &'static str,
    /// Subject.
    pub subject: String,
    /// Sender.
    pub from: String,
}

/// The dashboard page.
#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct Dashboard {
    /// Layout.
    pub chrome: Chrome,
    /// Open cases per level.
    pub open_cases: Vec<(&'static str, i64)>,
    /// Total open.
    pub open_total: i64,
    /// Chart bars.
    pub bars: Vec<Bar>,
    /// Flagged in the period.
    pub flagged_total: i64,
    /// Mailboxes.
    pub mailboxes: Vec<MailboxView>,
    /// Latest flagged messages.
    pub recent: Vec<Recent>,
    /// Chart width.
    pub chart_w: u32,
    /// Chart height.
    pub chart_h: u32,
    /// Baseline y.
    pub base_y: u32,
    /// Bar width.
    pub bar_w: u32,
}

/// `GET /`.
pub async fn dashboard(mut page: PageSession) -> Result<Response, PageError> {
    let open = dashboard::open_cases_by_risk(&mut page.tx).await?;
    let weeks = dashboard::flagged_per_week(&mut page.tx, FLAGGED_FROM, WEEKS).await?;
    let mailboxes = dashboard::mailbox_health(&mut page.tx).await?;
    let recent = listing::page(
        &mut page.tx,
        &AssessedFilter {
            min_level: Some(FLAGGED_FROM),
            ..AssessedFilter::default()
        },
        0,
        10,
    )
    .await?;
    let chrome = page.finish("/").await?;
    render(&Dashboard {
        chrome,
        open_total: open.iter().map(|o| o.1).sum(),
        open_cases: open.into_iter().map(|(l, n)| (l.as_str(), n)).collect(),
        flagged_total: weeks.iter().map(|w| w.1).sum(),
        bars: bars(&weeks),
        mailboxes: mailboxes
            .into_iter()
            .map(|m| MailboxView {
                address: m.address,
                provider: m.provider,
                status: m.status,
                last_sync: m.last_sync_at.map_or_else(|| "never".to_owned(), when),
                last_error: m.last_error.unwrap_or_default(),
            })
            .collect(),
        recent: recent
            .into_iter()
            .map(|m| Recent {
                id: m.id.to_string(),
                received: when(m.received_at),
                level: m.risk_level.as_str(),
                subject: m.subject.unwrap_or_else(|| "(no subject)".to_owned()),
                from: m.from_address.unwrap_or_default(),
            })
            .collect(),
        chart_w: CHART_W,
        chart_h: CHART_H,
        base_y: 10 + PLOT_H,
        bar_w: BAR_W,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_week_and_zero_weeks_are_flat() {
        let d = time::macros::date!(2026 - 03 - 02);
        let b = bars(&[(d, 0), (d, 5), (d, 10)]);
        assert_eq!(b[0].height, 0);
        assert_eq!(b[1].height, PLOT_H / 2);
        assert_eq!(b[2].height, PLOT_H);
        assert_eq!(b[2].y, 10);
        assert_eq!(b[0].label, "03-02");
        assert!(bars(&[(d, 0)]).iter().all(|b| b.height == 0));
    }
}
