//! The `OpenAPI` 3.1 document of `/api/v1`, served at
//! `GET /api/v1/openapi.json`.
//!
//! Built by hand, one function per area, each returning its paths; add a
//! function (or an entry to one) with every API route. A test
//! (`tests/api/openapi.rs`) reads the router source, the api block of
//! `src/lib.rs` and every `src/routes/**` file, and fails when a `.route("…")`
//! path or method is missing here, so a new route cannot be forgotten.

use axum::Json;
use serde_json::{Map, Value, json};

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for area in [
        auth(),
        account(),
        people(),
        settings(),
        alert_channels(),
        m365(),
        suppliers(),
        messages(),
        cases(),
        feedback(),
        invoices(),
        audit(),
        meta(),
    ] {
        if let Value::Object(map) = area {
            paths.extend(map);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Sentra API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Payment-fraud defence for SMEs. Every route acts in the signed-in user's organisation (never one named in the request). Errors are {\"error\": {\"code\", \"message\"}}; another organisation's ids answer 404 exactly like missing ones. State-changing requests from a browser must be same-origin."
        },
        "servers": [{ "url": "/api/v1" }],
        "components": components(),
        "security": [{ "session": [] }],
        "paths": Value::Object(paths),
    })
}

/// `GET /api/v1/openapi.json`.
pub async fn serve() -> Json<Value> {
    Json(document())
}

fn components() -> Value {
    json!({
        "securitySchemes": {
            "session": { "type": "apiKey", "in": "cookie", "name": "sentra_session",
                         "description": "`__Host-sentra_session` over https." }
        },
        "schemas": {
            "Error": {
                "type": "object", "required": ["error"],
                "properties": { "error": { "type": "object", "required": ["code", "message"],
                    "properties": { "code": { "type": "string" }, "message": { "type": "string" } } } }
            },
            "Case": {
                "type": "object",
                "properties": {
                    "id": { "type": "string", "format": "uuid" },
                    "message_id": { "type": "string", "format": "uuid" },
                    "assessment_id": { "type": ["string", "null"], "format": "uuid" },
                    "status": { "enum": ["open", "verifying", "cleared", "confirmed_fraud", "dismissed"] },
                    "risk_level": { "$ref": "#/components/schemas/RiskLevel" },
                    "closed_by": { "type": ["string", "null"] },
                    "closed_at": { "type": ["string", "null"], "format": "date-time" },
                    "created_at": { "type": "string", "format": "date-time" }
                }
            },
            "RiskLevel": { "enum": ["none", "low", "medium", "high", "critical"] },
            "MessageSummary": {
                "type": "object",
                "properties": {
                    "id": { "type": "string", "format": "uuid" },
                    "received_at": { "type": "string", "format": "date-time" },
                    "from": { "type": ["string", "null"] },
                    "subject": { "type": ["string", "null"] },
                    "category": { "type": "string" },
                    "risk": { "type": "object", "properties": {
                        "level": { "$ref": "#/components/schemas/RiskLevel" },
                        "score": { "type": "integer", "minimum": 0, "maximum": 100 } } },
                    "supplier": { "type": ["object", "null"] },
                    "case_id": { "type": ["string", "null"], "format": "uuid" }
                }
            },
            "Supplier": {
                "type": "object",
                "properties": {
                    "id": { "type": "string", "format": "uuid" },
                    "name": { "type": "string" },
                    "domains": { "type": "array", "items": { "type": "string" } },
                    "country": { "type": ["string", "null"] },
                    "status": { "enum": ["active", "archived"] }
                }
            },
            "AuditEvent": {
                "type": "object",
                "properties": {
                    "seq": { "type": "integer" },
                    "id": { "type": "string", "format": "uuid" },
                    "at": { "type": "string", "format": "date-time" },
                    "actor": { "type": "string" },
                    "actor_user_id": { "type": ["string", "null"] },
                    "actor_email": { "type": ["string", "null"] },
                    "action": { "type": "string" },
                    "target_type": { "type": ["string", "null"] },
                    "target_id": { "type": ["string", "null"] },
                    "details": { "type": "object" }
                }
            },
            "Invoice": {
                "type": "object",
                "properties": {
                    "id": { "type": "string", "format": "uuid" },
                    "supplier": { "type": ["string", "null"] },
                    "message_id": { "type": ["string", "null"] },
                    "number": { "type": ["string", "null"] },
                    "amount_minor": { "type": ["integer", "null"] },
                    "currency": { "type": ["string", "null"] },
                    "due_date": { "type": ["string", "null"], "format": "date" },
                    "payment_status": { "enum": ["pending", "verified", "held", "paid"] },
                    "updated_at": { "type": "string", "format": "date-time" }
                }
            }
        }
    })
}

