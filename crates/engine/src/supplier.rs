//! Verified supplier records and the organisation's people, as plain data, with
//! the lookups supplier matching needs, and the contract's supplier CSV format.

use crate::EngineError;
use crate::domains::registrable_domain;
use sentra_domain::EmailAddress;
use sentra_domain::bank::{
    AbaRouting, AccountNumber, BankAccount, Bic, Bsb, Iban, UkAccountNumber,
};
use std::collections::HashMap;

/// One verified supplier.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Supplier {
    /// Name exactly as the organisation records it.
    pub name: String,
    /// Mail domains, lower-case.
    pub domains: Vec<String>,
    /// Known contact addresses.
    pub emails: Vec<EmailAddress>,
    /// Verified call-back number.
    pub phone: Option<String>,
    /// ISO 3166-1 alpha-2 country, upper-case.
    pub country: Option<String>,
    /// Verified bank accounts.
    pub accounts: Vec<BankAccount>,
    /// Name(s) on the accounts.
    pub account_names: Vec<String>,
}

/// A person at the organisation whose name fraudsters borrow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executive {
    /// Display name (`Jane Smith`).
    pub name: String,
    /// Their real address.
    pub address: EmailAddress,
}

impl Executive {
    /// Parses `Name <addr>;Name <addr>` (the `--executives` option).
    pub fn parse_list(s: &str) -> Result<Vec<Executive>, EngineError> {
        s.split(';')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|entry| {
                let (open, close) = (entry.rfind('<'), entry.rfind('>'));
                let (Some(open), Some(close)) = (open, close) else {
                    return Err(EngineError::Executives(format!(
                        "{entry:?} is not of the form 'Name <address>'"
                    )));
                };
                let name = entry
                    .get(..open)
                    .unwrap_or_default()
                    .trim()
                    .trim_matches('"')
                    .to_owned();
                let address = EmailAddress::parse(entry.get(open + 1..close).unwrap_or_default())
                    .map_err(|_| {
                    EngineError::Executives(format!("{entry:?} has an invalid address"))
                })?;
                if name.is_empty() {
                    return Err(EngineError::Executives(format!("{entry:?} has no name")));
                }
                Ok(Executive { name, address })
            })
            .collect()
    }
}

/// Index into [`SupplierDirectory::suppliers`].
pub type SupplierIdx = usize;

/// The organisation's verified suppliers with lookup indexes.
#[derive(Debug, Clone, Default)]
pub struct SupplierDirectory {
    suppliers: Vec<Supplier>,
    by_domain: HashMap<String, SupplierIdx>,
    by_email: HashMap<String, SupplierIdx>,
    by_account: HashMap<String, Vec<SupplierIdx>>,
    /// Normalised name keys (`apex scaffolding`) for display-name and content matching.
    name_keys: Vec<(String, SupplierIdx)>,
}

impl SupplierDirectory {
    /// Builds the directory and its indexes.
    pub fn new(suppliers: Vec<Supplier>) -> Self {
        let mut dir = Self {
            suppliers,
            ..Self::default()
        };
        for (i, s) in dir.suppliers.iter().enumerate() {
            for d in &s.domains {
                dir.by_domain
                    .entry(registrable_domain(d).unwrap_or_else(|| d.clone()))
                    .or_insert(i);
            }
            for e in &s.emails {
                dir.by_email.entry(e.normalised()).or_insert(i);
                if let Some(reg) = registrable_domain(e.domain()) {
                    dir.by_domain.entry(reg).or_insert(i);
                }
            }
            for a in &s.accounts {
                let list = dir.by_account.entry(a.canonical_key()).or_default();
                if !list.contains(&i) {
                    list.push(i);
                }
            }
            let key = name_key(&s.name);
            if key.len() >= 3 {
                dir.name_keys.push((key, i));
            }
        }
        // Longest names first, so "Apex Scaffolding Hire" wins over "Apex".
        dir.name_keys
            .sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
        dir
    }

