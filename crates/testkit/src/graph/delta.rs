//! Delta query (`graph-contract.md` §6): an initial round over a folder
//! (optionally bounded by `receivedDateTime`), pages linked by absolute
//! `@odata.nextLink`s, a final `@odata.deltaLink` that later returns only
//! changes (full items or `@removed`), deliberate duplicates from the seeded
//! RNG, and `410 SyncStateNotFound` for expired or unknown tokens.

use super::mail::{render, split_select};
use super::{Ctx, error};
use crate::state::{CursorKind, DeltaCursor, DeltaOptions, State, default_id};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub(crate) fn delta(
    st: &mut State,
    ctx: &Ctx,
    base: &str,
    mb: usize,
    folder_name: &str,
) -> Response {
    let Some(folder) = st.folder_index(mb, folder_name) else {
        return error(
            ctx,
            StatusCode::NOT_FOUND,
            "ErrorItemNotFound",
            "The specified object was not found in the store.",
        );
    };
    let token = ctx.param("$skiptoken").or_else(|| ctx.param("$deltatoken"));
    let cursor = match token {
        Some(t) => match st.cursors.get(t) {
            Some(c) if !c.expired && c.mailbox == mb && c.folder == folder => c.clone(),
            found => {
                let generation = found.map_or(0, |c| c.number);
                return error(
                    ctx,
                    StatusCode::GONE,
                    "SyncStateNotFound",
                    &format!(
                        "The sync state generation is not found; generation={generation};[highest={}]",
                        st.cursors_issued
                    ),
                );
            }
        },
        None => match initial_options(ctx) {
            Ok(options) => DeltaCursor {
                mailbox: mb,
                folder,
                options,
                number: 0,
                expired: false,
                kind: CursorKind::Delta {
                    since: 0,
                    last: Vec::new(),
                },
            },
            Err(message) => return error(ctx, StatusCode::BAD_REQUEST, "InvalidRequest", &message),
        },
    };
    let initial = token.is_none();
    let (items, pos, end_seq) = match cursor.kind.clone() {
        CursorKind::Page {
            items,
            pos,
            end_seq,
        } => (items, pos, end_seq),
        CursorKind::Delta { since, last } => {
            let mut items = if initial {
                initial_items(st, mb, folder, &cursor.options)
            } else {
                changes(st, mb, folder, since, &cursor.options)
            };
            let rate = st.sw.duplicate_rate;
            if !last.is_empty() && rate > 0.0 && st.rng.unit() < rate {
                let pick = last[st.rng.below(last.len())];
                if st.mailboxes[mb].messages[pick].folder == Some(folder) {
                    items.insert(0, (pick, false));
                }
            }
            (items, 0, st.mailboxes[mb].seq)
        }
    };
    let size = ctx
        .max_page_size
        .or(cursor.options.top)
        .unwrap_or(st.sw.default_page_size)
        .max(1);
    let end = (pos + size).min(items.len());
    let mut page: Vec<(usize, bool)> = items[pos..end].to_vec();
    let rate = st.sw.duplicate_rate;
    if pos > 0 && rate > 0.0 && st.rng.unit() < rate {
        page.push(items[st.rng.below(pos)]);
    }
    let select = cursor.options.select.clone();
    let value: Vec<Value> = page
        .iter()
        .map(|&(idx, removed)| item(st, ctx, mb, folder, idx, removed, select.as_deref()))
        .collect();
    let (user_id, folder_id) = (
        st.mailboxes[mb].user_id.clone(),
        st.mailboxes[mb].folder_ids[folder].clone(),
    );
    let link_base = format!("{base}/users/{user_id}/mailFolders('{folder_id}')/messages/delta");
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(format!("{base}/$metadata#Collection(message)")),
    );
    if end < items.len() {
        let tok = issue(
            st,
            &cursor,
            CursorKind::Page {
                items,
                pos: end,
                end_seq,
            },
        );
        body.insert(
            "@odata.nextLink".into(),
            json!(format!("{link_base}?$skiptoken={tok}")),
        );
    } else {
        let last = items.iter().map(|(i, _)| *i).collect();
        let tok = issue(
            st,
            &cursor,
            CursorKind::Delta {
                since: end_seq,
                last,
            },
        );
        body.insert(
            "@odata.deltaLink".into(),
            json!(format!("{link_base}?$deltatoken={tok}")),
        );
    }
    body.insert("value".into(), Value::Array(value));
    axum::Json(Value::Object(body)).into_response()
}

/// Registers a new opaque token; "expire token N" makes it dead on arrival.
fn issue(st: &mut State, from: &DeltaCursor, kind: CursorKind) -> String {
    st.cursors_issued += 1;
    let number = st.cursors_issued;
    let tok = st.rng.token("");
    let expired = st.sw.expire_delta_token_numbers.contains(&number);
    st.cursors.insert(
        tok.clone(),
        DeltaCursor {
            mailbox: from.mailbox,
            folder: from.folder,
            options: from.options.clone(),
            number,
            expired,
            kind,
        },
    );
    tok
}