/// An operation: summary, optional JSON request schema, the success
/// status and schema, and the usual error answers.
#[allow(clippy::needless_pass_by_value)] // reads better at the many call sites
pub fn op(summary: &str, body: Option<Value>, ok: (&str, Value)) -> Value {
    let err = json!({ "description": "Error", "content": { "application/json": {
        "schema": { "$ref": "#/components/schemas/Error" } } } });
    let mut o = json!({
        "summary": summary,
        "responses": {
            ok.0: { "description": "Success", "content": { "application/json": { "schema": ok.1 } } },
            "400": err, "401": err, "403": err, "404": err
        }
    });
    if let (Some(body), Some(map)) = (body, o.as_object_mut()) {
        map.insert(
            "requestBody".to_owned(),
            json!({ "required": true, "content": { "application/json": { "schema": body } } }),
        );
    }
    o
}

fn id_param() -> Value {
    json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } }])
}

fn with_params(mut op: Value, params: Value) -> Value {
    if let Some(map) = op.as_object_mut() {
        map.insert("parameters".to_owned(), params);
    }
    op
}

fn query(names: &[(&str, &str)]) -> Value {
    Value::Array(
        names
            .iter()
            .map(|(n, d)| json!({ "name": n, "in": "query", "required": false, "description": d, "schema": { "type": "string" } }))
            .collect(),
    )
}

fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn obj() -> Value {
    json!({ "type": "object" })
}

/// `/auth/*`.
pub fn auth() -> Value {
    json!({
        "/auth/login": { "post": op("Sign in with email and password; sets the session cookie.",
            Some(json!({ "type": "object", "required": ["email", "password"], "properties": {
                "email": { "type": "string" }, "password": { "type": "string" } } })),
            ("200", json!({ "type": "object", "properties": { "mfa_required": { "type": "boolean" } } }))) },
        "/auth/mfa": { "post": op("Pass the TOTP step; rotates the session cookie.",
            Some(json!({ "type": "object", "required": ["code"], "properties": { "code": { "type": "string" } } })),
            ("200", json!({ "type": "object", "properties": { "mfa_verified": { "type": "boolean" } } }))) },
        "/auth/logout": { "post": op("End the session.", None, ("204", obj())) },
    })
}

fn body(props: &[&str]) -> Value {
    let mut properties = Map::new();
    for p in props {
        properties.insert((*p).to_owned(), json!({ "type": "string" }));
    }
    json!({ "type": "object", "required": props, "properties": properties })
}

/// Sign-up, MFA enrolment, recovery, step-up, sessions and password reset.
pub fn account() -> Value {
    json!({
        "/auth/signup": { "post": op("Create an organisation and its owner; signs in (MFA enrolment comes next).",
            Some(body(&["org_name", "email", "password"])), ("201", obj())) },
        "/auth/mfa/enrol": { "post": op("Start TOTP enrolment: a new secret, its otpauth URI and QR code (SVG).", None, ("200", obj())) },
        "/auth/mfa/confirm": { "post": op("Confirm enrolment with a code; returns the 10 recovery codes once.",
            Some(body(&["code"])), ("200", obj())) },
        "/auth/recovery": { "post": op("Pass the second factor with a one-time recovery code.",
            Some(body(&["code"])), ("200", obj())) },
        "/auth/step-up": { "post": op("Re-check the second factor before a sensitive action (valid 5 minutes).",
            Some(body(&["code"])), ("200", obj())) },
        "/auth/password": { "post": op("Change your password (the current one is required); your other sessions end.",
            Some(body(&["current_password", "new_password"])), ("204", obj())) },
        "/auth/mfa/recovery-codes": { "post": op("Replace your recovery codes (step-up); the new ones are shown once.",
            None, ("200", obj())) },
        "/auth/password-reset/request": { "post": op("Ask for a reset link by email (always 202: no account enumeration).",
            Some(body(&["email"])), ("202", obj())) },
        "/auth/password-reset/confirm": { "post": op("Set a new password with a single-use reset token.",
            Some(body(&["token", "password"])), ("204", obj())) },
        "/auth/profile": {
            "get": op("Your profile: address, name, authenticator status.", None, ("200", obj())),
            "patch": op("Set your name (empty clears it).", Some(body(&["name"])), ("200", obj())),
        },
        "/auth/sessions": { "get": op("The signed-in person's live sessions.", None, ("200", json!({ "type": "array", "items": obj() }))) },
        "/auth/sessions/{id}": { "delete": with_params(op("Revoke one of your sessions.", None, ("204", obj())), id_param()) },
        "/tokens": {
            "get": op("Your personal API tokens (never their values).", None, ("200", json!({ "type": "array", "items": obj() }))),
            "post": op("Create a personal API token (shown once; use as Authorization: Bearer).", Some(body(&["name"])), ("201", obj())),
        },
        "/tokens/{id}": { "delete": with_params(op("Revoke a personal API token.", None, ("204", obj())), id_param()) },
    })
}

