//! Subscriptions (contract §7): create with a lifecycle URL and a random
//! `clientState`, renew (a `404` means "recreate"), reauthorize, delete,
//! list. Sentra asks for about 48 hours and renews when less than 24 remain.

use crate::client::{GraphClient, Req};
use crate::error::GraphError;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// The lifetime Sentra requests (Microsoft's documented maximum for Outlook
/// messages is 4,230 minutes; other sources differ, contract §7.4).
pub const SUBSCRIPTION_LIFETIME: Duration = Duration::hours(48);
/// Renew when less than this remains (half the lifetime, G5.7).
pub const RENEW_WHEN_LEFT: Duration = Duration::hours(24);

/// A subscription to create.
pub struct NewSubscription<'a> {
    /// The mailbox (address or id).
    pub mailbox: &'a str,
    /// The folder (`inbox`).
    pub folder: &'a str,
    /// Where change notifications go.
    pub notification_url: &'a str,
    /// Where lifecycle notifications go (can only be set at creation).
    pub lifecycle_url: &'a str,
    /// The secret Graph echoes in every notification (≤128 chars).
    pub client_state: &'a SecretString,
    /// Expiry; [`expiry_from`] gives Sentra's default.
    pub expires_at: OffsetDateTime,
}

impl fmt::Debug for NewSubscription<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSubscription")
            .field("mailbox", &self.mailbox)
            .field("folder", &self.folder)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A subscription as Graph returns it (the fields Sentra uses).
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// The subscription id.
    pub id: String,
    /// The watched resource.
    #[serde(default)]
    pub resource: String,
    /// When it expires (ISO 8601).
    #[serde(default)]
    pub expiration_date_time: Option<String>,
    /// Where its notifications go. Sentra's URLs carry the mailbox's secret
    /// path token, so this is left out of `Debug`.
    #[serde(default)]
    pub notification_url: Option<String>,
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("resource", &self.resource)
            .field("expiration_date_time", &self.expiration_date_time)
            .finish_non_exhaustive()
    }
}

impl Subscription {
    /// The parsed expiry, when Graph gave a valid one.
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        self.expiration_date_time
            .as_deref()
            .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
    }
}

#[derive(Deserialize)]
struct List {
    value: Vec<Subscription>,
}

/// Sentra's default expiry for a subscription made or renewed at `now`.
pub fn expiry_from(now: OffsetDateTime) -> OffsetDateTime {
    now + SUBSCRIPTION_LIFETIME
}

/// Whether a subscription expiring at `expires_at` is due for renewal.
pub fn needs_renewal(expires_at: OffsetDateTime, now: OffsetDateTime) -> bool {
    expires_at - now < RENEW_WHEN_LEFT
}

fn graph_time(t: OffsetDateTime) -> Result<String, GraphError> {
    t.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .map_err(|_| GraphError::InvalidRequest("expiry".into()))
}

impl GraphClient {
    /// `POST /subscriptions` for new messages in a folder. Graph validates
    /// both URLs before answering, so Sentra's webhook must already be up.
    pub async fn create_subscription(
        &self,
        tenant: &str,
        new: &NewSubscription<'_>,
    ) -> Result<Subscription, GraphError> {
        let state = new.client_state.expose_secret();
        if state.is_empty() || state.len() > 128 {
            return Err(GraphError::InvalidRequest(
                "clientState must be 1 to 128 characters".into(),
            ));
        }
        let body = serde_json::json!({
            "changeType": "created",
            "notificationUrl": new.notification_url,
            "lifecycleNotificationUrl": new.lifecycle_url,
            "resource": format!("users/{}/mailFolders('{}')/messages", new.mailbox, new.folder),
            "expirationDateTime": graph_time(new.expires_at)?,
            "clientState": state,
            "latestSupportedTlsVersion": "v1_2",
        });
        let req = Req {
            method: Method::POST,
            json: Some(body),
            // A retried create after a lost answer could leave a second
            // subscription; only throttling statuses are retried.
            idempotent: false,
            ..Req::get(self.graph_url(&["subscriptions"]))
        };
        self.send_json(tenant, Some(new.mailbox), &req).await
    }

    /// `PATCH /subscriptions/{id}` to a new expiry (also reauthorizes).
    /// [`GraphError::NotFound`] means the subscription is gone: recreate it.
    pub async fn renew_subscription(
        &self,
        tenant: &str,
        id: &str,
        expires_at: OffsetDateTime,
    ) -> Result<Subscription, GraphError> {
        let req = Req {
            method: Method::PATCH,
            json: Some(serde_json::json!({ "expirationDateTime": graph_time(expires_at)? })),
            ..Req::get(self.graph_url(&["subscriptions", id]))
        };
        self.send_json(tenant, None, &req).await
    }

    /// `POST /subscriptions/{id}/reauthorize` (`200` or `204`).
    pub async fn reauthorize_subscription(&self, tenant: &str, id: &str) -> Result<(), GraphError> {
        let req = Req {
            method: Method::POST,
            ..Req::get(self.graph_url(&["subscriptions", id, "reauthorize"]))
        };
        self.send(tenant, None, &req).await.map(drop)
    }

    /// `DELETE /subscriptions/{id}`. A subscription that is already gone
    /// counts as deleted.
    pub async fn delete_subscription(&self, tenant: &str, id: &str) -> Result<(), GraphError> {
        let req = Req {
            method: Method::DELETE,
            ..Req::get(self.graph_url(&["subscriptions", id]))
        };
        match self.send(tenant, None, &req).await {
            Ok(_) | Err(GraphError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `GET /subscriptions`: this app's subscriptions in the tenant.
    pub async fn list_subscriptions(&self, tenant: &str) -> Result<Vec<Subscription>, GraphError> {
        let req = Req::get(self.graph_url(&["subscriptions"]));
        let list: List = self.send_json(tenant, None, &req).await?;
        Ok(list.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn renews_at_half_life() {
        let made = datetime!(2026-11-08 10:00 UTC);
        let exp = expiry_from(made);
        assert_eq!(exp, datetime!(2026-11-10 10:00 UTC));
        assert!(!needs_renewal(exp, made + Duration::hours(23)));
        assert!(needs_renewal(
            exp,
            made + Duration::hours(24) + Duration::seconds(1)
        ));
    }

    #[test]
    fn graph_time_is_utc_without_fraction() {
        let t = datetime!(2026-11-08 10:00:00.123 +01:00);
        assert_eq!(graph_time(t).unwrap(), "2026-11-08T09:00:00Z");
    }
}
