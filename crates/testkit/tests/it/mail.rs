//! Mail endpoints: folder, message projection, `$value` bytes, ids.

use super::{Setup, eml, error_code};
use sentra_testkit::NewMessage;
use serde_json::Value;

#[tokio::test]
async fn value_returns_the_exact_bytes_even_when_large_or_not_utf8() {
    let t = Setup::new().await;
    let mut odd = eml(1);
    odd.extend_from_slice(&[0xff, 0xfe, 0x00, b'\r', b'\n']);
    let mut large = eml(2);
    large.extend(std::iter::repeat_n(b'A', 11 * 1024 * 1024));
    for raw in [odd, large] {
        let id = t
            .fake
            .add_message(&t.s.monitored.upn, NewMessage::new(raw.clone()))
            .unwrap();
        let resp = t.get(&format!("{}/messages/{id}/$value", t.mon())).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "text/plain");
        assert_eq!(resp.bytes().await.unwrap().as_ref(), raw.as_slice());
    }
    assert_eq!(t.fake.report().values_fetched.len(), 2);
}

#[tokio::test]
async fn message_json_is_projected_from_the_mime() {
    let t = Setup::new().await;
    let id = t
        .fake
        .add_message(&t.s.monitored.upn, NewMessage::new(eml(7)))
        .unwrap();
    let m: Value = t
        .get(&format!("{}/messages/{id}", t.mon()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(m["id"], id.as_str());
    assert_eq!(m["subject"], "Invoice 7");
    assert_eq!(
        m["from"]["emailAddress"]["address"],
        "billing@supplier.example"
    );
    assert_eq!(m["internetMessageId"], "<inv-7@supplier.example>");
    assert_eq!(m["@odata.type"], "#microsoft.graph.message");
    assert!(m["@odata.etag"].as_str().unwrap().starts_with("W/\""));
    assert_eq!(m["parentFolderId"], t.s.monitored.inbox_id.as_str());
    assert!(
        m.get("internetMessageHeaders").is_none(),
        "headers only when selected"
    );
    let sel: Value = t
        .get(&format!(
            "{}/messages/{id}?$select=subject,internetMessageHeaders",
            t.mon()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(sel.get("from").is_none());
    let headers = sel["internetMessageHeaders"].as_array().unwrap();
    assert!(headers.iter().any(|h| h["name"] == "Message-ID"));
}

#[tokio::test]
async fn malformed_mime_is_still_served() {
    let t = Setup::new().await;
    let raw = b"\x00\x01 not mime at all".to_vec();
    let id = t
        .fake
        .add_message(&t.s.monitored.upn, NewMessage::new(raw.clone()))
        .unwrap();
    assert_eq!(
        t.get(&format!("{}/messages/{id}", t.mon())).await.status(),
        200
    );
    let bytes = t
        .get(&format!("{}/messages/{id}/$value", t.mon()))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), raw.as_slice());
}

#[tokio::test]
async fn immutable_ids_survive_a_move_default_ids_do_not() {
    let t = Setup::new().await;
    let id = t
        .fake
        .add_message(&t.s.monitored.upn, NewMessage::new(eml(1)))
        .unwrap();
    let url = format!("{}{}/messages/{id}", t.fake.graph_base(), t.mon());
    let plain: Value = t
        .http
        .get(&url)
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let default_id = plain["id"].as_str().unwrap().to_owned();
    assert_ne!(default_id, id);
    t.fake
        .move_message(&t.s.monitored.upn, &id, "junkemail")
        .unwrap();
    let old = t.get(&format!("{}/messages/{default_id}", t.mon())).await;
    assert_eq!(error_code(old).await.1, "ErrorItemNotFound");
    let resp = t.get(&format!("{}/messages/{id}", t.mon())).await;
    assert_eq!(
        resp.headers()["preference-applied"],
        "IdType=\"ImmutableId\""
    );
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn folders_users_and_unknown_items() {
    let t = Setup::new().await;
    t.fake
        .add_message(&t.s.monitored.upn, NewMessage::new(eml(1)))
        .unwrap();
    t.fake
        .add_message(&t.s.monitored.upn, NewMessage::new(eml(2)).read())
        .unwrap();
    for path in [
        "mailFolders/inbox",
        "mailFolders('inbox')",
        "mailFolders/Inbox",
    ] {
        let f: Value = t
            .get(&format!("{}/{path}", t.mon()))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(f["id"], t.s.monitored.inbox_id.as_str());
        assert_eq!(
            (f["totalItemCount"].as_u64(), f["unreadItemCount"].as_u64()),
            (Some(2), Some(1))
        );
    }
    let by_id = t
        .get(&format!(
            "/users/{}/mailFolders/inbox",
            t.s.monitored.user_id
        ))
        .await;
    assert_eq!(by_id.status(), 200);
    let user = t.get(&t.mon()).await;
    assert_eq!(
        error_code(user).await.0,
        403,
        "GET /users/{{id}} needs User.Read.All"
    );
    let missing = t.get(&format!("{}/messages/AAkALgnothere", t.mon())).await;
    assert_eq!(
        error_code(missing).await,
        (
            404,
            "ErrorItemNotFound".to_owned(),
            "The specified object was not found in the store.".to_owned()
        )
    );
}

#[tokio::test]
async fn attachments_come_from_the_mime() {
    let t = Setup::new().await;
    let raw = b"From: a@supplier.example\r\nSubject: att\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
--XX\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"inv.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n--XX--\r\n"
        .to_vec();
    let id = t
        .fake
        .add_message(&t.s.monitored.upn, NewMessage::new(raw))
        .unwrap();
    let body: Value = t
        .get(&format!("{}/messages/{id}/attachments", t.mon()))
        .await
        .json()
        .await
        .unwrap();
    let a = &body["value"][0];
    assert_eq!(a["name"], "inv.pdf");
    assert_eq!(a["contentType"], "application/pdf");
    assert_eq!(a["contentBytes"], "JVBERi0xLjQ=");
}
