//! Raw MIME → the JSON projection Graph serves for a message (`graph-contract.md` §5).
//! Malformed MIME still yields a message (with empty fields): Graph stores
//! whatever arrived, and `$value` returns the original bytes either way.

use mail_parser::{Address, MessageParser};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Fields that are derived from the MIME (ids, folder and read state are
/// added at serve time).
pub(crate) fn project(raw: &[u8], received: OffsetDateTime) -> Map<String, Value> {
    let mut m = Map::new();
    let received_s = rfc3339(received);
    m.insert("receivedDateTime".into(), json!(&received_s));
    m.insert("createdDateTime".into(), json!(&received_s));
    m.insert("importance".into(), json!("normal"));
    m.insert("isDraft".into(), json!(false));
    m.insert("categories".into(), json!([]));
    let Some(msg) = MessageParser::default().parse(raw) else {
        m.insert("subject".into(), Value::Null);
        m.insert("hasAttachments".into(), json!(false));
        m.insert("body".into(), json!({"contentType": "text", "content": ""}));
        m.insert("bodyPreview".into(), json!(""));
        m.insert("internetMessageHeaders".into(), json!([]));
        return m;
    };
    m.insert("subject".into(), json!(msg.subject()));
    m.insert(
        "internetMessageId".into(),
        msg.message_id()
            .map_or(Value::Null, |id| json!(format!("<{id}>"))),
    );
    let sent = msg
        .date()
        .map_or(received_s, mail_parser::DateTime::to_rfc3339);
    m.insert("sentDateTime".into(), json!(sent));
    let from = msg.from().and_then(Address::first).map(recipient);
    m.insert("from".into(), from.clone().unwrap_or(Value::Null));
    m.insert("sender".into(), from.unwrap_or(Value::Null));
    m.insert("toRecipients".into(), recipients(msg.to()));
    m.insert("ccRecipients".into(), recipients(msg.cc()));
    m.insert("replyTo".into(), recipients(msg.reply_to()));
    m.insert("hasAttachments".into(), json!(msg.attachment_count() > 0));
    let (kind, content) = match msg.body_html(0) {
        Some(html) => ("html", html.into_owned()),
        None => (
            "text",
            msg.body_text(0)
                .map(std::borrow::Cow::into_owned)
                .unwrap_or_default(),
        ),
    };
    let preview: String = msg
        .body_text(0)
        .unwrap_or_default()
        .chars()
        .take(255)
        .collect();
    m.insert("bodyPreview".into(), json!(preview.trim()));
    m.insert(
        "body".into(),
        json!({"contentType": kind, "content": content}),
    );
    let headers: Vec<Value> = msg
        .headers()
        .iter()
        .map(|h| {
            let value = raw
                .get(h.offset_start as usize..h.offset_end as usize)
                .map(|v| String::from_utf8_lossy(v).trim().to_owned())
                .unwrap_or_default();
            json!({"name": h.name.as_str(), "value": value})
        })
        .collect();
    m.insert("internetMessageHeaders".into(), Value::Array(headers));
    m
}

fn recipient(a: &mail_parser::Addr<'_>) -> Value {
    json!({"emailAddress": {"name": a.name.as_deref().unwrap_or_default(), "address": a.address.as_deref().unwrap_or_default()}})
}

fn recipients(a: Option<&Address<'_>>) -> Value {
    Value::Array(
        a.map(|a| a.iter().map(recipient).collect())
            .unwrap_or_default(),
    )
}

/// Graph's timestamp shape (`2026-11-08T10:00:00Z`).
pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    let t = t
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}
