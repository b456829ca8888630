//! Delta: paging, deltaLink resumption, duplicates, start-date filter, 410.

use super::{Setup, eml, error_code};
use sentra_testkit::NewMessage;
use serde_json::Value;
use std::collections::BTreeSet;
use time::macros::datetime;

/// One delta page fetched with a page-size preference.
async fn page(t: &Setup, url: &str, size: usize) -> Value {
    let url = if url.starts_with("http") {
        url.to_owned()
    } else {
        format!("{}{url}", t.fake.graph_base())
    };
    let resp = t
        .http
        .get(url)
        .bearer_auth(&t.token)
        .header(
            "Prefer",
            format!("IdType=\"ImmutableId\", odata.maxpagesize={size}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["preference-applied"],
        format!("IdType=\"ImmutableId\", odata.maxpagesize={size}")
    );
    resp.json().await.unwrap()
}

/// Follows a round to its deltaLink; returns the items and the deltaLink.
async fn round(t: &Setup, start: &str, size: usize) -> (Vec<Value>, String, usize) {
    let mut url = start.to_owned();
    let mut items = Vec::new();
    let mut pages = 0;
    loop {
        let p = page(t, &url, size).await;
        pages += 1;
        items.extend(p["value"].as_array().unwrap().iter().cloned());
        if let Some(next) = p["@odata.nextLink"].as_str() {
            assert!(p.get("@odata.deltaLink").is_none());
            assert!(
                next.starts_with(&t.fake.graph_base()),
                "absolute link on the fake's base"
            );
            assert!(next.contains("$skiptoken="));
            next.clone_into(&mut url);
        } else {
            let delta = p["@odata.deltaLink"]
                .as_str()
                .expect("last page has a deltaLink");
            assert!(delta.contains("$deltatoken="));
            return (items, delta.to_owned(), pages);
        }
    }
}

fn ids(items: &[Value]) -> BTreeSet<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn pages_then_delta_link_returns_only_changes() {
    let t = Setup::new().await;
    let upn = t.s.monitored.upn.clone();
    let mut seeded = Vec::new();
    for n in 0..25 {
        seeded.push(t.fake.add_message(&upn, NewMessage::new(eml(n))).unwrap());
    }
    let start = format!("{}/mailFolders/inbox/messages/delta", t.mon());
    let (items, delta, pages) = round(&t, &start, 10).await;
    assert_eq!(pages, 3);
    assert_eq!(items.len(), 25);
    assert_eq!(ids(&items), seeded.iter().cloned().collect());

    let new1 = t.fake.add_message(&upn, NewMessage::new(eml(100))).unwrap();
    t.fake.mark_read(&upn, &seeded[0], true).unwrap();
    t.fake.delete_message(&upn, &seeded[1]).unwrap();
    t.fake.move_message(&upn, &seeded[2], "junkemail").unwrap();
    let (changes, delta2, _) = round(&t, &delta, 10).await;
    let removed: BTreeSet<String> = changes
        .iter()
        .filter(|i| i.get("@removed").is_some())
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        removed,
        [seeded[1].clone(), seeded[2].clone()].into_iter().collect()
    );
    let full: Vec<&Value> = changes
        .iter()
        .filter(|i| i.get("@removed").is_none())
        .collect();
    assert_eq!(full.len(), 2);
    assert!(full.iter().any(|i| i["id"] == new1.as_str()));
    assert!(
        full.iter()
            .any(|i| i["id"] == seeded[0].as_str() && i["isRead"] == true)
    );
    // Nothing changed since: an empty round, and the old deltaLink still works.
    let (none, _, _) = round(&t, &delta2, 10).await;
    assert!(none.is_empty());
}

#[tokio::test]
async fn duplicates_appear_across_pages_and_rounds_when_switched_on() {
    let t = Setup::new().await;
    t.fake.set_switches(|s| s.duplicate_rate = 1.0);
    for n in 0..12 {
        t.fake
            .add_message(&t.s.monitored.upn, NewMessage::new(eml(n)))
            .unwrap();
    }
    let (items, delta, _) = round(
        &t,
        &format!("{}/mailFolders/inbox/messages/delta", t.mon()),
        5,
    )
    .await;
    assert!(items.len() > 12, "duplicates across pages");
    assert_eq!(ids(&items).len(), 12);
    let (again, _, _) = round(&t, &delta, 5).await;
    assert_eq!(again.len(), 1, "one item of the last round repeated");
}

#[tokio::test]
async fn start_date_filter_ordering_and_unsupported_options() {
    let t = Setup::new().await;
    let upn = t.s.monitored.upn.clone();
    let old = t
        .fake
        .add_message(
            &upn,
            NewMessage::new(eml(1)).received_at(datetime!(2026-01-01 0:00 UTC)),
        )
        .unwrap();
    let mid = t
        .fake
        .add_message(
            &upn,
            NewMessage::new(eml(2)).received_at(datetime!(2026-06-01 0:00 UTC)),
        )
        .unwrap();
    let new = t
        .fake
        .add_message(
            &upn,
            NewMessage::new(eml(3)).received_at(datetime!(2026-11-01 0:00 UTC)),
        )
        .unwrap();
    let base = format!("{}/mailFolders/inbox/messages/delta", t.mon());
    let (items, _, _) = round(
        &t,
        &format!(
            "{base}?$filter=receivedDateTime ge 2026-06-01T00:00:00Z&$orderby=receivedDateTime desc"
        ),
        10,
    )
    .await;
    let got: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(got, vec![new.as_str(), mid.as_str()]);
    assert!(!got.contains(&old.as_str()));
    let search = t.get(&format!("{base}?$search=invoice")).await;
    assert_eq!(error_code(search).await.0, 400);
    let order = t.get(&format!("{base}?$orderby=subject")).await;
    assert_eq!(error_code(order).await.0, 400);
    let latest = t.get(&format!("{base}?$deltatoken=latest")).await;
    assert_eq!(
        error_code(latest).await.1,
        "SyncStateNotFound",
        "no start-from-now token for mail"
    );
}

#[tokio::test]
async fn expired_tokens_answer_410_sync_state_not_found() {
    let t = Setup::new().await;
    for n in 0..4 {
        t.fake
            .add_message(&t.s.monitored.upn, NewMessage::new(eml(n)))
            .unwrap();
    }
    let start = format!("{}/mailFolders/inbox/messages/delta", t.mon());
    let (_, delta, _) = round(&t, &start, 10).await;
    t.fake.expire_delta_tokens(&t.s.monitored.upn).unwrap();
    let (status, code, message) = error_code(t.get(&delta).await).await;
    assert_eq!((status, code.as_str()), (410, "SyncStateNotFound"));
    assert!(message.starts_with("The sync state generation is not found"));

    // "Expire token N": token 1 was the deltaLink above; token 2 is the
    // nextLink of a fresh round, dead on arrival (expiry mid-round).
    t.fake
        .set_switches(|s| s.expire_delta_token_numbers = vec![2]);
    let first = page(&t, &start, 2).await;
    let next = first["@odata.nextLink"].as_str().unwrap().to_owned();
    let (status, code, _) = error_code(t.get(&next).await).await;
    assert_eq!((status, code.as_str()), (410, "SyncStateNotFound"));
}
