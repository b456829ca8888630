//! Analysing a batch of messages in the contract's order: ascending `Date:`,
//! ties (and undated messages, which go last) in input order, each message
//! seeing the history built by the earlier ones.

use crate::{Context, History, MessageReport, Prepared, assess, message_report, remember};

/// Assesses already-prepared messages in date order and returns their reports
/// in that order. `prepared` pairs each message with its source label.
pub fn assess_in_order(
    mut prepared: Vec<(String, Prepared)>,
    ctx: &Context,
    history: &mut History,
) -> Vec<MessageReport> {
    // Stable: equal keys keep input order.
    prepared.sort_by_key(|(_, p)| (p.date().is_none(), p.date()));
    prepared
        .iter()
        .map(|(source, p)| {
            let a = assess(p, ctx, history);
            remember(history, p, &a, ctx, source);
            message_report(source, p, &a, ctx)
        })
        .collect()
}
