//! The engine's view of one organisation, loaded from the store: active
//! suppliers with their verified bank accounts, and the organisation's own
//! domains (its members' address domains, minus free mail).

use sentra_domain::SupplierId;
use sentra_engine::{Context, Supplier, SupplierDirectory};
use sentra_store::crypto::Keyring;
use sentra_store::repo::supplier::SupplierStatus;
use sentra_store::repo::{bank_account, organisation, supplier};
use sentra_store::{StoreError, TenantTx};
use std::collections::HashMap;

/// Free-mail domains never taken as the organisation's own: a member signed
/// up with a personal address says nothing about the company's domain.
const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.co.uk",
    "live.com",
    "yahoo.com",
    "yahoo.co.uk",
    "icloud.com",
    "me.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
];

/// What the engine needs from the store, as plain data (no transaction is
/// held while the engine runs on it).
#[derive(Debug, Clone, Default)]
pub struct ContextInputs {
    /// Active suppliers with their verified accounts.
    pub suppliers: Vec<Supplier>,
    /// The organisation's own domains.
    pub org_domains: Vec<String>,
}

impl ContextInputs {
    /// Builds the engine's context.
    pub fn into_context(
        self,
        modulus: Option<std::sync::Arc<sentra_domain::bank::ModulusTables>>,
    ) -> Context {
        Context::new(
            SupplierDirectory::new(self.suppliers),
            &self.org_domains,
            Vec::new(),
            modulus,
        )
    }
}

/// Loads the organisation's context inputs in `tx`.
pub async fn load(tx: &mut TenantTx, keys: &Keyring) -> Result<ContextInputs, StoreError> {
    let mut accounts: HashMap<SupplierId, Vec<_>> = HashMap::new();
    for (supplier, account) in bank_account::reveal_active(tx, keys).await? {
        accounts.entry(supplier).or_default().push(account);
    }
    let suppliers = supplier::list(tx)
        .await?
        .into_iter()
        .filter(|s| s.fields.status == SupplierStatus::Active)
        .map(|s| Supplier {
            accounts: accounts.remove(&s.id).unwrap_or_default(),
            name: s.fields.name,
            domains: s.fields.domains,
            phone: s.verified_phone,
            country: s.fields.country,
            ..Supplier::default()
        })
        .collect();
    let org_domains = org_domains(organisation::member_email_domains(tx).await?);
    Ok(ContextInputs {
        suppliers,
        org_domains,
    })
}

/// The organisation's own domains from its members' address domains:
/// free-mail domains and blanks dropped.
pub fn org_domains(member_domains: Vec<String>) -> Vec<String> {
    member_domains
        .into_iter()
        .filter(|d| !d.is_empty() && !FREE_MAIL.contains(&d.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_mail_domains_are_never_the_organisations_own() {
        let got = org_domains(vec![
            "hartleybuild.co.uk".to_owned(),
            "gmail.com".to_owned(),
            String::new(),
            "outlook.com".to_owned(),
        ]);
        assert_eq!(got, ["hartleybuild.co.uk"]);
    }
}