    /// All suppliers.
    pub fn suppliers(&self) -> &[Supplier] {
        &self.suppliers
    }

    /// The supplier at `idx`.
    pub fn get(&self, idx: SupplierIdx) -> Option<&Supplier> {
        self.suppliers.get(idx)
    }

    /// Number of suppliers.
    pub fn len(&self) -> usize {
        self.suppliers.len()
    }

    /// Whether there are no suppliers.
    pub fn is_empty(&self) -> bool {
        self.suppliers.is_empty()
    }

    /// Every registrable domain of every supplier, with its owner.
    pub fn domains(&self) -> impl Iterator<Item = (&str, SupplierIdx)> {
        self.by_domain.iter().map(|(d, i)| (d.as_str(), *i))
    }

    /// The supplier with this exact contact address.
    pub fn by_email(&self, address: &EmailAddress) -> Option<SupplierIdx> {
        self.by_email.get(&address.normalised()).copied()
    }

    /// The supplier owning this registrable domain.
    pub fn by_domain(&self, registrable: &str) -> Option<SupplierIdx> {
        self.by_domain.get(registrable).copied()
    }

    /// Suppliers for whom this account is verified.
    pub fn by_account(&self, account: &BankAccount) -> &[SupplierIdx] {
        self.by_account
            .get(&account.canonical_key())
            .map_or(&[], Vec::as_slice)
    }

    /// The supplier whose name a display name claims (`"Apex Scaffolding Accounts"`).
    pub fn by_display_name(&self, display: &str) -> Option<SupplierIdx> {
        let key = name_key(display);
        if key.len() < 3 {
            return None;
        }
        let padded = format!(" {key} ");
        self.name_keys
            .iter()
            .find(|(k, _)| k.len() >= 4 && padded.contains(&format!(" {k} ")))
            .map(|(_, i)| *i)
    }

    /// The first supplier named in a text (subject or body), by whole words.
    pub fn named_in(&self, text_key: &str) -> Option<SupplierIdx> {
        self.name_keys
            .iter()
            .find(|(k, _)| k.len() >= 5 && k.contains(' ') && contains_words(text_key, k))
            .map(|(_, i)| *i)
    }

