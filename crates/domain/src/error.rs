//! The one error type of the domain crate: why a value failed to parse.

/// Why a string is not a valid domain value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DomainError {
    /// The value has the wrong number of characters or digits.
    #[error("{what}: wrong length ({found}, expected {expected})")]
    Length {
        /// What was being parsed.
        what: &'static str,
        /// How many characters were found.
        found: usize,
        /// A description of the accepted lengths.
        expected: &'static str,
    },
    /// The value contains characters not allowed in it.
    #[error("{what}: invalid format")]
    Format {
        /// What was being parsed.
        what: &'static str,
    },
    /// A check digit or checksum does not match.
    #[error("{what}: checksum does not match")]
    Checksum {
        /// What was being parsed.
        what: &'static str,
    },
    /// A component (country code, bank code) is unknown.
    #[error("{what}: unknown {component}")]
    Component {
        /// What was being parsed.
        what: &'static str,
        /// Which component is unknown.
        component: &'static str,
    },
    /// A data table (for example the Vocalink modulus tables) could not be read or parsed.
    #[error("{what}: {reason}")]
    Table {
        /// Which table.
        what: &'static str,
        /// What went wrong, without any account data.
        reason: String,
    },
}