/// Members, roles and invitations.
pub fn people() -> Value {
    json!({
        "/users": { "get": op("Members of the organisation with their roles.", None, ("200", json!({ "type": "array", "items": obj() }))) },
        "/users/{id}": {
            "patch": with_params(op("Change a member's role (admin+, step-up; only an owner grants owner; never the last owner).", Some(body(&["role"])), ("200", obj())), id_param()),
            "delete": with_params(op("Remove a member (never the last owner).", None, ("204", obj())), id_param()),
        },
        "/users/{id}/password-reset": { "post": with_params(op("Issue a password-reset link for a member (admin+).", None, ("201", obj())), id_param()) },
        "/invitations": {
            "get": op("Open invitations.", None, ("200", json!({ "type": "array", "items": obj() }))),
            "post": op("Invite someone by email with a role; returns a copyable link (emailed when SMTP is configured).", Some(body(&["email", "role"])), ("201", obj())),
        },
        "/invitations/{id}": { "delete": with_params(op("Withdraw an invitation.", None, ("204", obj())), id_param()) },
        "/invitations/accept": { "post": op("Accept an invitation (new or existing account).", Some(body(&["token"])), ("200", obj())) },
    })
}

/// Organisation settings.
pub fn settings() -> Value {
    json!({
        "/settings": {
            "get": op("Retention, MFA policy and alert threshold.", None, ("200", obj())),
            "patch": op("Change settings (admin+; the MFA policy needs a step-up).", Some(obj()), ("200", obj())),
        },
    })
}

/// Alert channels (email, Slack, Teams).
pub fn alert_channels() -> Value {
    json!({
        "/alert-channels": {
            "get": op("The organisation's alert channels (webhook URLs never returned).", None, ("200", json!({ "type": "array", "items": obj() }))),
            "post": op("Add an email, Slack or Teams channel (admin+).", Some(obj()), ("201", obj())),
        },
        "/alert-channels/{id}": { "delete": with_params(op("Remove a channel (admin+).", None, ("204", obj())), id_param()) },
        "/alert-channels/{id}/test": { "post": with_params(op("Queue a test alert on a channel (admin+).", None, ("202", obj())), id_param()) },
    })
}

/// `/suppliers*` and `/supplier-changes*` (bank details and call-back
/// numbers change only through dual-controlled change requests).
pub fn suppliers() -> Value {
    let change = json!({ "type": "object" });
    let mut import = op(
        "Import suppliers from a CSV export (Sentra, Xero, QuickBooks, Sage).",
        None,
        ("200", obj()),
    );
    if let Some(map) = import.as_object_mut() {
        map.insert(
            "requestBody".to_owned(),
            json!({ "required": true, "content": { "text/csv": { "schema": { "type": "string" } } } }),
        );
    }
    json!({
        "/suppliers": {
            "get": op("The organisation's suppliers.", None,
                ("200", json!({ "type": "array", "items": schema("Supplier") }))),
            "post": op("Create a supplier.", Some(obj()), ("201", schema("Supplier"))),
        },
        "/suppliers/import": { "post": import },
        "/suppliers/{id}": {
            "get": with_params(op("One supplier.", None, ("200", schema("Supplier"))), id_param()),
            "patch": with_params(op("Edit a supplier's name, domains, contacts, country or status.", Some(obj()), ("200", schema("Supplier"))), id_param()),
            "delete": with_params(op("Delete a supplier.", None, ("204", obj())), id_param()),
        },
        "/suppliers/{id}/bank-accounts": { "post": with_params(op("Propose a bank account (a change request another person approves).", Some(obj()), ("201", change.clone())), id_param()) },
        "/suppliers/{id}/phone": { "post": with_params(op("Propose a verified call-back number with its source (a change request).", Some(obj()), ("201", change.clone())), id_param()) },
        "/supplier-changes": { "get": op("Proposed supplier changes.", None, ("200", json!({ "type": "array", "items": change }))) },
        "/supplier-changes/{id}": { "get": with_params(op("One change request.", None, ("200", obj())), id_param()) },
        "/supplier-changes/{id}/approve": { "post": with_params(op("Approve a change (not its proposer; needs a step-up).", Some(obj()), ("200", obj())), id_param()) },
        "/supplier-changes/{id}/reject": { "post": with_params(op("Reject a change.", Some(obj()), ("200", obj())), id_param()) },
    })
}

