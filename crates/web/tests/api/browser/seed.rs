//! What the browser journeys start from: Hartley Build with its people,
//! suppliers (verified numbers and accounts) and a few analysed emails, and
//! an approver's session that needs a step-up.

use crate::messages::{seed_apex, submit};
use crate::suppliers::age_mfa;
use crate::{PASSWORD, Seeded, TestApp};
use reqwest::StatusCode;
use sentra_domain::bank::{BankAccount, SortCode, UkAccountNumber};
use sentra_domain::{Role, SupplierId};
use sentra_store::repo::bank_account::{self, AccountStatus};
use sentra_store::repo::supplier::{self, SupplierFields, SupplierStatus};
use sentra_testkit::emails::LEGIT_INVOICE;
use sentra_web::totp;

/// Apex's verified call-back number, as on its signed contract.
pub(crate) const APEX_PHONE: &str = "+44 20 7946 0321";

/// An urgent invoice from a lookalike of Brightwell's domain, with a new
/// account: stays an open case, for the dashboard and the screenshots.
const BRIGHTWELL_LOOKALIKE: &str =
    "From: Brightwell Electrical <accounts@brightwell-electricals.co.uk>\r
To: Accounts <accounts@hartleybuild.co.uk>\r
Subject: URGENT: overdue invoice BWE-20417 - pay today\r
Date: Thu, 26 Nov 2026 16:42:10 +0000\r
Message-ID: <bwe20417.reminder@brightwell-electricals.co.uk>\r
MIME-Version: 1.0\r
Content-Type: text/plain; charset=utf-8\r
\r
Hello,\r
\r
Invoice BWE-20417 for the rewiring at Canal Street (GBP 12,480.00) is now\r
overdue. Our bank has changed following an audit: please pay today to\r
\r
Sort code: 20-00-00\r
Account number: 55779911\r
\r
and reply with the remittance. Do not use the old account.\r
\r
Regards,\r
Accounts, Brightwell Electrical\r
";

/// What the journeys start from.
pub(crate) struct Seed {
    /// The owner (TOTP enrolled, never signed in yet).
    pub owner: Seeded,
    /// The approver.
    pub approver: Seeded,
    /// Apex Scaffolding Ltd.
    pub apex: SupplierId,
    /// The approver's session cookie, second factor aged.
    pub approver_cookie: String,
}

/// A supplier of `who.org` with its active account and verified number.
async fn seed_supplier(
    app: &TestApp,
    who: &Seeded,
    fields: SupplierFields,
    account: Option<(&str, &str)>,
    phone: &str,
) -> SupplierId {
    let mut tx = app.tx(who.org).await;
    let id = supplier::create(&mut tx, &fields).await.expect("supplier");
    if let Some((sort_code, number)) = account {
        let account = BankAccount::Uk {
            sort_code: SortCode::parse(sort_code).expect("sort code"),
            account: UkAccountNumber::parse(number).expect("account"),
        };
        bank_account::add(
            &mut tx,
            &app.keys,
            id,
            &account,
            AccountStatus::Active,
            Some(who.user),
        )
        .await
        .expect("account");
    }
    supplier::provision_verified_phone(
        &mut tx,
        id,
        phone,
        "phoned the number on the signed contract",
        who.user,
    )
    .await
    .expect("phone");
    tx.commit().await.expect("commit");
    id
}

/// Hartley Build: an owner, an approver and a clerk; Apex (and two more
/// suppliers) on file; a genuine invoice and an open lookalike case.
pub(crate) async fn seed(app: &TestApp) -> Seed {
    let owner = app
        .seed_owner_of("owner@hartleybuild.co.uk", "Hartley Build Ltd")
        .await;
    seed_apex(app, &owner).await;
    let mut tx = app.tx(owner.org).await;
    let apex = supplier::find_by_name(&mut tx, "Apex Scaffolding Ltd")
        .await
        .expect("find")
        .expect("apex")
        .id;
    supplier::provision_verified_phone(
        &mut tx,
        apex,
        APEX_PHONE,
        "phoned the number on the signed contract",
        owner.user,
    )
    .await
    .expect("phone");
    tx.commit().await.expect("commit");
    for (name, domain, account, phone) in [
        (
            "Brightwell Electrical Ltd",
            "brightwellelectrical.co.uk",
            Some(("82-00-00", "73688637")),
            "+44 161 496 0750",
        ),
        (
            "Carter & Sons Timber",
            "cartertimber.co.uk",
            None,
            "+44 1632 960 884",
        ),
    ] {
        let fields = SupplierFields {
            name: name.to_owned(),
            domains: vec![domain.to_owned()],
            country: Some("GB".to_owned()),
            status: SupplierStatus::Active,
        };
        seed_supplier(app, &owner, fields, account, phone).await;
    }
    let approver = app
        .seed_member(
            owner.org,
            "dana.approver@hartleybuild.co.uk",
            Role::Approver,
            true,
        )
        .await;
    let clerk = app
        .seed_member(
            owner.org,
            "sam.clerk@hartleybuild.co.uk",
            Role::Clerk,
            false,
        )
        .await;
    let clerk_cookie = app.sign_in(&clerk).await;
    submit(app, &clerk_cookie, LEGIT_INVOICE).await;
    let open = submit(app, &clerk_cookie, BRIGHTWELL_LOOKALIKE).await;
    assert!(open["case_id"].is_string(), "the lookalike opens a case");
    let approver_cookie = approver_session(app, &approver).await;
    Seed {
        owner,
        approver,
        apex,
        approver_cookie,
    }
}

/// Signs the approver in with the previous step's code (still accepted),
/// leaving the current step for the step-up in the browser, then ages the
/// session's second factor past the step-up window.
async fn approver_session(app: &TestApp, approver: &Seeded) -> String {
    let secret = approver.secret.as_deref().expect("enrolled");
    let (status, _, cookie) = app.login(&approver.email, PASSWORD, None).await;
    assert_eq!(status, StatusCode::OK);
    // The previous step's code is good only until the current step ends:
    // not in its last seconds, then.
    while crate::now() % totp::STEP_SECS >= totp::STEP_SECS - 8 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let previous = totp::code_for_step(secret, totp::step_at(crate::now()) - 1);
    let (status, cookie) = app.mfa(&cookie.expect("cookie"), &previous).await;
    assert_eq!(status, StatusCode::OK);
    age_mfa(app, approver.user, 600).await;
    cookie.expect("rotated cookie")
}
