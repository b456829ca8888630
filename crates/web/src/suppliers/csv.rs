//! Supplier CSV files: the Sentra format of the engine contract
//! (`docs/SCAN.md`) and the supplier exports of Xero, `QuickBooks` Online and
//! Sage, each recognised by its column names.
//!
//! Headers are matched after normalisation (lowercase, only letters and
//! digits kept), so `BANK_SORT_CODE`, `Bank Sort Code` and `*ContactName`
//! find their aliases. The aliases per product are in [`Format::columns`];
//! they follow the products' documented import/export layouts (Xero's
//! contacts template, `QuickBooks` Online's vendor list, Sage 50's supplier
//! record CSV and Sage Accounting's contacts file). Stock `QuickBooks` Online
//! exports carry no bank details, and its "Account #" column is the payer's
//! reference at the vendor, not a bank account, so it is deliberately not an
//! alias.
//!
//! Parsing is pure: [`parse`] returns merged supplier candidates and every
//! row's errors (row number as a spreadsheet shows it, the header being row
//! 1; the column as the file spells it). It never fails on the first bad row,
//! so people can fix the whole file at once.

use super::input;
use sentra_domain::bank::BankAccount;

/// Most data rows one import takes (Xero itself asks for files of at most
/// 1,000 contacts).
pub const MAX_ROWS: usize = 2_000;
/// Most row errors reported (the count is always exact).
pub const MAX_REPORTED_ERRORS: usize = 200;

/// Which product's layout a file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The engine contract's supplier CSV.
    Sentra,
    /// Xero contacts export.
    Xero,
    /// `QuickBooks` Online vendor list export.
    QuickBooks,
    /// Sage 50 / Sage Accounting supplier export.
    Sage,
}

/// One field a column can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    Domains,
    Emails,
    Phone,
    Country,
    Website,
    SortCode,
    AccountNumber,
    Bsb,
    RoutingNumber,
    Iban,
    Bic,
    /// Xero's one-field account: sort code and number, or BSB and number.
    CombinedAccount,
}

impl Format {
    /// Parses the query-string spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sentra" => Some(Self::Sentra),
            "xero" => Some(Self::Xero),
            "quickbooks" | "qbo" => Some(Self::QuickBooks),
            "sage" => Some(Self::Sage),
            _ => None,
        }
    }

    /// The query-string spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sentra => "sentra",
            Self::Xero => "xero",
            Self::QuickBooks => "quickbooks",
            Self::Sage => "sage",
        }
    }

    /// The product as people call it.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Sentra => "Sentra supplier CSV",
            Self::Xero => "Xero contacts export",
            Self::QuickBooks => "QuickBooks Online vendor export",
            Self::Sage => "Sage supplier export",
        }
    }

    /// The header the name column has in this format, for error messages.
    const fn name_header(self) -> &'static str {
        match self {
            Self::Sentra => "name",
            Self::Xero => "ContactName",
            Self::QuickBooks => "Vendor",
            Self::Sage => "Name (Sage 50) or Company Name (Sage Accounting)",
        }
    }

    /// Normalised header aliases per field, most specific first.
    fn columns(self) -> &'static [(Field, &'static [&'static str])] {
        use Field::{
            AccountNumber, Bic, Bsb, CombinedAccount, Country, Domains, Emails, Iban, Name, Phone,
            RoutingNumber, SortCode, Website,
        };
        match self {
            Self::Sentra => &[
                (Name, &["name"]),
                (Domains, &["domains"]),
                (Emails, &["emails"]),
                (Phone, &["phone"]),
                (Country, &["country"]),
                (SortCode, &["sortcode"]),
                (AccountNumber, &["accountnumber"]),
                (Bsb, &["bsb"]),
                (RoutingNumber, &["routingnumber"]),
                (Iban, &["iban"]),
                (Bic, &["bic"]),
            ],
            Self::Xero => &[
                (Name, &["contactname"]),
                (Emails, &["emailaddress"]),
                (Phone, &["phonenumber"]),
                (Country, &["pocountry", "sacountry"]),
                (Website, &["website"]),
                (CombinedAccount, &["bankaccountnumber"]),
            ],
            Self::QuickBooks => &[
                (Name, &["vendor", "displayname", "displaynameas", "name"]),
                (Emails, &["email", "primaryemailaddr", "emailaddress"]),
                (
                    Phone,
                    &["phone", "primaryphone", "phonenumbers", "phonenumber"],
                ),
                (
                    Country,
                    &["country", "billingaddresscountry", "addresscountry"],
                ),
                (Website, &["website"]),
                (RoutingNumber, &["routingnumber", "bankroutingnumber"]),
                (AccountNumber, &["bankaccountnumber", "bankaccountno"]),
            ],
            Self::Sage => &[
                (Name, &["name", "companyname"]),
                (Emails, &["email", "maincontactemail", "emailaddress"]),
                (Phone, &["telephone", "maincontactphone", "phone"]),
                (Country, &["countrycode", "mainaddresscountry", "country"]),
                (Website, &["webaddress", "website"]),
                (SortCode, &["sortcode", "banksortcode"]),
                (AccountNumber, &["accountnumber", "bankaccountnumber"]),
                (Iban, &["iban"]),
                (Bic, &["bic", "bicswift", "swift", "bankbic"]),
            ],
        }
    }
}