/// `/messages*`.
pub fn messages() -> Value {
    let mut submit = op(
        "Submit one email (raw message/rfc822, up to 25 MiB) for analysis; opens a case at medium risk or above.",
        None,
        ("201", obj()),
    );
    if let Some(map) = submit.as_object_mut() {
        map.insert(
            "requestBody".to_owned(),
            json!({ "required": true, "content": { "message/rfc822": { "schema": { "type": "string", "format": "binary" } } } }),
        );
    }
    json!({
        "/messages": {
            "get": with_params(op("Assessed messages, newest first (at most 100).", None,
                ("200", json!({ "type": "array", "items": schema("MessageSummary") }))),
                query(&[("level", "risk level"), ("category", "category"), ("supplier", "supplier name")])),
            "post": submit,
        },
        "/messages/{id}": { "get": with_params(op("One message with its verdict, signals and extracted facts (accounts masked).", None,
            ("200", schema("MessageSummary"))), id_param()) },
    })
}

/// `/cases*`.
pub fn cases() -> Value {
    json!({
        "/cases": { "get": op("Every case, newest first.", None, ("200", json!({ "type": "array", "items": schema("Case") }))) },
        "/cases/{id}": { "get": with_params(op("One case with its verifications.", None, ("200", schema("Case"))), id_param()) },
        "/cases/{id}/verifications": { "post": with_params(op("Record a call-back (the number on file); an open case moves to verifying.",
            Some(json!({ "type": "object", "required": ["outcome"], "properties": {
                "phone_called": { "type": "string", "maxLength": 40 },
                "outcome": { "enum": ["confirmed_genuine", "confirmed_fraud", "no_answer", "other"] },
                "note": { "type": "string", "maxLength": 4000 } } })),
            ("201", schema("Case"))), id_param()) },
        "/cases/{id}/resolve": { "post": with_params(op("Close a case (clearing needs a verification); 409 when the lifecycle refuses.",
            Some(json!({ "type": "object", "required": ["resolution"], "properties": {
                "resolution": { "enum": ["cleared", "confirmed_fraud", "dismissed"] },
                "note": { "type": "string", "maxLength": 4000 } } })),
            ("200", schema("Case"))), id_param()) },
    })
}

/// `/feedback`.
pub fn feedback() -> Value {
    json!({
        "/feedback": { "post": op("Feedback on a message's verdict (not for viewers).",
            Some(json!({ "type": "object", "required": ["message_id", "verdict"], "properties": {
                "message_id": { "type": "string", "format": "uuid" },
                "verdict": { "enum": ["correct", "false_positive", "false_negative", "other"] },
                "comment": { "type": "string", "maxLength": 4000 } } })),
            ("201", json!({ "type": "object", "properties": { "id": { "type": "string" } } }))) },
    })
}

/// `/invoices*`.
pub fn invoices() -> Value {
    json!({
        "/invoices/{id}/payment": { "post": with_params(op("Release (verified: owner, admin, approver) or hold (any member but viewer) an invoice's payment, or return it to pending; 409 from paid or to the same status.",
            Some(json!({ "type": "object", "required": ["status"], "properties": {
                "status": { "enum": ["verified", "held", "pending"] },
                "note": { "type": "string", "maxLength": 4000 } } })),
            ("200", schema("Invoice"))), id_param()) },
    })
}

