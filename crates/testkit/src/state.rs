//! The fake's whole world behind one mutex: apps, tenants, mailboxes and
//! their messages, issued tokens, delta cursors, subscriptions, injected
//! faults and the traffic record. Nothing here awaits, so the lock is never
//! held across I/O.

use crate::config::{Fault, Switches};
use crate::report::{NotificationRecord, RequestRecord};
use axum::body::Bytes;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Instant;
use time::OffsetDateTime;

/// Deterministic generator (SplitMix64): the same seed gives the same ids,
/// tokens and duplicate choices, so failing tests replay exactly.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A float in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub(crate) fn uuid(&mut self) -> uuid::Uuid {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        b[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(b).into_uuid()
    }

    /// An opaque token with a readable prefix.
    pub(crate) fn token(&mut self, prefix: &str) -> String {
        format!("{prefix}{:016x}{:016x}", self.next_u64(), self.next_u64())
    }
}

/// A registered application (Sentra's multi-tenant app).
#[derive(Debug)]
pub(crate) struct App {
    pub secret: String,
    pub secret_expired: bool,
    /// DER certificates registered as credentials (client assertions).
    pub certificates: Vec<Vec<u8>>,
}

/// A customer tenant.
#[derive(Debug)]
pub(crate) struct Tenant {
    /// Whether Sentra's service principal exists here (admin consent given).
    pub consented: bool,
    /// Graph application roles consented in Entra (for example `Mail.Read`,
    /// which is tenant-wide and overrides the RBAC scope: grants are additive).
    pub roles: Vec<String>,
    /// Mailboxes (indexes) in the Exchange RBAC for Applications scope.
    pub scope: BTreeSet<usize>,
    /// `ApplicationAccessPolicy` mode: out-of-scope reads say "Access to `OData` is disabled."
    pub access_policy: bool,
}

/// Well-known folders every mailbox has, in index order.
pub(crate) const FOLDERS: [(&str, &str); 3] = [
    ("inbox", "Inbox"),
    ("junkemail", "Junk Email"),
    ("deleteditems", "Deleted Items"),
];

/// One mailbox.
#[derive(Debug)]
pub(crate) struct Mailbox {
    pub tenant: String,
    pub upn: String,
    pub user_id: String,
    /// Folder ids, indexed like [`FOLDERS`].
    pub folder_ids: Vec<String>,
    pub messages: Vec<Message>,
    /// Change counter; delta rounds remember the value they ended at.
    pub seq: u64,
    /// `(seq, folder, message index)`: a message left that folder.
    pub removals: Vec<(u64, usize, usize)>,
    /// Serves `404 MailboxNotEnabledForRESTAPI` (unlicensed or on-premises).
    pub rest_disabled: bool,
}

/// One message as stored.
#[derive(Debug)]
pub(crate) struct Message {
    pub id: String,
    pub raw: Bytes,
    /// JSON projection derived from the MIME once, at insert.
    pub json: Map<String, Value>,
    /// Current folder; `None` once deleted.
    pub folder: Option<usize>,
    pub received: OffsetDateTime,
    pub is_read: bool,
    /// Seq at which it entered its current folder.
    pub in_folder_seq: u64,
    /// Seq of its last change (create, move, update).
    pub changed_seq: u64,
    pub version: u64,
}

/// An issued access token.
#[derive(Debug, Clone)]
pub(crate) struct AccessToken {
    pub tenant: String,
    pub client_id: String,
    pub roles: Vec<String>,
    pub expires: Instant,
}

/// A delta round in progress or finished (`graph-contract.md` §6).
#[derive(Debug, Clone)]
pub(crate) struct DeltaCursor {
    pub mailbox: usize,
    pub folder: usize,
    pub options: DeltaOptions,
    /// Number in issue order (for "expire token N").
    pub number: u64,
    pub expired: bool,
    pub kind: CursorKind,
}

/// Query options captured from the initial call; links carry them.
#[derive(Debug, Clone, Default)]
pub(crate) struct DeltaOptions {
    pub select: Option<Vec<String>>,
    pub filter_from: Option<(OffsetDateTime, bool)>,
    pub order_desc: bool,
    pub change_type: Option<String>,
    pub top: Option<usize>,
}

/// Where a cursor points.
#[derive(Debug, Clone)]
pub(crate) enum CursorKind {
    /// A `$skiptoken`: the rest of a round.
    Page {
        items: Vec<(usize, bool)>,
        pos: usize,
        end_seq: u64,
    },
    /// A `$deltatoken`: changes after `since`; `last` are the ids served in
    /// the round that produced it (for cross-round duplicates).
    Delta { since: u64, last: Vec<usize> },
}

/// A subscription.
#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    pub id: String,
    pub tenant: String,
    pub client_id: String,
    pub mailbox: usize,
    /// Folder index, or `None` for all messages of the mailbox.
    pub folder: Option<usize>,
    pub resource: String,
    pub change_type: String,
    pub notification_url: String,
    pub lifecycle_url: Option<String>,
    pub client_state: Option<String>,
    pub expires: OffsetDateTime,
    pub tls: Option<String>,
}

