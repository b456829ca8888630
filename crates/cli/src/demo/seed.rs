//! The demo organisation: Hartley Build Ltd, a UK building contractor, with
//! the suppliers its accounts@ mailbox hears from (their verified call-back
//! numbers with where each number came from, and their verified bank
//! accounts), and three people: the owner and the approver with TOTP
//! enrolled (their secrets are printed), and a clerk without MFA so the demo
//! can be explored with a password alone.
//!
//! Everything goes through the store's repositories as the `sentra_app`
//! role, as `sentra admin create-org` does.

use super::state::{Login, random_hex};
use anyhow::Context as _;
use sentra_domain::{EmailAddress, Role, UserId};
use sentra_engine::SupplierDirectory;
use sentra_store::repo::bank_account::{self, AccountStatus};
use sentra_store::repo::supplier::{self, SupplierFields, SupplierStatus};
use sentra_store::repo::{alert, organisation, user};
use sentra_store::{AppPool, TenantTx, crypto, keys};
use sentra_web::{password, totp};

/// The organisation's name.
pub(crate) const ORG_NAME: &str = "Hartley Build Ltd";

/// The verified supplier records, as the corpus was written against them.
const SUPPLIERS_CSV: &[u8] = include_bytes!("../../../engine/tests/fixtures/corpus/suppliers.csv");

/// Where each supplier's verified number came from, in the supplier order
/// of the CSV; a person confirmed each by calling it.
const PHONE_SOURCES: &[&str] = &[
    "Signed credit account application (March 2024); confirmed by call-back",
    "Hire agreement HA-2291 signed on site; confirmed by call-back",
    "Trade account opening pack from the Birmingham branch; confirmed by call-back",
    "Framework contract for the Castlegate steelwork; confirmed by call-back",
    "Purchase order acknowledgement on company letterhead; confirmed by call-back",
    "Signed supply agreement for the modular units; confirmed by call-back",
    "Tool supply contract countersigned by their CFO; confirmed by call-back",
    "Met their depot manager on site; number from their printed price list",
];

/// The people of the demo organisation: (role, name, local part, MFA).
const PEOPLE: &[(Role, &str, &str, bool)] = &[
    (Role::Owner, "Sarah Hartley", "sarah.hartley", true),
    (Role::Approver, "Tom Reed", "tom.reed", true),
    (Role::Clerk, "Priya Shah", "priya.shah", false),
];

/// Creates the organisation, its people and its suppliers; returns the
/// organisation id and the logins.
pub(crate) async fn organisation(
    pool: &AppPool,
    keyring: &crypto::Keyring,
) -> anyhow::Result<(String, Vec<Login>)> {
    let mut logins = Vec::new();
    let mut users: Vec<(UserId, Role)> = Vec::new();
    for (role, name, local, mfa) in PEOPLE {
        let email = format!("{local}@hartleybuild.co.uk");
        let pw = format!("{}-{}", role.as_str(), random_hex(6)?);
        let hash = password::hash(&pw).map_err(|e| anyhow::anyhow!("{e}"))?;
        let address = EmailAddress::parse(&email).map_err(|e| anyhow::anyhow!("{e}"))?;
        let id = user::create(pool, &address, &hash)
            .await
            .with_context(|| format!("creating {email}"))?;
        let totp_secret = if *mfa {
            let secret = totp::generate_secret().context("generating a TOTP secret")?;
            let ctx = keys::USER_TOTP.context(keys::GLOBAL_ORG, id.as_uuid());
            let enc = crypto::encrypt(keyring, &ctx, secret.as_slice())
                .context("encrypting a TOTP secret")?;
            user::set_totp_secret(pool, id, &enc)
                .await
                .context("enrolling TOTP")?;
            Some(totp::base32_encode(secret.as_slice()))
        } else {
            None
        };
        users.push((id, *role));
        logins.push(Login {
            role: role.as_str().to_owned(),
            name: (*name).to_owned(),
            email,
            password: pw,
            totp_secret,
        });
    }
    let owner = users[0].0;
    let org = organisation::create(pool, ORG_NAME, owner)
        .await
        .context("creating the organisation")?;
    let mut tx = TenantTx::begin(pool, org, Some(owner)).await?;
    for (id, role) in &users[1..] {
        organisation::add_member(&mut tx, *id, *role).await?;
    }
    suppliers(&mut tx, keyring, owner).await?;
    // Alerts at high risk and above to the owner and the approver, so the
    // live message shows an alert beside its case. The demo has no mail
    // server: alerts are recorded and queued, not sent.
    alert::create(
        &mut tx,
        keyring,
        &alert::NewChannel {
            kind: alert::ChannelKind::Email,
            name: "Finance team".to_owned(),
            target: String::new(),
            target_hint: None,
            min_risk: sentra_domain::RiskLevel::High,
            digest: false,
            email_roles: vec![Role::Owner, Role::Approver],
        },
    )
    .await
    .context("creating the demo alert channel")?;
    tx.commit().await?;
    Ok((org.to_string(), logins))
}

/// The supplier directory, each with its verified phone and accounts.
async fn suppliers(
    tx: &mut TenantTx,
    keyring: &crypto::Keyring,
    verified_by: UserId,
) -> anyhow::Result<()> {
    let directory = SupplierDirectory::from_csv(SUPPLIERS_CSV).context("the demo suppliers")?;
    for (i, s) in directory.suppliers().iter().enumerate() {
        let id = supplier::create(
            tx,
            &SupplierFields {
                name: s.name.clone(),
                domains: s.domains.clone(),
                country: s.country.clone(),
                status: SupplierStatus::Active,
            },
        )
        .await
        .with_context(|| format!("creating supplier {}", s.name))?;
        if let Some(phone) = &s.phone {
            let source = PHONE_SOURCES.get(i).copied().unwrap_or(PHONE_SOURCES[0]);
            supplier::provision_verified_phone(tx, id, phone, source, verified_by).await?;
        }
        for account in &s.accounts {
            bank_account::add(
                tx,
                keyring,
                id,
                account,
                AccountStatus::Active,
                Some(verified_by),
            )
            .await
            .with_context(|| format!("adding an account for {}", s.name))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supplier_has_a_phone_source() {
        let directory = SupplierDirectory::from_csv(SUPPLIERS_CSV).unwrap();
        assert!(directory.suppliers().len() >= 6);
        assert!(directory.suppliers().len() <= PHONE_SOURCES.len());
        assert!(directory.suppliers().iter().all(|s| s.phone.is_some()));
    }
}