/// Lowercase letters and digits only: `*ContactName` → `contactname`.
fn normalise(header: &str) -> String {
    header
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// What is wrong with one cell or row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// The spreadsheet row (header = 1).
    pub row: usize,
    /// The column as the file spells it, when one cell is to blame.
    pub column: Option<String>,
    /// What is wrong, without the cell's value when it is a bank number.
    pub message: String,
}

/// One supplier the file describes (rows with the same name merged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The rows it came from.
    pub rows: Vec<usize>,
    /// Its name.
    pub name: String,
    /// Sending domains (explicit, from non-free-mail addresses, websites).
    pub domains: Vec<String>,
    /// The call-back number the export holds.
    pub phone: Option<String>,
    /// ISO country code.
    pub country: Option<String>,
    /// Bank accounts.
    pub accounts: Vec<BankAccount>,
    /// Things ignored on the way, worth showing.
    pub warnings: Vec<String>,
}

/// A parsed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// Data rows read (blank rows skipped).
    pub rows: usize,
    /// The suppliers it describes, in file order.
    pub candidates: Vec<Candidate>,
    /// Row errors, at most [`MAX_REPORTED_ERRORS`].
    pub errors: Vec<RowError>,
    /// How many row errors there were in all.
    pub error_count: usize,
}

/// Why a whole file is refused (before any row is looked at).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// Nothing but whitespace.
    #[error("the file is empty")]
    Empty,
    /// The header row is not CSV.
    #[error("the header row cannot be read as CSV")]
    BadHeader,
    /// The name column of the chosen format is missing.
    #[error("this does not look like a {label}: it has no {header} column")]
    MissingName {
        /// The format's label.
        label: &'static str,
        /// The column expected.
        header: &'static str,
    },
    /// More rows than [`MAX_ROWS`].
    #[error("more than {MAX_ROWS} rows; split the file")]
    TooManyRows,
}

/// The bytes as text: UTF-8 (a BOM is dropped) unless `charset` names
/// another encoding (Sage and Excel often write Windows-1252). Invalid
/// UTF-8 without a charset is refused rather than guessed at.
pub fn decode(bytes: &[u8], charset: Option<&str>) -> Result<String, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let encoding = match charset.map(str::trim).filter(|c| !c.is_empty()) {
        None => encoding_rs::UTF_8,
        Some(label) => encoding_rs::Encoding::for_label(label.as_bytes())
            .ok_or_else(|| format!("unknown charset {label:?}"))?,
    };
    if encoding == encoding_rs::UTF_8 {
        return String::from_utf8(bytes.to_vec()).map_err(|e| {
            format!(
                "the file is not UTF-8 (first bad byte at offset {}); save it as UTF-8 or \
                 send Content-Type: text/csv; charset=windows-1252",
                e.utf8_error().valid_up_to()
            )
        });
    }
    let (text, _, had_errors) = encoding.decode(bytes);
    if had_errors {
        return Err(format!("the file is not valid {}", encoding.name()));
    }
    Ok(text.into_owned())
}

