//! The [`FakeGraph`] handle: starts the axum server on loopback and is the
//! Rust-side admin API (seed, flip switches, inject faults, read the report).

use crate::config::{Fault, LifecycleEvent, Switches};
use crate::notify::{self, Outbound};
use crate::report::{Report, SubscriptionView};
use crate::state::{ActiveFault, App, FOLDERS, Mailbox, Message, State, Tenant};
use crate::{FakeError, admin, graph, identity, projection};
use axum::Router;
use axum::body::Bytes;
use axum::routing::{any, get, post};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::oneshot;

/// Shared by the server's handlers, the handle and notification tasks.
#[derive(Debug)]
pub(crate) struct Inner {
    pub state: Mutex<State>,
    /// Outbound client for validation and notifications: no proxy, no redirects.
    pub client: reqwest::Client,
    pub rt: tokio::runtime::Handle,
    /// `http://127.0.0.1:port`.
    pub root: String,
}

impl Inner {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not poison the fake for the server tasks.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn graph_base(&self) -> String {
        format!("{}/v1.0", self.root)
    }
}

/// A message to put into a mailbox: raw RFC 822 bytes plus where and when.
#[derive(Debug, Clone)]
pub struct NewMessage {
    raw: Bytes,
    folder: String,
    received: Option<OffsetDateTime>,
    is_read: bool,
}

impl NewMessage {
    /// A message for the inbox, received now, unread.
    pub fn new(raw: impl Into<Bytes>) -> Self {
        Self {
            raw: raw.into(),
            folder: "inbox".to_owned(),
            received: None,
            is_read: false,
        }
    }

    /// Put it into another folder (`junkemail`, `deleteditems` or a folder id).
    #[must_use]
    pub fn in_folder(mut self, folder: &str) -> Self {
        folder.clone_into(&mut self.folder);
        self
    }

    /// Set `receivedDateTime` (for start-date filters).
    #[must_use]
    pub fn received_at(mut self, at: OffsetDateTime) -> Self {
        self.received = Some(at);
        self
    }

    /// Mark it read.
    #[must_use]
    pub fn read(mut self) -> Self {
        self.is_read = true;
        self
    }
}

/// A seeded mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxInfo {
    /// Lower-cased user principal name.
    pub upn: String,
    /// Stable user id (GUID), as Graph puts it into notification resources.
    pub user_id: String,
    /// Id of the inbox folder.
    pub inbox_id: String,
}

/// What [`FakeGraph::seed_standard`] created.
#[derive(Debug, Clone)]
pub struct Standard {
    /// The customer tenant id (GUID).
    pub tenant_id: String,
    /// Sentra's application (client) id.
    pub client_id: String,
    /// Its client secret.
    pub client_secret: String,
    /// `accounts@contoso.example`: in the RBAC scope.
    pub monitored: MailboxInfo,
    /// `ceo@contoso.example`: exists, but outside the scope.
    pub unmonitored: MailboxInfo,
}

/// A running fake Microsoft Graph on `127.0.0.1`. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeGraph {
    pub(crate) inner: Arc<Inner>,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for FakeGraph {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A reqwest builder for plain-HTTP loopback traffic: no proxy, no
/// redirects, and a rustls backend on ring with no roots (the workspace's
/// reqwest has no default crypto provider; loopback needs no TLS).
pub fn loopback_client_builder() -> Result<reqwest::ClientBuilder, FakeError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| FakeError::Client(e.to_string()))?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none()))
}

/// The default RNG seed.
pub const DEFAULT_SEED: u64 = 0x5E47_2A00;