/// `/audit*` (owner and admin only).
pub fn audit() -> Value {
    let filters = [
        ("action", "action or prefix (case matches case.resolve)"),
        ("actor", "actor text or a member's email"),
        ("from", "RFC 3339 or YYYY-MM-DD"),
        ("to", "exclusive; a date includes that day"),
    ];
    let mut list_params = filters.to_vec();
    list_params.extend([
        ("before", "seq cursor (next_before)"),
        ("limit", "1-500, default 50"),
    ]);
    let mut export = with_params(
        op(
            "The filtered log as CSV, oldest first. Needs a step-up (TOTP within 5 minutes), else 403 step_up_required. Audited.",
            None,
            ("200", json!({ "type": "string" })),
        ),
        query(&filters),
    );
    if let Some(ok) = export.pointer_mut("/responses/200") {
        *ok = json!({ "description": "CSV", "content": { "text/csv": { "schema": { "type": "string" } } } });
    }
    json!({
        "/audit": { "get": with_params(op("Audit events, newest first, keyset-paged.", None,
            ("200", json!({ "type": "object", "properties": {
                "events": { "type": "array", "items": schema("AuditEvent") },
                "next_before": { "type": ["integer", "null"] } } }))), query(&list_params)) },
        "/audit/verify": { "get": op("Walk the organisation's hash chain.", None,
            ("200", json!({ "type": "object", "properties": {
                "ok": { "type": "boolean" }, "checked": { "type": "integer" },
                "head_seq": { "type": ["integer", "null"] },
                "problem": { "type": ["object", "null"] } } }))) },
        "/audit/export.csv": { "get": export },
    })
}

/// `/openapi.json` itself.
pub fn meta() -> Value {
    json!({
        "/openapi.json": { "get": {
            "summary": "This document.", "security": [],
            "responses": { "200": { "description": "OpenAPI 3.1", "content": { "application/json": { "schema": obj() } } } }
        } },
    })
}

/// Microsoft 365: consent, mailboxes, scope check, disconnect (owners and
/// admins; the consent redirect lands on the page `/mailboxes/consent-callback`).
pub fn m365() -> Value {
    let mailbox = json!({ "type": "object", "properties": {
        "id": { "type": "string", "format": "uuid" },
        "address": { "type": "string" },
        "health": { "enum": ["healthy", "degraded", "needs_reconnect"] },
        "last_error": { "type": ["string", "null"] },
        "last_error_at": { "type": ["string", "null"], "format": "date-time" },
        "last_sync_at": { "type": ["string", "null"], "format": "date-time" },
        "subscribed": { "type": "boolean" },
        "scope_verified_at": { "type": ["string", "null"], "format": "date-time" } } });
    json!({
        "/m365": { "get": op("The Microsoft 365 connection: status, tenant, last scope check, mailboxes and the Exchange PowerShell that scopes Sentra to them.",
            None, ("200", obj())) },
        "/m365/consent": { "post": op("Start admin consent: returns the Microsoft URL to send the admin to (409 when Graph is not configured).",
            None, ("200", json!({ "type": "object", "properties": { "consent_url": { "type": "string" } } }))) },
        "/m365/scope-check": { "post": op("Prove least privilege: every selected mailbox reads, an unselected address (`probe`, optional) is refused. When it holds, the mailboxes that read start syncing.",
            Some(json!({ "type": "object", "properties": { "probe": { "type": "string" } } })),
            ("200", json!({ "type": "object", "properties": {
                "verified": { "type": "boolean" }, "least_privilege": { "type": "boolean" },
                "message": { "type": "string" }, "problems": { "type": "array", "items": { "type": "string" } },
                "mailboxes": { "type": "array", "items": obj() }, "probe": obj(),
                "subscribe_enqueued": { "type": "integer" } } }))) },
        "/m365/disconnect": { "post": op("Disconnect Microsoft 365 (step-up): subscriptions deleted at Microsoft, webhook secrets and queued jobs deleted, every mailbox disconnected; returns the PowerShell that removes Sentra's Exchange access.",
            None, ("200", obj())) },
        "/m365/mailboxes": {
            "get": op("The monitored mailboxes with their health.", None, ("200", json!({ "type": "array", "items": mailbox }))),
            "post": op("Add a mailbox to monitor.", Some(body(&["address"])), ("201", mailbox)),
        },
        "/m365/mailboxes/{id}": { "delete": with_params(op("Stop monitoring a mailbox (step-up).", None, ("204", obj())), id_param()) },
    })
}
