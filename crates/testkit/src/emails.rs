//! The emails and the supplier the worker's and the web app's tests share:
//! Hartley Build (`hartleybuild.co.uk`) pays Apex Scaffolding Ltd, whose
//! verified account is [`APEX_SORT_CODE`] / [`APEX_ACCOUNT_NUMBER`] at
//! [`APEX_DOMAIN`]. [`LEGIT_INVOICE`] is a genuine invoice paid into that
//! account; [`FRAUD_BANK_CHANGE`] asks, from a lookalike domain (`.co`),
//! that payments go to [`FRAUD_ACCOUNT_NUMBER`] instead — a critical case.
//!
//! The emails only mean what they say when the test's organisation has Apex
//! on file with these exact facts, so the facts live here beside them.

/// Apex's name as the organisation has it on file.
pub const APEX_NAME: &str = "Apex Scaffolding Ltd";
/// Apex's real domain.
pub const APEX_DOMAIN: &str = "apexscaffolding.co.uk";
/// The sort code of Apex's verified account.
pub const APEX_SORT_CODE: &str = "08-99-99";
/// The account number of Apex's verified account.
pub const APEX_ACCOUNT_NUMBER: &str = "66374958";
/// The account [`FRAUD_BANK_CHANGE`] asks payments to go to: nothing Sentra
/// sends (alerts, digests, pages) may show more than its last four digits.
pub const FRAUD_ACCOUNT_NUMBER: &str = "63849203";

/// A genuine invoice from Apex's real domain, paid into its verified account.
pub const LEGIT_INVOICE: &str = "From: Apex Scaffolding Ltd <accounts@apexscaffolding.co.uk>\r
To: Accounts <accounts@hartleybuild.co.uk>\r
Subject: Invoice APX-2026-1152\r
Date: Mon, 02 Nov 2026 09:00:00 +0000\r
Message-ID: <inv1152@apexscaffolding.co.uk>\r
MIME-Version: 1.0\r
Content-Type: text/plain; charset=utf-8\r
\r
Dear Hartley Build,\r
\r
Please find attached our invoice APX-2026-1152 for scaffold hire in October.\r
Amount due: GBP 4,860.00, due by 30 November 2026.\r
\r
Please pay by bank transfer to Apex Scaffolding Ltd,\r
sort code 08-99-99, account number 66374958.\r
\r
Kind regards,\r
Apex Scaffolding Ltd\r
";

/// A bank-change request from a lookalike of Apex's domain (`.co`).
pub const FRAUD_BANK_CHANGE: &str =
    "From: Apex Scaffolding Ltd - Accounts <accounts@apexscaffolding.co>\r
To: Accounts <accounts@hartleybuild.co.uk>\r
Subject: Change of bank details - Apex Scaffolding Ltd\r
Date: Fri, 23 Oct 2026 11:15:40 +0100\r
Message-ID: <20261023101540.5521@apexscaffolding.co>\r
MIME-Version: 1.0\r
Content-Type: text/plain; charset=utf-8\r
\r
Dear Accounts,\r
\r
Please note the change of bank details for Apex Scaffolding Ltd. Our old\r
account is no longer in use. Please update your records and pay invoice\r
APX-2026-1041 and all future payments to:\r
\r
Sort code: 13-40-20\r
Account number: 63849203\r
\r
Regards,\r
Apex Scaffolding Ltd\r
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_emails_carry_the_facts_they_are_named_after() {
        assert!(LEGIT_INVOICE.contains(APEX_DOMAIN) && LEGIT_INVOICE.contains(APEX_NAME));
        assert!(LEGIT_INVOICE.contains(&format!(
            "sort code {APEX_SORT_CODE}, account number {APEX_ACCOUNT_NUMBER}"
        )));
        assert!(FRAUD_BANK_CHANGE.contains(&format!("Account number: {FRAUD_ACCOUNT_NUMBER}")));
        assert!(!FRAUD_BANK_CHANGE.contains(APEX_DOMAIN));
    }
}