/// Reads `text` as `format`. Row problems are collected, not fatal.
pub fn parse(format: Format, text: &str) -> Result<Parsed, FileError> {
    if text.trim().is_empty() {
        return Err(FileError::Empty);
    }
    let mut reader = ::csv::ReaderBuilder::new()
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|_| FileError::BadHeader)?
        .iter()
        .map(str::to_owned)
        .collect();
    let normalised: Vec<String> = headers.iter().map(|h| normalise(h)).collect();
    let mut cols: Vec<(Field, usize)> = Vec::new();
    for (field, aliases) in format.columns() {
        if let Some(i) = aliases
            .iter()
            .find_map(|a| normalised.iter().position(|h| h == a))
        {
            cols.push((*field, i));
        }
    }
    if !cols.iter().any(|(f, _)| *f == Field::Name) {
        return Err(FileError::MissingName {
            label: format.label(),
            header: format.name_header(),
        });
    }
    let mut out = Parsed {
        rows: 0,
        candidates: Vec::new(),
        errors: Vec::new(),
        error_count: 0,
    };
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        let Ok(record) = record else {
            push_error(
                &mut out,
                row,
                None,
                "the row cannot be read as CSV".to_owned(),
            );
            continue;
        };
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        out.rows += 1;
        if out.rows > MAX_ROWS {
            return Err(FileError::TooManyRows);
        }
        let cells = Cells {
            record: &record,
            cols: &cols,
            headers: &headers,
        };
        let mut errors = Vec::new();
        let row_data = read_row(format, &cells, &mut errors);
        for (column, message) in errors {
            push_error(&mut out, row, column, message);
        }
        if let Some(data) = row_data {
            merge(&mut out.candidates, row, data);
        }
    }
    Ok(out)
}

fn push_error(out: &mut Parsed, row: usize, column: Option<String>, message: String) {
    out.error_count += 1;
    if out.errors.len() < MAX_REPORTED_ERRORS {
        out.errors.push(RowError {
            row,
            column,
            message,
        });
    }
}

struct Cells<'a> {
    record: &'a ::csv::StringRecord,
    cols: &'a [(Field, usize)],
    headers: &'a [String],
}

impl Cells<'_> {
    /// The non-empty value of `field` and its header.
    fn get(&self, field: Field) -> Option<(&str, String)> {
        let (_, i) = self.cols.iter().find(|(f, _)| *f == field)?;
        let v = self.record.get(*i)?.trim();
        (!v.is_empty()).then(|| (v, self.headers.get(*i).cloned().unwrap_or_default()))
    }
}

type Errors = Vec<(Option<String>, String)>;

/// One row's supplier, or `None` when the name is unusable. Cell errors go
/// to `errors`.
fn read_row(format: Format, cells: &Cells<'_>, errors: &mut Errors) -> Option<Candidate> {
    let name = match cells.get(Field::Name) {
        None => {
            let header = cells
                .cols
                .iter()
                .find(|(f, _)| *f == Field::Name)
                .and_then(|(_, i)| cells.headers.get(*i).cloned());
            errors.push((header, "the name is empty".to_owned()));
            None
        }
        Some((v, h)) => match input::name(v) {
            Ok(n) => Some(n),
            Err(e) => {
                errors.push((Some(h), e));
                None
            }
        },
    };
    let mut c = Candidate {
        rows: Vec::new(),
        name: name.clone().unwrap_or_default(),
        domains: Vec::new(),
        phone: None,
        country: None,
        accounts: Vec::new(),
        warnings: Vec::new(),
    };
    let add_domain = |c: &mut Candidate, d: String| {
        if !c.domains.contains(&d) {
            c.domains.push(d);
        }
    };
    if let Some((v, h)) = cells.get(Field::Domains) {
        match input::domains(v.split(';')) {
            Ok(ds) => ds.into_iter().for_each(|d| add_domain(&mut c, d)),
            Err(e) => errors.push((Some(h), e)),
        }
    }
    if let Some((v, h)) = cells.get(Field::Emails) {
        for e in v.split([';', ',']).map(str::trim).filter(|e| !e.is_empty()) {
            match input::email_domain(e) {
                Ok(Some(d)) => add_domain(&mut c, d),
                Ok(None) => c.warnings.push(format!(
                    "{e} is a free-mail address; its domain is not the supplier's"
                )),
                Err(msg) => errors.push((Some(h.clone()), msg)),
            }
        }
    }
    if let Some((v, h)) = cells.get(Field::Website) {
        match input::website_domain(v) {
            Ok(d) => add_domain(&mut c, d),
            Err(_) => c.warnings.push(format!("website {v:?} ignored ({h})")),
        }
    }
    if let Some((v, h)) = cells.get(Field::Phone) {
        match input::phone(v) {
            Ok(p) => c.phone = Some(p),
            Err(e) => errors.push((Some(h), e)),
        }
    }
    if let Some((v, h)) = cells.get(Field::Country) {
        match input::country(v) {
            Ok(code) => c.country = Some(code),
            // The engine contract's column is strict; exports spell countries freely.
            Err(e) if format == Format::Sentra => errors.push((Some(h), e)),
            Err(_) => c
                .warnings
                .push(format!("country {v:?} not recognised, left empty")),
        }
    }
    match account(format, cells, c.country.as_deref()) {
        Ok(Some(a)) => c.accounts.push(a),
        Ok(None) => {}
        Err((column, message)) => errors.push((column, message)),
    }
    name.map(|_| c)
}

