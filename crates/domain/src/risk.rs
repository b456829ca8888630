//! Risk levels, signal codes and message categories: the public vocabulary of the
//! engine contract (`sentra scan` JSON and the API use these spellings exactly).

use serde::{Deserialize, Serialize};
use std::fmt;

/// How dangerous a message is. Ordered: `None < Low < Medium < High < Critical`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum RiskLevel {
    /// Not payment-related and nothing unusual.
    #[default]
    None,
    /// Payment-related with nothing unusual.
    Low,
    /// Something a person should look at before paying.
    Medium,
    /// Likely fraud, or a change that must be verified by phone.
    High,
    /// Do not pay: the strongest fraud indicators.
    Critical,
}

impl RiskLevel {
    /// Every level, lowest first.
    pub const ALL: [RiskLevel; 5] = [
        Self::None,
        Self::Low,
        Self::Medium,
        Self::High,
        Self::Critical,
    ];

    /// The contract spelling (`"none"`, `"low"`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// Parses the contract spelling, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl fmt::Display for RiskLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $s:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// Every value, in contract order.
            pub const ALL: &'static [$name] = &[$(Self::$variant,)*];

            /// The contract spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $s,)*
                }
            }

            /// Parses the contract spelling.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// What kind of message it is, as far as paying someone is concerned.
    Category {
        /// A bill to pay.
        Invoice => "invoice",
        /// A request to pay that is not an invoice (chaser, "please transfer", pro-forma).
        PaymentRequest => "payment_request",
        /// A notice that bank details have changed.
        BankDetailsChange => "bank_details_change",
        /// Notice that a payment was made.
        Remittance => "remittance",
        /// A statement of account.
        Statement => "statement",
        /// A quote, estimate or purchase order.
        QuoteOrOrder => "quote_or_order",
        /// Anything else.
        NotPaymentRelated => "not_payment_related",
        /// The bytes could not be read as an email.
        Unparseable => "unparseable",
    }
);

impl Category {
    /// Whether messages of this category are about paying someone.
    pub const fn is_payment_related(self) -> bool {
        !matches!(self, Self::NotPaymentRelated | Self::Unparseable)
    }
}

string_enum!(
    /// Why a message was flagged. The spellings are the public contract.
    SignalCode {
        /// An account in the message differs from every verified account of the supplier.
        BankDetailsMismatch => "bank_details_mismatch",
        /// An account appears and there is no verified account to compare it with.
        BankDetailsUnverified => "bank_details_unverified",
        /// The message asks to change, update or use new bank details.
        BankDetailsChangeRequest => "bank_details_change_request",
        /// An account fails its checksum.
        BankAccountInvalid => "bank_account_invalid",
        /// The account's country differs from the supplier's country.
        BankAccountCountryMismatch => "bank_account_country_mismatch",
        /// An attachment's bank details differ from the body's.
        AttachmentBankDetailsDiffer => "attachment_bank_details_differ",
        /// A domain imitates a supplier's or the organisation's own.
        LookalikeDomain => "lookalike_domain",
        /// The display name claims a supplier or person whose address it is not.
        DisplayNameImpersonation => "display_name_impersonation",
        /// The display name matches one of the organisation's executives from another address.
        ExecutiveImpersonation => "executive_impersonation",
        /// Replies would go to a different organisation than the sender.
        ReplyToMismatch => "reply_to_mismatch",
        /// The receiving server reports an SPF, DKIM, DMARC or compauth failure.
        AuthenticationFailure => "authentication_failure",
        /// Payment content from a free mail provider.
        FreemailSender => "freemail_sender",
        /// First message seen from this sender domain.
        FirstContact => "first_contact",
        /// Urgency, secrecy or pressure language.
        UrgencyPressure => "urgency_pressure",
        /// A reply into a known thread from a new or lookalike party, or a fake reply.
        ThreadHijack => "thread_hijack",
        /// An amount far outside the supplier's history.
        AmountAnomaly => "amount_anomaly",
        /// An invoice number already seen for the supplier with a different amount or date.
        DuplicateInvoice => "duplicate_invoice",
        /// A dangerous attachment.
        RiskyAttachment => "risky_attachment",
        /// The message could not be parsed as email.
        Unparseable => "unparseable",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risk_levels_are_ordered_and_round_trip_through_json() {
        assert!(RiskLevel::None < RiskLevel::Low && RiskLevel::High < RiskLevel::Critical);
        for level in RiskLevel::ALL {
            let json = serde_json::to_string(&level).unwrap();
            assert_eq!(json, format!("\"{}\"", level.as_str()));
            assert_eq!(RiskLevel::parse(level.as_str()), Some(level));
        }
    }

    #[test]
    fn signal_codes_serialise_as_contract_spellings() {
        assert_eq!(SignalCode::ALL.len(), 19);
        for code in SignalCode::ALL {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
        assert_eq!(
            Category::parse("quote_or_order"),
            Some(Category::QuoteOrOrder)
        );
    }
}