    /// Parses the contract's supplier CSV. Suppliers appearing on several rows
    /// (one per account) are merged by `name`. Errors name the row.
    pub fn from_csv(data: &[u8]) -> Result<Self, EngineError> {
        let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(data);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| EngineError::SupplierCsv(format!("cannot read header row: {e}")))?
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        let col = |name: &str| headers.iter().position(|h| h == name);
        let name_col = col("name").ok_or_else(|| {
            EngineError::SupplierCsv("the header row has no 'name' column".to_owned())
        })?;
        let cols = CsvCols {
            domains: col("domains"),
            emails: col("emails"),
            phone: col("phone"),
            country: col("country"),
            sort_code: col("sort_code"),
            account_number: col("account_number"),
            bsb: col("bsb"),
            routing_number: col("routing_number"),
            iban: col("iban"),
            bic: col("bic"),
            account_name: col("account_name"),
        };
        let mut suppliers: Vec<Supplier> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for (i, record) in reader.records().enumerate() {
            let row = i + 2;
            let record = record.map_err(|e| EngineError::SupplierCsv(format!("row {row}: {e}")))?;
            let field = |c: Option<usize>| {
                c.and_then(|c| record.get(c))
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
            };
            let Some(name) = field(Some(name_col)) else {
                if record.iter().all(|f| f.trim().is_empty()) {
                    continue;
                }
                return Err(EngineError::SupplierCsv(format!(
                    "row {row}: 'name' is empty"
                )));
            };
            let idx = *index.entry(name.to_owned()).or_insert_with(|| {
                suppliers.push(Supplier {
                    name: name.to_owned(),
                    ..Supplier::default()
                });
                suppliers.len() - 1
            });
            let Some(s) = suppliers.get_mut(idx) else {
                continue;
            };
            for d in field(cols.domains)
                .unwrap_or_default()
                .split(';')
                .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
                .filter(|d| !d.is_empty())
            {
                if !d.contains('.') {
                    return Err(EngineError::SupplierCsv(format!(
                        "row {row}: domain {d:?} is not a domain name"
                    )));
                }
                if !s.domains.contains(&d) {
                    s.domains.push(d);
                }
            }
            for e in field(cols.emails)
                .unwrap_or_default()
                .split(';')
                .map(str::trim)
                .filter(|e| !e.is_empty())
            {
                let e = EmailAddress::parse(e).map_err(|_| {
                    EngineError::SupplierCsv(format!(
                        "row {row}: email {e:?} is not a valid address"
                    ))
                })?;
                if !s.emails.contains(&e) {
                    s.emails.push(e);
                }
            }
            if let Some(p) = field(cols.phone) {
                s.phone.get_or_insert_with(|| p.to_owned());
            }
            if let Some(c) = field(cols.country) {
                if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_alphabetic()) {
                    return Err(EngineError::SupplierCsv(format!(
                        "row {row}: country {c:?} is not an ISO 3166 two-letter code"
                    )));
                }
                s.country.get_or_insert_with(|| c.to_ascii_uppercase());
            }
            if let Some(n) = field(cols.account_name)
                && !s.account_names.iter().any(|x| x == n)
            {
                s.account_names.push(n.to_owned());
            }
            if let Some(account) = csv_account(&cols, &field)
                .map_err(|why| EngineError::SupplierCsv(format!("row {row}: {why}")))?
                && !s.accounts.iter().any(|a| a.same_account(&account))
            {
                s.accounts.push(account);
            }
        }
        Ok(Self::new(suppliers))
    }
}

struct CsvCols {
    domains: Option<usize>,
    emails: Option<usize>,
    phone: Option<usize>,
    country: Option<usize>,
    sort_code: Option<usize>,
    account_number: Option<usize>,
    bsb: Option<usize>,
    routing_number: Option<usize>,
    iban: Option<usize>,
    bic: Option<usize>,
    account_name: Option<usize>,
}

/// The account on one CSV row, if any. Messages never include the number.
fn csv_account<'a>(
    cols: &CsvCols,
    field: &impl Fn(Option<usize>) -> Option<&'a str>,
) -> Result<Option<BankAccount>, String> {
    if let Some(iban) = field(cols.iban) {
        let iban = Iban::parse(iban).map_err(|e| format!("iban: {e}"))?;
        let bic = field(cols.bic)
            .map(Bic::parse)
            .transpose()
            .map_err(|e| format!("bic: {e}"))?;
        return Ok(Some(BankAccount::Iban { iban, bic }));
    }
    let number = field(cols.account_number);
    if let Some(sort_code) = field(cols.sort_code) {
        let number = number.ok_or("sort_code given without account_number")?;
        let (sort_code, account) =
            UkAccountNumber::standardise(sort_code, number).map_err(|e| e.to_string())?;
        return Ok(Some(BankAccount::Uk { sort_code, account }));
    }
    if let Some(bsb) = field(cols.bsb) {
        let number = number.ok_or("bsb given without account_number")?;
        return Ok(Some(BankAccount::Au {
            bsb: Bsb::parse(bsb).map_err(|e| e.to_string())?,
            account: AccountNumber::parse(number).map_err(|e| e.to_string())?,
        }));
    }
    if let Some(routing) = field(cols.routing_number) {
        let number = number.ok_or("routing_number given without account_number")?;
        return Ok(Some(BankAccount::Us {
            routing: AbaRouting::parse(routing).map_err(|e| e.to_string())?,
            account: AccountNumber::parse(number).map_err(|e| e.to_string())?,
        }));
    }
    if number.is_some() {
        return Err(
            "account_number given without sort_code, bsb, routing_number or iban".to_owned(),
        );
    }
    Ok(None)
}