impl Subscription {
    pub(crate) fn alive(&self, now: OffsetDateTime) -> bool {
        self.expires > now
    }
}

/// A fault with its remaining counters.
#[derive(Debug, Clone)]
pub(crate) struct ActiveFault {
    pub fault: Fault,
}

/// Throttling bookkeeping.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    pub in_flight: HashMap<String, usize>,
    pub max_in_flight: BTreeMap<String, usize>,
    pub windows: HashMap<String, VecDeque<Instant>>,
    pub max_window: BTreeMap<String, usize>,
    /// Earliest time the next request for a key may arrive (last `Retry-After`).
    pub not_before: HashMap<String, Instant>,
    /// When the answer that set a key's `not_before` was sent.
    pub throttled_at: HashMap<String, Instant>,
}

/// Everything.
#[derive(Debug)]
pub(crate) struct State {
    pub sw: Switches,
    pub rng: Rng,
    pub apps: BTreeMap<String, App>,
    pub tenants: BTreeMap<String, Tenant>,
    pub mailboxes: Vec<Mailbox>,
    pub tokens: HashMap<String, AccessToken>,
    pub tokens_issued: BTreeMap<(String, String), usize>,
    pub refresh_tokens: HashMap<String, (String, String)>,
    pub codes: HashMap<String, (String, String)>,
    pub cursors: HashMap<String, DeltaCursor>,
    pub cursors_issued: u64,
    pub subs: BTreeMap<String, Subscription>,
    pub faults: Vec<ActiveFault>,
    pub gate: Gate,
    pub requests: Vec<RequestRecord>,
    pub notifications: Vec<NotificationRecord>,
    pub retry_after_violations: Vec<crate::report::Violation>,
    pub out_of_scope_attempts: BTreeSet<String>,
    pub out_of_scope_reads: BTreeSet<String>,
    pub values_fetched: BTreeSet<(String, String)>,
    pub started: Instant,
}

impl State {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            sw: Switches::default(),
            rng: Rng::new(seed),
            apps: BTreeMap::new(),
            tenants: BTreeMap::new(),
            mailboxes: Vec::new(),
            tokens: HashMap::new(),
            tokens_issued: BTreeMap::new(),
            refresh_tokens: HashMap::new(),
            codes: HashMap::new(),
            cursors: HashMap::new(),
            cursors_issued: 0,
            subs: BTreeMap::new(),
            faults: Vec::new(),
            gate: Gate::default(),
            requests: Vec::new(),
            notifications: Vec::new(),
            retry_after_violations: Vec::new(),
            out_of_scope_attempts: BTreeSet::new(),
            out_of_scope_reads: BTreeSet::new(),
            values_fetched: BTreeSet::new(),
            started: Instant::now(),
        }
    }

    /// Finds a mailbox by UPN or user id (case-insensitive).
    pub(crate) fn mailbox_index(&self, upn_or_id: &str) -> Option<usize> {
        let key = upn_or_id.to_ascii_lowercase();
        self.mailboxes
            .iter()
            .position(|m| m.upn == key || m.user_id == key)
    }

    /// Resolves a folder by well-known name or id.
    pub(crate) fn folder_index(&self, mailbox: usize, name_or_id: &str) -> Option<usize> {
        let key = name_or_id.to_ascii_lowercase();
        FOLDERS
            .iter()
            .position(|(name, _)| *name == key)
            .or_else(|| {
                self.mailboxes[mailbox]
                    .folder_ids
                    .iter()
                    .position(|id| id.eq_ignore_ascii_case(&key))
            })
    }

    /// Finds a message by immutable id, or by its folder-bound default id
    /// (which stops resolving once the message moves, as on Graph).
    pub(crate) fn message_index(&self, mailbox: usize, id: &str) -> Option<usize> {
        let mb = &self.mailboxes[mailbox];
        mb.messages.iter().position(|m| {
            m.folder.is_some()
                && (m.id == id || m.folder.is_some_and(|f| default_id(&m.id, f) == id))
        })
    }

    /// Whether the mailbox is inside its tenant's RBAC scope.
    pub(crate) fn in_scope(&self, mailbox: usize) -> bool {
        let mb = &self.mailboxes[mailbox];
        self.tenants
            .get(&mb.tenant)
            .is_some_and(|t| t.scope.contains(&mailbox))
    }

    /// Milliseconds since the fake started (timestamps in records).
    pub(crate) fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }
}

/// The non-immutable id Graph hands out without `Prefer: IdType="ImmutableId"`:
/// it embeds the folder, so it changes when the message moves.
pub(crate) fn default_id(immutable: &str, folder: usize) -> String {
    format!("{immutable}-F{folder}")
}
