//! The payloads Microsoft Graph posts to Sentra's webhook endpoints: change
//! notifications (§8 of the Graph contract) and lifecycle notifications (§9).
//!
//! They live in the domain crate, not the Graph client, because the web crate
//! receives them and the web crate never imports mail clients: it checks them
//! and enqueues jobs. `clientState` is the shared secret that authenticates a
//! notification, so it is redacted from `Debug` and compared only through
//! [`client_state_matches`], which takes the same time wherever the strings
//! differ.

use serde::Deserialize;
use std::fmt;

/// One POST to the notification URL: one or more change notifications,
/// possibly for several subscriptions.
#[derive(Debug, Clone, Deserialize)]
pub struct ChangeNotificationBatch {
    /// The notifications in this delivery.
    pub value: Vec<ChangeNotification>,
}

/// A change notification. Only a hint: Sentra answers it with a delta sync of
/// the mailbox, never by acting on the named message alone.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeNotification {
    /// The notification's own id (absent in some deliveries).
    #[serde(default)]
    pub id: Option<String>,
    /// The subscription it belongs to.
    pub subscription_id: String,
    /// When the subscription expires, as Graph reports it.
    #[serde(default)]
    pub subscription_expiration_date_time: Option<String>,
    /// The secret set when the subscription was created.
    #[serde(default)]
    pub client_state: Option<String>,
    /// `created`, `updated` or `deleted`.
    #[serde(default)]
    pub change_type: String,
    /// For example `Users/{userGuid}/Messages/{msgId}`; casing differs from
    /// the subscription's resource, so it is never string-compared with it.
    #[serde(default)]
    pub resource: String,
    /// The customer's Entra tenant.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// The message the notification names.
    #[serde(default)]
    pub resource_data: Option<ResourceData>,
}

/// `resourceData` of a change notification.
#[derive(Debug, Clone, Deserialize)]
pub struct ResourceData {
    /// The message id (immutable when the subscription asked for it).
    #[serde(default)]
    pub id: Option<String>,
}

/// One POST to the lifecycle notification URL.
#[derive(Debug, Clone, Deserialize)]
pub struct LifecycleNotificationBatch {
    /// The lifecycle events in this delivery.
    pub value: Vec<LifecycleNotification>,
}

/// A lifecycle event for a subscription.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleNotification {
    /// The subscription concerned.
    pub subscription_id: String,
    /// When the subscription expires, as Graph reports it.
    #[serde(default)]
    pub subscription_expiration_date_time: Option<String>,
    /// The customer's Entra tenant.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// The secret set when the subscription was created.
    #[serde(default)]
    pub client_state: Option<String>,
    /// What happened.
    pub lifecycle_event: LifecycleEvent,
}

/// The lifecycle events Graph sends (§9 of the contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LifecycleEvent {
    /// Reauthorize (or renew) the subscription.
    ReauthorizationRequired,
    /// The subscription is gone: create a new one, then run delta.
    SubscriptionRemoved,
    /// Notifications were dropped: run a full delta resync.
    Missed,
    /// An event this version does not know; acknowledged and ignored.
    #[serde(other)]
    Unknown,
}

impl LifecycleEvent {
    /// The wire name, for job payloads and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReauthorizationRequired => "reauthorizationRequired",
            Self::SubscriptionRemoved => "subscriptionRemoved",
            Self::Missed => "missed",
            Self::Unknown => "unknown",
        }
    }
}

const REDACTED: &str = "<redacted>";

impl fmt::Debug for ChangeNotification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangeNotification")
            .field("id", &self.id)
            .field("subscription_id", &self.subscription_id)
            .field(
                "client_state",
                &self.client_state.as_ref().map(|_| REDACTED),
            )
            .field("change_type", &self.change_type)
            .field("resource", &self.resource)
            .field("tenant_id", &self.tenant_id)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for LifecycleNotification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LifecycleNotification")
            .field("subscription_id", &self.subscription_id)
            .field("tenant_id", &self.tenant_id)
            .field(
                "client_state",
                &self.client_state.as_ref().map(|_| REDACTED),
            )
            .field("lifecycle_event", &self.lifecycle_event)
            .finish_non_exhaustive()
    }
}

/// Whether a received `clientState` equals the expected one. Runs in time
/// that depends only on the lengths, so an attacker cannot learn the secret a
/// byte at a time; a missing state never matches.
pub fn client_state_matches(expected: &str, received: Option<&str>) -> bool {
    let Some(received) = received else {
        return false;
    };
    let (want, got) = (expected.as_bytes(), received.as_bytes());
    // Fold over the longer input so the loop length does not reveal where a
    // shorter guess stops; the length difference itself is not secret.
    let len = want.len().max(got.len());
    let mut diff = u8::from(want.len() != got.len());
    for i in 0..len {
        let w = want.get(i).copied().unwrap_or(0);
        let g = got.get(i).copied().unwrap_or(0);
        diff |= w ^ g;
    }
    std::hint::black_box(diff) == 0 && !expected.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_change_notification_batch_from_the_contract() {
        let body = r##"{"value":[{"id":"n1","subscriptionId":"s1","subscriptionExpirationDateTime":"2026-11-10T10:00:00Z",
 "clientState":"secret-state","changeType":"created","resource":"Users/u1/Messages/m1",
 "tenantId":"t1","resourceData":{"@odata.type":"#Microsoft.Graph.Message",
 "@odata.id":"Users/u1/Messages/m1","@odata.etag":"W/\"x\"","id":"m1"}}]}"##;
        let batch: ChangeNotificationBatch = serde_json::from_str(body).unwrap();
        let n = &batch.value[0];
        assert_eq!(n.subscription_id, "s1");
        assert_eq!(n.resource_data.as_ref().unwrap().id.as_deref(), Some("m1"));
        let debug = format!("{n:?}");
        assert!(!debug.contains("secret-state"), "{debug}");
    }

    #[test]
    fn parses_lifecycle_events_and_tolerates_unknown_ones() {
        let body = r#"{"value":[
          {"subscriptionId":"s1","tenantId":"t","clientState":"c","lifecycleEvent":"reauthorizationRequired"},
          {"subscriptionId":"s1","tenantId":"t","clientState":"c","lifecycleEvent":"subscriptionRemoved"},
          {"subscriptionId":"s1","tenantId":"t","clientState":"c","lifecycleEvent":"missed"},
          {"subscriptionId":"s1","tenantId":"t","clientState":"c","lifecycleEvent":"somethingNew"}]}"#;
        let batch: LifecycleNotificationBatch = serde_json::from_str(body).unwrap();
        let events: Vec<_> = batch.value.iter().map(|l| l.lifecycle_event).collect();
        assert_eq!(
            events,
            [
                LifecycleEvent::ReauthorizationRequired,
                LifecycleEvent::SubscriptionRemoved,
                LifecycleEvent::Missed,
                LifecycleEvent::Unknown
            ]
        );
        assert!(!format!("{:?}", batch.value[0]).contains("\"c\""));
    }

    #[test]
    fn client_state_comparison() {
        assert!(client_state_matches("abc", Some("abc")));
        assert!(!client_state_matches("abc", Some("abd")));
        assert!(!client_state_matches("abc", Some("ab")));
        assert!(!client_state_matches("abc", Some("abcd")));
        assert!(!client_state_matches("abc", None));
        assert!(!client_state_matches("", Some("")));
    }
}
