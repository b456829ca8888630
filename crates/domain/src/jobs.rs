//! Background job payloads: the typed arguments of each job kind, shared by
//! the code that enqueues a job (web, ingest, sync) and the worker that runs
//! it.
//!
//! A payload is a serde struct of ids, never secrets, that names its kind
//! through [`JobPayload::KIND`]. The queue stores the kind and the JSON
//! payload; the worker's registry finds the handler by kind and decodes the
//! payload into the type, so a handler never sees untyped JSON. Every kind
//! says how it deduplicates ([`JobPayload::dedupe_key`]): enqueueing the
//! same logical job twice while one is queued or running adds nothing.
//!
//! Add a kind by adding a payload type here (or in the crate that owns it,
//! when nothing else enqueues it) and registering a handler in the worker.

use serde::Serialize;
use serde::de::DeserializeOwned;
use time::Date;
use uuid::Uuid;

/// The arguments of one job kind.
pub trait JobPayload: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The kind's unique name, as stored in `job.kind`. Never reuse one.
    const KIND: &'static str;
    /// Attempts before a failing job of this kind is parked.
    const MAX_ATTEMPTS: i32 = 5;
    /// While a job with this key is queued or running, enqueueing the same
    /// key again returns that job. `None`: every enqueue adds a job.
    fn dedupe_key(&self) -> Option<String>;
}

/// Analyse one stored message with the current engine, open its case and
/// enqueue its alerts. Idempotent: a message already assessed by this
/// engine version is left as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AnalyseMessage {
    /// The message (`message.id`).
    pub message_id: Uuid,
}

impl JobPayload for AnalyseMessage {
    const KIND: &'static str = "analyse_message";
    fn dedupe_key(&self) -> Option<String> {
        Some(format!("analyse:{}", self.message_id))
    }
}

/// Send one alert (a row of `alert`: one case, one channel). Idempotent:
/// an alert already sent is not sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SendAlert {
    /// The alert (`alert.id`).
    pub alert_id: Uuid,
}

impl JobPayload for SendAlert {
    const KIND: &'static str = "send_alert";
    /// Webhooks that hang or fail are retried a few times, then the alert is
    /// parked with its error visible, rather than retried for hours.
    const MAX_ATTEMPTS: i32 = 4;
    fn dedupe_key(&self) -> Option<String> {
        Some(format!("alert:{}", self.alert_id))
    }
}

/// Send a channel's daily digest of the cases opened on `day` (UTC).
/// Idempotent: a day already sent is not sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SendDigest {
    /// The channel (`alert_channel.id`).
    pub channel_id: Uuid,
    /// The day whose cases it lists.
    pub day: Date,
}

impl JobPayload for SendDigest {
    const KIND: &'static str = "send_digest";
    const MAX_ATTEMPTS: i32 = 4;
    fn dedupe_key(&self) -> Option<String> {
        Some(format!("digest:{}:{}", self.channel_id, self.day))
    }
}

/// Send a test message to a channel (an admin pressed "test").
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SendTestAlert {
    /// The channel (`alert_channel.id`).
    pub channel_id: Uuid,
}

impl JobPayload for SendTestAlert {
    const KIND: &'static str = "send_test_alert";
    const MAX_ATTEMPTS: i32 = 2;
    fn dedupe_key(&self) -> Option<String> {
        Some(format!("alert-test:{}", self.channel_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_through_json_and_name_distinct_kinds() {
        let a = AnalyseMessage {
            message_id: Uuid::nil(),
        };
        let json = serde_json::to_value(a).unwrap();
        assert_eq!(json, serde_json::json!({ "message_id": Uuid::nil() }));
        assert_eq!(serde_json::from_value::<AnalyseMessage>(json).unwrap(), a);
        let d = SendDigest {
            channel_id: Uuid::nil(),
            day: time::macros::date!(2026 - 11 - 29),
        };
        let back: SendDigest = serde_json::from_value(serde_json::to_value(d).unwrap()).unwrap();
        assert_eq!(back, d);
        let kinds = [
            AnalyseMessage::KIND,
            SendAlert::KIND,
            SendDigest::KIND,
            SendTestAlert::KIND,
        ];
        assert_eq!(
            kinds.len(),
            kinds.iter().collect::<std::collections::HashSet<_>>().len()
        );
    }
}