/// Words that say nothing about who a business is.
const NAME_NOISE: &[&str] = &[
    "ltd", "limited", "plc", "llp", "llc", "inc", "pty", "co", "the", "and", "group", "uk",
    "accounts", "account", "team", "finance", "billing", "invoices", "invoice", "payments",
    "admin", "office", "via",
];

/// Lower-case alphanumeric words without legal-form noise, space-joined:
/// `"Apex Scaffolding Ltd."` → `"apex scaffolding"`.
pub fn name_key(name: &str) -> String {
    let lower = name.to_lowercase();
    lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !NAME_NOISE.contains(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `hay` (a name key) contains `needle` (a name key) at word boundaries.
fn contains_words(hay: &str, needle: &str) -> bool {
    hay.match_indices(needle).any(|(i, _)| {
        let before_ok = i == 0 || hay.as_bytes().get(i - 1) == Some(&b' ');
        let end = i + needle.len();
        let after_ok = end == hay.len() || hay.as_bytes().get(end) == Some(&b' ');
        before_ok && after_ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "\u{feff}Name,Domains,Emails,Phone,Country,Sort_Code,Account_Number,IBAN,BIC,Account_Name,Notes\n\
        Apex Scaffolding Ltd,apexscaffolding.co.uk,accounts@apexscaffolding.co.uk,+44 20 7946 0000,GB,08-99-99,66374958,,,Apex Scaffolding Ltd,x\n\
        Apex Scaffolding Ltd,,,,,,,GB29 NWBK 6016 1331 9268 19,NWBKGB2L,,\n\
        Northbuild GmbH,northbuild.de,,,de,,,DE89 3704 0044 0532 0130 00,,,\n";

    #[test]
    fn csv_merges_rows_by_name_and_indexes_accounts() {
        let dir = SupplierDirectory::from_csv(CSV.as_bytes()).unwrap();
        assert_eq!(dir.len(), 2);
        let apex = dir.get(0).unwrap();
        assert_eq!(apex.accounts.len(), 2);
        assert_eq!(apex.country.as_deref(), Some("GB"));
        assert_eq!(dir.by_domain("apexscaffolding.co.uk"), Some(0));
        assert_eq!(dir.get(1).unwrap().country.as_deref(), Some("DE"));
        let acct = apex.accounts[0].clone();
        assert_eq!(dir.by_account(&acct), &[0]);
    }

    #[test]
    fn csv_errors_name_the_row_and_never_the_number() {
        let bad = "name,sort_code,account_number\nApex,08-99-99,12\n";
        let err = SupplierDirectory::from_csv(bad.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("row 2"), "{err}");
        let err = SupplierDirectory::from_csv(b"domains\nx.com\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("'name'"), "{err}");
        let err = SupplierDirectory::from_csv(b"name,iban\nX,GB00NWBK60161331926819\n")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("60161331926819"), "{err}");
    }

    #[test]
    fn display_names_and_content_find_suppliers_by_whole_words() {
        let dir = SupplierDirectory::from_csv(CSV.as_bytes()).unwrap();
        assert_eq!(dir.by_display_name("Apex Scaffolding Accounts"), Some(0));
        assert_eq!(dir.by_display_name("Apexscaffolding"), None);
        assert_eq!(
            dir.named_in(&name_key("Invoice from Apex Scaffolding for October")),
            Some(0)
        );
        assert_eq!(dir.named_in(&name_key("apex scaffoldingtower")), None);
    }

    #[test]
    fn executives_parse_and_reject_malformed_entries() {
        let e = Executive::parse_list(
            "Jane Smith <jane@builder.co.uk>; \"Tom Jones\" <tom@builder.co.uk>",
        )
        .unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].name, "Tom Jones");
        assert!(Executive::parse_list("Jane Smith jane@builder.co.uk").is_err());
        assert!(Executive::parse_list("<jane@builder.co.uk>").is_err());
    }
}