impl FakeGraph {
    /// Starts on a free loopback port with the default seed.
    ///
    /// # Panics
    /// If no loopback port can be bound (a broken test machine).
    pub async fn start() -> Self {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), DEFAULT_SEED)
            .await
            .expect("bind a loopback port for the fake Graph server")
    }

    /// Starts on the given address with the given RNG seed (same seed, same ids).
    pub async fn start_on(addr: SocketAddr, seed: u64) -> Result<Self, FakeError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(FakeError::Io)?;
        let local = listener.local_addr().map_err(FakeError::Io)?;
        let client = loopback_client_builder()?
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| FakeError::Client(e.to_string()))?;
        let inner = Arc::new(Inner {
            state: Mutex::new(State::new(seed)),
            client,
            rt: tokio::runtime::Handle::current(),
            root: format!("http://{local}"),
        });
        let router = Router::new()
            .route("/login/{tenant}/oauth2/v2.0/token", post(identity::token))
            .route(
                "/login/{tenant}/oauth2/v2.0/authorize",
                get(identity::authorize),
            )
            .route(
                "/login/{tenant}/v2.0/adminconsent",
                get(identity::admin_consent),
            )
            .route("/login/{tenant}/adminconsent", get(identity::admin_consent))
            .route("/v1.0/{*rest}", any(graph::dispatch))
            .nest("/_fake", admin::router())
            .with_state(inner.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self {
            inner,
            stop: Some(stop),
        })
    }

    /// `http://127.0.0.1:port`.
    pub fn root(&self) -> String {
        self.inner.root.clone()
    }

    /// The login base (Sentra's `LOGIN_BASE`): `{root}/login`.
    pub fn login_base(&self) -> String {
        format!("{}/login", self.inner.root)
    }

    /// The Graph base (Sentra's `GRAPH_BASE`): `{root}/v1.0`.
    pub fn graph_base(&self) -> String {
        self.inner.graph_base()
    }

    /// Registers an application (client id and secret).
    pub fn add_app(&self, client_id: &str, secret: &str) {
        self.inner.lock().apps.insert(
            client_id.to_owned(),
            App {
                secret: secret.to_owned(),
                secret_expired: false,
                certificates: Vec::new(),
            },
        );
    }

    /// Adds a tenant where the app is admin-consented, with no Graph mail
    /// role (option A) and an empty RBAC scope.
    pub fn add_tenant(&self, tenant_id: &str) {
        self.inner.lock().tenants.insert(
            tenant_id.to_ascii_lowercase(),
            Tenant {
                consented: true,
                roles: Vec::new(),
                scope: std::collections::BTreeSet::default(),
                access_policy: false,
            },
        );
    }

    /// Adds a mailbox to a tenant, inside or outside the RBAC scope.
    pub fn add_mailbox(
        &self,
        tenant_id: &str,
        upn: &str,
        in_scope: bool,
    ) -> Result<MailboxInfo, FakeError> {
        let mut st = self.inner.lock();
        let tenant = tenant_id.to_ascii_lowercase();
        if !st.tenants.contains_key(&tenant) {
            return Err(FakeError::UnknownTenant(tenant));
        }
        let user_id = st.rng.uuid().to_string();
        let folder_ids = FOLDERS
            .iter()
            .map(|_| format!("AAMkAD{:016X}AAA=", st.rng.next_u64()))
            .collect::<Vec<_>>();
        let info = MailboxInfo {
            upn: upn.to_ascii_lowercase(),
            user_id: user_id.clone(),
            inbox_id: folder_ids[0].clone(),
        };
        st.mailboxes.push(Mailbox {
            tenant: tenant.clone(),
            upn: info.upn.clone(),
            user_id,
            folder_ids,
            messages: Vec::new(),
            seq: 0,
            removals: Vec::new(),
            rest_disabled: false,
        });
        let idx = st.mailboxes.len() - 1;
        if in_scope && let Some(t) = st.tenants.get_mut(&tenant) {
            t.scope.insert(idx);
        }
        Ok(info)
    }

    /// Seeds one app, one tenant, a monitored and an unmonitored mailbox.
    ///
    /// # Panics
    /// Never in practice: the tenant it adds mailboxes to was just added.
    pub fn seed_standard(&self) -> Standard {
        let tenant_id = "6f1c0f2e-8d1a-4c51-9a43-3b2d6c1e0a11".to_owned();
        let client_id = "0e5d2a4b-7c3f-4e8a-b1d9-5a6c7e8f9012".to_owned();
        let client_secret = "fake-secret-value".to_owned();
        self.add_app(&client_id, &client_secret);
        self.add_tenant(&tenant_id);
        let monitored = self
            .add_mailbox(&tenant_id, "accounts@contoso.example", true)
            .expect("tenant exists");
        let unmonitored = self
            .add_mailbox(&tenant_id, "ceo@contoso.example", false)
            .expect("tenant exists");
        Standard {
            tenant_id,
            client_id,
            client_secret,
            monitored,
            unmonitored,
        }
    }

    /// Replaces the tenant's RBAC scope. Mailboxes that drop out of it get
    /// `reauthorizationRequired` for their subscriptions, as Graph sends
    /// when an admin narrows the scope.
    pub fn set_scope(&self, tenant_id: &str, upns: &[&str]) -> Result<(), FakeError> {
        let posts = {
            let mut st = self.inner.lock();
            let tenant = tenant_id.to_ascii_lowercase();
            let mut scope = std::collections::BTreeSet::new();
            for upn in upns {
                let idx = st
                    .mailbox_index(upn)
                    .ok_or_else(|| FakeError::UnknownMailbox((*upn).to_owned()))?;
                scope.insert(idx);
            }
            let t = st
                .tenants
                .get_mut(&tenant)
                .ok_or(FakeError::UnknownTenant(tenant))?;
            let dropped: Vec<usize> = t.scope.difference(&scope).copied().collect();
            t.scope = scope;
            let subs: Vec<String> = st
                .subs
                .values()
                .filter(|s| dropped.contains(&s.mailbox))
                .map(|s| s.id.clone())
                .collect();
            subs.iter()
                .filter_map(|id| {
                    notify::lifecycle_post(&st, id, LifecycleEvent::ReauthorizationRequired)
                })
                .collect::<Vec<_>>()
        };
        notify::send(&self.inner, posts);
        Ok(())
    }

    /// Consent (service principal present) on or off. Turning it off is "the
    /// customer deleted the enterprise app": the token endpoint answers
    /// `AADSTS7000229` and the tenant's subscriptions are removed with a
    /// `subscriptionRemoved` lifecycle event.
    pub fn set_consented(&self, tenant_id: &str, consented: bool) -> Result<(), FakeError> {
        let posts = {
            let mut st = self.inner.lock();
            let tenant = tenant_id.to_ascii_lowercase();
            let t = st
                .tenants
                .get_mut(&tenant)
                .ok_or_else(|| FakeError::UnknownTenant(tenant.clone()))?;
            t.consented = consented;
            if consented {
                Vec::new()
            } else {
                let ids: Vec<String> = st
                    .subs
                    .values()
                    .filter(|s| s.tenant == tenant)
                    .map(|s| s.id.clone())
                    .collect();
                let posts = ids
                    .iter()
                    .filter_map(|id| {
                        notify::lifecycle_post(&st, id, LifecycleEvent::SubscriptionRemoved)
                    })
                    .collect();
                for id in ids {
                    st.subs.remove(&id);
                }
                posts
            }
        };
        notify::send(&self.inner, posts);
        Ok(())
    }

    /// Graph application roles consented in Entra for the tenant (tokens
    /// issued afterwards carry them). `["Mail.Read"]` reproduces the
    /// additive-grant mistake: every mailbox becomes readable.
    pub fn set_tenant_roles(&self, tenant_id: &str, roles: &[&str]) -> Result<(), FakeError> {
        let mut st = self.inner.lock();
        let tenant = tenant_id.to_ascii_lowercase();
        let t = st
            .tenants
            .get_mut(&tenant)
            .ok_or(FakeError::UnknownTenant(tenant))?;
        t.roles = roles.iter().map(|r| (*r).to_owned()).collect();
        Ok(())
    }

    /// `ApplicationAccessPolicy` mode (option B): out-of-scope reads answer
    /// `403 ErrorAccessDenied "Access to OData is disabled."`.
    pub fn set_access_policy(&self, tenant_id: &str, on: bool) -> Result<(), FakeError> {
        let mut st = self.inner.lock();
        let tenant = tenant_id.to_ascii_lowercase();
        let t = st
            .tenants
            .get_mut(&tenant)
            .ok_or(FakeError::UnknownTenant(tenant))?;
        t.access_policy = on;
        Ok(())
    }

    /// The app's client secret has expired (`AADSTS7000222`).
    pub fn set_secret_expired(&self, client_id: &str, expired: bool) -> Result<(), FakeError> {
        let mut st = self.inner.lock();
        let app = st
            .apps
            .get_mut(client_id)
            .ok_or_else(|| FakeError::UnknownApp(client_id.to_owned()))?;
        app.secret_expired = expired;
        Ok(())
    }

    /// The mailbox is unlicensed or on-premises: `404 MailboxNotEnabledForRESTAPI`.
    pub fn set_rest_disabled(&self, upn: &str, disabled: bool) -> Result<(), FakeError> {
        let mut st = self.inner.lock();
        let idx = st
            .mailbox_index(upn)
            .ok_or_else(|| FakeError::UnknownMailbox(upn.to_owned()))?;
        st.mailboxes[idx].rest_disabled = disabled;
        Ok(())
    }

    /// A copy of the current switches.
    pub fn switches(&self) -> Switches {
        self.inner.lock().sw.clone()
    }

    /// Changes switches in place: `fake.set_switches(|s| s.duplicate_rate = 1.0)`.
    pub fn set_switches(&self, change: impl FnOnce(&mut Switches)) {
        change(&mut self.inner.lock().sw);
    }

    /// Queues a fault for upcoming Graph calls.
    pub fn inject(&self, fault: Fault) {
        self.inner.lock().faults.push(ActiveFault { fault });
    }

    /// Stores a message without notifying anyone (fixtures before the test).
    pub fn add_message(&self, upn: &str, message: NewMessage) -> Result<String, FakeError> {
        let (id, _) = self.insert(upn, message, false)?;
        Ok(id)
    }

    /// Stores a message and notifies live subscriptions (`created`): the
    /// arrival of new mail.
    pub fn deliver(&self, upn: &str, message: NewMessage) -> Result<String, FakeError> {
        let (id, posts) = self.insert(upn, message, true)?;
        notify::send(&self.inner, posts);
        Ok(id)
    }

    /// Delivers several messages; with `batch_notifications` their
    /// notifications share one POST per URL.
    pub fn deliver_many(
        &self,
        upn: &str,
        messages: Vec<NewMessage>,
    ) -> Result<Vec<String>, FakeError> {
        let mut ids = Vec::new();
        let mut posts = Vec::new();
        for m in messages {
            let (id, p) = self.insert(upn, m, true)?;
            ids.push(id);
            posts.extend(p);
        }
        notify::send(&self.inner, posts);
        Ok(ids)
    }

    fn insert(
        &self,
        upn: &str,
        message: NewMessage,
        notify: bool,
    ) -> Result<(String, Vec<Outbound>), FakeError> {
        let mut st = self.inner.lock();
        let mb = st
            .mailbox_index(upn)
            .ok_or_else(|| FakeError::UnknownMailbox(upn.to_owned()))?;
        let folder = st
            .folder_index(mb, &message.folder)
            .ok_or_else(|| FakeError::UnknownFolder(message.folder.clone()))?;
        let received = message.received.unwrap_or_else(OffsetDateTime::now_utc);
        let n = st.mailboxes[mb].messages.len();
        let id = format!("AAkALgAA{mb:02X}{n:06X}-{:016x}_", st.rng.next_u64());
        let json = projection::project(&message.raw, received);
        let m = &mut st.mailboxes[mb];
        m.seq += 1;
        let seq = m.seq;
        m.messages.push(Message {
            id: id.clone(),
            raw: message.raw,
            json,
            folder: Some(folder),
            received,
            is_read: message.is_read,
            in_folder_seq: seq,
            changed_seq: seq,
            version: 1,
        });
        let posts = if notify {
            notify::change_posts(&mut st, mb, n, folder, "created")
        } else {
            Vec::new()
        };
        Ok((id, posts))
    }

    /// Moves a message to another folder (delta: `@removed` in the old
    /// folder, a new item in the new one; `deleted`/`created` notifications).
    pub fn move_message(&self, upn: &str, id: &str, folder: &str) -> Result<(), FakeError> {
        let posts = {
            let mut st = self.inner.lock();
            let (mb, idx) = locate(&st, upn, id)?;
            let to = st
                .folder_index(mb, folder)
                .ok_or_else(|| FakeError::UnknownFolder(folder.to_owned()))?;
            let m = &mut st.mailboxes[mb];
            m.seq += 1;
            let seq = m.seq;
            let from = m.messages[idx].folder.unwrap_or(0);
            m.removals.push((seq, from, idx));
            let msg = &mut m.messages[idx];
            msg.folder = Some(to);
            msg.in_folder_seq = seq;
            msg.changed_seq = seq;
            msg.version += 1;
            let mut posts = notify::change_posts(&mut st, mb, idx, from, "deleted");
            posts.extend(notify::change_posts(&mut st, mb, idx, to, "created"));
            posts
        };
        notify::send(&self.inner, posts);
        Ok(())
    }

    /// Deletes a message (hard delete: delta `@removed`, `deleted` notification).
    pub fn delete_message(&self, upn: &str, id: &str) -> Result<(), FakeError> {
        let posts = {
            let mut st = self.inner.lock();
            let (mb, idx) = locate(&st, upn, id)?;
            let m = &mut st.mailboxes[mb];
            m.seq += 1;
            let seq = m.seq;
            let from = m.messages[idx].folder.unwrap_or(0);
            m.removals.push((seq, from, idx));
            m.messages[idx].folder = None;
            m.messages[idx].changed_seq = seq;
            notify::change_posts(&mut st, mb, idx, from, "deleted")
        };
        notify::send(&self.inner, posts);
        Ok(())
    }

    /// Marks a message read or unread (delta: the full item again; `updated` notification).
    pub fn mark_read(&self, upn: &str, id: &str, read: bool) -> Result<(), FakeError> {
        let posts = {
            let mut st = self.inner.lock();
            let (mb, idx) = locate(&st, upn, id)?;
            let m = &mut st.mailboxes[mb];
            m.seq += 1;
            let seq = m.seq;
            let msg = &mut m.messages[idx];
            msg.is_read = read;
            msg.changed_seq = seq;
            msg.version += 1;
            let folder = msg.folder.unwrap_or(0);
            notify::change_posts(&mut st, mb, idx, folder, "updated")
        };
        notify::send(&self.inner, posts);
        Ok(())
    }

    /// Expires every access token issued so far (next Graph call: `401`).
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for t in self.inner.lock().tokens.values_mut() {
            t.expires = now;
        }
    }

    /// Expires every delta link of a mailbox (next use: `410 SyncStateNotFound`).
    pub fn expire_delta_tokens(&self, upn: &str) -> Result<(), FakeError> {
        let mut st = self.inner.lock();
        let mb = st
            .mailbox_index(upn)
            .ok_or_else(|| FakeError::UnknownMailbox(upn.to_owned()))?;
        for c in st.cursors.values_mut().filter(|c| c.mailbox == mb) {
            c.expired = true;
        }
        Ok(())
    }

    /// Expires a subscription now: no more notifications, renew answers `404`.
    pub fn expire_subscription(&self, id: &str) -> Result<(), FakeError> {
        let mut st = self.inner.lock();
        let s = st
            .subs
            .get_mut(id)
            .ok_or_else(|| FakeError::UnknownSubscription(id.to_owned()))?;
        s.expires = OffsetDateTime::now_utc() - time::Duration::seconds(1);
        Ok(())
    }

    /// Sends a lifecycle event for a subscription. `subscriptionRemoved`
    /// also removes it.
    pub fn lifecycle(&self, subscription_id: &str, event: LifecycleEvent) -> Result<(), FakeError> {
        let post = {
            let mut st = self.inner.lock();
            let post = notify::lifecycle_post(&st, subscription_id, event)
                .ok_or_else(|| FakeError::UnknownSubscription(subscription_id.to_owned()))?;
            if event == LifecycleEvent::SubscriptionRemoved {
                st.subs.remove(subscription_id);
            }
            post
        };
        notify::send(&self.inner, vec![post]);
        Ok(())
    }

    /// A snapshot of everything the fake recorded.
    pub fn report(&self) -> Report {
        report(&self.inner.lock())
    }

    /// Polls the report until `done` holds or `timeout` passes; returns the
    /// last report and whether `done` held (for asynchronous notifications).
    pub async fn wait_for(
        &self,
        timeout: Duration,
        done: impl Fn(&Report) -> bool,
    ) -> (Report, bool) {
        let deadline = Instant::now() + timeout;
        loop {
            let r = self.report();
            if done(&r) {
                return (r, true);
            }
            if Instant::now() >= deadline {
                return (r, false);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A non-owning handle over a running server's state (for the admin API):
    /// dropping it does not stop the server.
    pub(crate) fn view(inner: Arc<Inner>) -> Self {
        Self { inner, stop: None }
    }
}

fn locate(st: &State, upn: &str, id: &str) -> Result<(usize, usize), FakeError> {
    let mb = st
        .mailbox_index(upn)
        .ok_or_else(|| FakeError::UnknownMailbox(upn.to_owned()))?;
    let idx = st
        .message_index(mb, id)
        .ok_or_else(|| FakeError::UnknownMessage(id.to_owned()))?;
    Ok((mb, idx))
}

pub(crate) fn report(st: &State) -> Report {
    let now = OffsetDateTime::now_utc();
    Report {
        requests: st.requests.clone(),
        max_in_flight: st.gate.max_in_flight.clone(),
        max_requests_per_window: st.gate.max_window.clone(),
        retry_after_violations: st.retry_after_violations.clone(),
        out_of_scope_attempts: st.out_of_scope_attempts.clone(),
        out_of_scope_reads: st.out_of_scope_reads.clone(),
        tokens_issued: st
            .tokens_issued
            .iter()
            .map(|((t, c), n)| (format!("{t}/{c}"), *n))
            .collect(),
        subscriptions: st
            .subs
            .values()
            .filter(|s| s.alive(now))
            .map(|s| SubscriptionView {
                id: s.id.clone(),
                tenant: s.tenant.clone(),
                client_id: s.client_id.clone(),
                mailbox: st.mailboxes[s.mailbox].upn.clone(),
                resource: s.resource.clone(),
                notification_url: s.notification_url.clone(),
                lifecycle_url: s.lifecycle_url.clone(),
                expires: projection::rfc3339(s.expires),
            })
            .collect(),
        notifications: st.notifications.clone(),
        values_fetched: st.values_fetched.clone(),
    }
}
