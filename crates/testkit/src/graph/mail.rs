//! Mail endpoints (`graph-contract.md` §5): folders, a message's JSON
//! projection (immutable or folder-bound ids, `$select`), `$value` with the
//! exact stored bytes, and attachments derived from the MIME.

use super::{Ctx, error};
use crate::state::{FOLDERS, State, default_id};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64ct::{Base64, Encoding};
use mail_parser::{MessageParser, MimeHeaders};
use serde_json::{Map, Value, json};

pub(crate) fn folder(st: &State, ctx: &Ctx, base: &str, mb: usize, name: &str) -> Response {
    let Some(f) = st.folder_index(mb, name) else {
        return not_found(ctx);
    };
    let m = &st.mailboxes[mb];
    let in_folder = m.messages.iter().filter(|x| x.folder == Some(f));
    let (total, unread) = in_folder.fold((0, 0), |(t, u), x| (t + 1, u + usize::from(!x.is_read)));
    axum::Json(json!({
        "@odata.context": format!("{base}/$metadata#users('{}')/mailFolders/$entity", m.user_id),
        "id": m.folder_ids[f],
        "displayName": FOLDERS[f].1,
        "parentFolderId": format!("AAMkADroot{}", &m.user_id[..8]),
        "childFolderCount": 0,
        "unreadItemCount": unread,
        "totalItemCount": total,
        "isHidden": false,
    }))
    .into_response()
}

pub(crate) fn message(st: &State, ctx: &Ctx, base: &str, mb: usize, id: &str) -> Response {
    let Some(idx) = st.message_index(mb, id) else {
        return not_found(ctx);
    };
    let select = ctx.param("$select").map(split_select);
    let mut body = render(st, mb, idx, ctx.immutable_ids, select.as_deref());
    if let Value::Object(o) = &mut body {
        o.insert(
            "@odata.context".into(),
            json!(format!(
                "{base}/$metadata#users('{}')/messages/$entity",
                st.mailboxes[mb].user_id
            )),
        );
    }
    axum::Json(body).into_response()
}

pub(crate) fn split_select(s: &str) -> Vec<String> {
    s.split(',')
        .map(|f| f.trim().to_owned())
        .filter(|f| !f.is_empty())
        .collect()
}

/// The JSON of one message as Graph would serve it.
pub(crate) fn render(
    st: &State,
    mb: usize,
    idx: usize,
    immutable: bool,
    select: Option<&[String]>,
) -> Value {
    let mbox = &st.mailboxes[mb];
    let m = &mbox.messages[idx];
    let folder = m.folder.unwrap_or(0);
    let id = if immutable {
        m.id.clone()
    } else {
        default_id(&m.id, folder)
    };
    let change_key = format!("CQAAABYAAAD{:08X}", m.version);
    let mut o = Map::new();
    for (k, v) in &m.json {
        if k != "internetMessageHeaders" {
            o.insert(k.clone(), v.clone());
        }
    }
    o.insert("id".into(), json!(id));
    o.insert(
        "lastModifiedDateTime".into(),
        m.json
            .get("receivedDateTime")
            .cloned()
            .unwrap_or(Value::Null),
    );
    o.insert("parentFolderId".into(), json!(mbox.folder_ids[folder]));
    o.insert("conversationId".into(), json!(format!("AAQkAD{:08X}", idx)));
    o.insert("isRead".into(), json!(m.is_read));
    o.insert("changeKey".into(), json!(change_key));
    o.insert(
        "webLink".into(),
        json!(format!(
            "https://outlook.office365.com/owa/?ItemID={id}&exvsurl=1&viewmodel=ReadMessageItem"
        )),
    );
    let mut out = Map::new();
    out.insert("@odata.type".into(), json!("#microsoft.graph.message"));
    out.insert("@odata.etag".into(), json!(format!("W/\"{change_key}\"")));
    match select {
        None => out.extend(o),
        Some(fields) => {
            out.insert("id".into(), json!(id));
            for f in fields {
                if f == "internetMessageHeaders" {
                    out.insert(f.clone(), m.json.get(f).cloned().unwrap_or(json!([])));
                } else if let Some(v) = o.get(f) {
                    out.insert(f.clone(), v.clone());
                }
            }
        }
    }
    Value::Object(out)
}

/// `$value`: the stored bytes, unchanged, whatever they contain.
pub(crate) fn value(st: &mut State, ctx: &Ctx, mb: usize, id: &str) -> Response {
    let Some(idx) = st.message_index(mb, id) else {
        return not_found(ctx);
    };
    let (upn, msg_id, raw) = {
        let m = &st.mailboxes[mb];
        (
            m.upn.clone(),
            m.messages[idx].id.clone(),
            m.messages[idx].raw.clone(),
        )
    };
    st.values_fetched.insert((upn, msg_id));
    (
        [(header::CONTENT_TYPE, st.sw.value_content_type.clone())],
        raw,
    )
        .into_response()
}

pub(crate) fn attachments(st: &State, ctx: &Ctx, mb: usize, id: &str) -> Response {
    let Some(idx) = st.message_index(mb, id) else {
        return not_found(ctx);
    };
    let raw = &st.mailboxes[mb].messages[idx].raw;
    let value: Vec<Value> = MessageParser::default()
        .parse(raw.as_ref())
        .map(|msg| {
            msg.attachments()
                .enumerate()
                .map(|(n, part)| {
                    let ct = part
                        .content_type()
                        .map_or_else(|| "application/octet-stream".to_owned(), |c| {
                            format!("{}/{}", c.ctype(), c.subtype().unwrap_or("octet-stream"))
                        });
                    json!({
                        "@odata.type": "#microsoft.graph.fileAttachment",
                        "id": format!("AAMkATT{idx:04X}{n:04X}"),
                        "name": part.attachment_name().unwrap_or("attachment"),
                        "contentType": ct,
                        "size": part.contents().len(),
                        "isInline": part.content_disposition().is_some_and(|d| d.ctype() == "inline"),
                        "contentId": part.content_id(),
                        "contentBytes": Base64::encode_string(part.contents()),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    axum::Json(json!({"value": value})).into_response()
}

fn not_found(ctx: &Ctx) -> Response {
    error(
        ctx,
        StatusCode::NOT_FOUND,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
    )
}