fn item(
    st: &State,
    ctx: &Ctx,
    mb: usize,
    folder: usize,
    idx: usize,
    removed: bool,
    select: Option<&[String]>,
) -> Value {
    let m = &st.mailboxes[mb].messages[idx];
    if removed || m.folder != Some(folder) {
        let id = if ctx.immutable_ids {
            m.id.clone()
        } else {
            default_id(&m.id, folder)
        };
        return json!({"@odata.type": "#microsoft.graph.message", "id": id, "@removed": {"reason": "deleted"}});
    }
    render(st, mb, idx, ctx.immutable_ids, select)
}

/// Options of the first call of a round; links carry them afterwards.
fn initial_options(ctx: &Ctx) -> Result<DeltaOptions, String> {
    if ctx.param("$search").is_some() {
        return Err("$search is not supported on delta queries.".to_owned());
    }
    let mut o = DeltaOptions {
        select: ctx.param("$select").map(split_select),
        ..DeltaOptions::default()
    };
    if let Some(order) = ctx.param("$orderby") {
        let norm = order
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_lowercase();
        if norm != "receiveddatetime desc" {
            return Err(format!(
                "$orderby '{order}' is not supported; only receivedDateTime desc."
            ));
        }
        o.order_desc = true;
    }
    if let Some(filter) = ctx.param("$filter") {
        let parts: Vec<&str> = filter.split_whitespace().collect();
        let parsed = match parts.as_slice() {
            [field, op, value] if field.eq_ignore_ascii_case("receivedDateTime") => {
                let at = OffsetDateTime::parse(value, &Rfc3339)
                    .map_err(|_| format!("Invalid date in $filter: {value}"))?;
                match op.to_ascii_lowercase().as_str() {
                    "ge" => (at, true),
                    "gt" => (at, false),
                    _ => return Err(format!("Unsupported operator in $filter: {op}")),
                }
            }
            _ => return Err(format!("Unsupported $filter on delta: {filter}")),
        };
        o.filter_from = Some(parsed);
    }
    if let Some(ct) = ctx.param("changeType") {
        if !matches!(ct, "created" | "updated" | "deleted") {
            return Err(format!("Invalid changeType: {ct}"));
        }
        o.change_type = Some(ct.to_owned());
    }
    if let Some(top) = ctx.param("$top") {
        o.top = Some(top.parse().map_err(|_| format!("Invalid $top: {top}"))?);
    }
    Ok(o)
}

fn passes_filter(st: &State, mb: usize, idx: usize, o: &DeltaOptions) -> bool {
    let received = st.mailboxes[mb].messages[idx].received;
    o.filter_from.is_none_or(|(from, inclusive)| {
        if inclusive {
            received >= from
        } else {
            received > from
        }
    })
}

/// Everything currently in the folder (an initial round: all "created").
fn initial_items(st: &State, mb: usize, folder: usize, o: &DeltaOptions) -> Vec<(usize, bool)> {
    if matches!(o.change_type.as_deref(), Some("updated" | "deleted")) {
        return Vec::new();
    }
    let msgs = &st.mailboxes[mb].messages;
    let mut idx: Vec<usize> = (0..msgs.len())
        .filter(|&i| msgs[i].folder == Some(folder) && passes_filter(st, mb, i, o))
        .collect();
    if o.order_desc {
        idx.sort_by(|a, b| msgs[*b].received.cmp(&msgs[*a].received));
    }
    if o.filter_from.is_some() {
        idx.truncate(st.sw.filtered_delta_cap);
    }
    idx.into_iter().map(|i| (i, false)).collect()
}

/// Changes after `since`: new or updated items, then removals.
fn changes(
    st: &State,
    mb: usize,
    folder: usize,
    since: u64,
    o: &DeltaOptions,
) -> Vec<(usize, bool)> {
    let m = &st.mailboxes[mb];
    let want = |kind: &str| o.change_type.as_deref().is_none_or(|c| c == kind);
    let mut present: Vec<usize> = (0..m.messages.len())
        .filter(|&i| {
            let x = &m.messages[i];
            x.folder == Some(folder)
                && x.changed_seq > since
                && passes_filter(st, mb, i, o)
                && want(if x.in_folder_seq > since {
                    "created"
                } else {
                    "updated"
                })
        })
        .collect();
    present.sort_by_key(|&i| m.messages[i].changed_seq);
    let mut out: Vec<(usize, bool)> = present.into_iter().map(|i| (i, false)).collect();
    if want("deleted") {
        for &(seq, f, i) in &m.removals {
            if seq > since
                && f == folder
                && m.messages[i].folder != Some(folder)
                && !out.contains(&(i, true))
            {
                out.push((i, true));
            }
        }
    }
    out
}