/// The row's bank account, if it has one.
fn account(
    format: Format,
    cells: &Cells<'_>,
    country: Option<&str>,
) -> Result<Option<BankAccount>, (Option<String>, String)> {
    if let Some((v, h)) = cells.get(Field::CombinedAccount) {
        return combined(v, country).map(Some).map_err(|e| (Some(h), e));
    }
    if let Some((v, h)) = cells.get(Field::Iban) {
        let bic = cells.get(Field::Bic).map(|(b, _)| b);
        return input::iban(v, bic).map(Some).map_err(|e| (Some(h), e));
    }
    let number = cells.get(Field::AccountNumber);
    let pair = |(v, h): (&str, String), what: &str| {
        let (n, _) = number.clone().ok_or_else(|| {
            (
                Some(h.clone()),
                format!("{what} given without an account number"),
            )
        })?;
        Ok::<_, (Option<String>, String)>((v.to_owned(), n.to_owned(), h))
    };
    if let Some(cell) = cells.get(Field::SortCode) {
        let (sort, n, h) = pair(cell, "sort code")?;
        return input::uk(&sort, &n).map(Some).map_err(|e| (Some(h), e));
    }
    if let Some(cell) = cells.get(Field::Bsb) {
        let (bsb, n, h) = pair(cell, "BSB")?;
        return input::au(&bsb, &n).map(Some).map_err(|e| (Some(h), e));
    }
    if let Some(cell) = cells.get(Field::RoutingNumber) {
        let (routing, n, h) = pair(cell, "routing number")?;
        return input::us(&routing, &n).map(Some).map_err(|e| (Some(h), e));
    }
    if let Some((_, h)) = number {
        let hint = if format == Format::QuickBooks {
            "a bank account number needs a routing number column"
        } else {
            "an account number needs a sort code, BSB, routing number or IBAN"
        };
        return Err((Some(h), hint.to_owned()));
    }
    Ok(None)
}

/// Xero's `BankAccountNumber`: an IBAN, or digits that are a UK sort code
/// and account (14 digits) or, for Australian contacts, BSB and account.
fn combined(v: &str, country: Option<&str>) -> Result<BankAccount, String> {
    let compact: String = v
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '/'))
        .collect();
    if compact
        .get(..2)
        .is_some_and(|p| p.bytes().all(|b| b.is_ascii_alphabetic()))
    {
        return input::iban(&compact, None);
    }
    if !compact.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a bank account number".to_owned());
    }
    let (head, tail) = compact.split_at(compact.len().min(6));
    match (country, compact.len()) {
        (Some("AU"), 11..=15) => input::au(head, tail),
        (Some("NZ"), _) => Err("New Zealand bank accounts are not supported yet".to_owned()),
        (_, 14) => input::uk(head, tail),
        (_, n) => Err(format!(
            "cannot tell the bank scheme of a {n}-digit number: give sort code and account \
             (14 digits) or an IBAN"
        )),
    }
}

/// Adds a row's supplier, merging rows with the same name.
fn merge(candidates: &mut Vec<Candidate>, row: usize, mut data: Candidate) {
    let key = data.name.to_lowercase();
    let Some(existing) = candidates.iter_mut().find(|c| c.name.to_lowercase() == key) else {
        data.rows.push(row);
        candidates.push(data);
        return;
    };
    existing.rows.push(row);
    for d in data.domains {
        if !existing.domains.contains(&d) {
            existing.domains.push(d);
        }
    }
    match (&existing.phone, data.phone) {
        (None, p) => existing.phone = p,
        (Some(a), Some(b)) if *a != b => existing
            .warnings
            .push(format!("row {row}: a second phone number was ignored")),
        _ => {}
    }
    if existing.country.is_none() {
        existing.country = data.country;
    }
    for a in data.accounts {
        if !existing.accounts.iter().any(|x| x.same_account(&a)) {
            existing.accounts.push(a);
        }
    }
    existing.warnings.extend(data.warnings);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_contract_csv_merges_rows_by_name() {
        let text = "\u{feff}Name,Domains,Emails,Phone,Country,Sort_Code,Account_Number,IBAN,BIC\n\
            Apex Ltd,apex.co.uk,accounts@apex.co.uk,+44 20 7946 0321,GB,20-29-59,63748472,,\n\
            apex ltd,apex-scaffolding.co.uk,,,,,,DE89 3704 0044 0532 0130 00,COBADEFFXXX\n";
        let text = decode(text.as_bytes(), None).unwrap_or_default();
        let p = parse(Format::Sentra, &text).unwrap();
        assert_eq!(p.error_count, 0, "{:?}", p.errors);
        assert_eq!(p.candidates.len(), 1);
        let c = &p.candidates[0];
        assert_eq!(c.rows, vec![2, 3]);
        assert_eq!(c.domains, vec!["apex.co.uk", "apex-scaffolding.co.uk"]);
        assert_eq!(c.accounts.len(), 2);
        assert_eq!(c.country.as_deref(), Some("GB"));
    }

    #[test]
    fn every_bad_row_is_reported_with_row_and_column() {
        let text = "ContactName,EmailAddress,BankAccountNumber\n\
            Good Co,a@good.co.uk,20-29-59 63748472\n\
            ,b@x.co.uk,\n\
            Bad Iban,c@bad.co.uk,GB00NWBK60161331926819\n\
            Odd,d@odd.co.uk,12345\n";
        let p = parse(Format::Xero, text).unwrap();
        assert_eq!(p.error_count, 3, "{:?}", p.errors);
        assert_eq!(p.errors[0].row, 3);
        assert_eq!(p.errors[1].row, 4);
        assert_eq!(p.errors[1].column.as_deref(), Some("BankAccountNumber"));
        assert!(p.errors[1].message.contains("checksum"));
        assert!(!format!("{:?}", p.errors).contains("31926819"));
    }

    #[test]
    fn a_file_of_another_product_is_refused_by_its_missing_name_column() {
        let text = "ContactName,EmailAddress\nA,a@a.co.uk\n";
        assert!(matches!(
            parse(Format::Sage, text),
            Err(FileError::MissingName { .. })
        ));
        assert_eq!(parse(Format::Xero, "  \n"), Err(FileError::Empty));
    }

    #[test]
    fn headers_match_after_normalisation() {
        let text = "A/C,Name,Telephone,E-mail,BANK_SORT_CODE,BANK_ACCOUNT_NUMBER,COUNTRY_CODE\n\
            APEX01,Apex Ltd,020 7946 0321,accounts@apex.co.uk,20-29-59,63748472,GB\n";
        let p = parse(Format::Sage, text).unwrap();
        assert_eq!(p.error_count, 0, "{:?}", p.errors);
        assert_eq!(p.candidates[0].accounts.len(), 1);
        assert_eq!(p.candidates[0].phone.as_deref(), Some("020 7946 0321"));
    }

    #[test]
    fn invalid_utf8_is_refused_unless_a_charset_is_given() {
        let bytes = b"Name\nCaf\xe9 Ltd\n";
        assert!(decode(bytes, None).is_err());
        assert_eq!(
            decode(bytes, Some("windows-1252")).as_deref(),
            Ok("Name\nCaf\u{e9} Ltd\n")
        );
        assert!(decode(bytes, Some("klingon")).is_err());
    }

    #[test]
    fn too_many_rows_are_refused() {
        let mut text = String::from("name\n");
        for i in 0..=MAX_ROWS {
            text.push('S');
            text.push_str(&i.to_string());
            text.push('\n');
        }
        assert_eq!(parse(Format::Sentra, &text), Err(FileError::TooManyRows));
    }
}
