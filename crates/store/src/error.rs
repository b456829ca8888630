//! The one error type of the store: what went wrong talking to Postgres,
//! sorted into the cases callers act on differently.
//!
//! Messages never carry row values: Postgres puts offending values in the
//! error *detail*, which this type does not copy.

use sqlx::error::ErrorKind;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The row does not exist, or belongs to another organisation (the two are
    /// deliberately indistinguishable).
    #[error("{what} not found")]
    NotFound {
        /// What was looked for (`"supplier"`, `"message"`, …).
        what: &'static str,
    },
    /// A reference to another row (composite foreign key) points at nothing
    /// visible to this organisation.
    #[error("referenced row does not exist ({constraint})")]
    InvalidReference {
        /// The violated constraint's name.
        constraint: String,
    },
    /// A unique key already holds this value within the organisation.
    #[error("already exists ({constraint})")]
    Conflict {
        /// The violated constraint's name.
        constraint: String,
    },
    /// A check constraint or not-null rule rejected the values.
    #[error("rejected by the schema ({constraint})")]
    Rejected {
        /// The violated constraint's name, or the SQLSTATE when unnamed.
        constraint: String,
    },
    /// Row-level security or a privilege refused the statement (for example a
    /// write outside the transaction's organisation).
    #[error("refused by row-level security or privileges")]
    Forbidden,
    /// A state change that the record's current state does not allow.
    #[error("{what}: cannot go from {from} to {to}")]
    InvalidTransition {
        /// What kind of record.
        what: &'static str,
        /// Its current state.
        from: String,
        /// The requested state.
        to: String,
    },
    /// A column held a value this code does not understand (schema drift).
    #[error("unexpected value in {what}")]
    Decode {
        /// Which column or value.
        what: &'static str,
    },
    /// Configuration such as a database URL is unusable.
    #[error("configuration: {reason}")]
    Config {
        /// What is wrong, without secrets.
        reason: String,
    },
    /// An organisation's audit chain is broken, so no checkpoint vouches for
    /// it (run `sentra audit verify` for the details).
    #[error("the audit chain of organisation {org} is broken at seq {seq}")]
    AuditChainBroken {
        /// The organisation.
        org: uuid::Uuid,
        /// The first bad sequence number.
        seq: i64,
    },
    /// The job is no longer this worker's: its lease ran out and it was
    /// claimed again, or it was cancelled. Roll back the job's transaction.
    #[error("the job was claimed again or cancelled")]
    JobLost,
    /// A signed audit checkpoint is malformed, or its signature or key is
    /// wrong.
    #[error("audit checkpoint: {reason}")]
    Checkpoint {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An encrypted column could not be encrypted or decrypted: the
    /// ciphertext was moved from another row, column or organisation, was
    /// tampered with, or names a key the keyring does not hold.
    #[error("cannot encrypt or decrypt {what}")]
    Crypto {
        /// Which column (`"supplier_bank_account.ciphertext"`, …).
        what: &'static str,
        /// Why (never carries key material or plaintext).
        #[source]
        source: crate::crypto::CryptoError,
    },
    /// Applying the embedded migrations failed.
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database or connection failure.
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if matches!(e, sqlx::Error::RowNotFound) {
            return Self::NotFound { what: "row" };
        }
        let Some(db) = e.as_database_error() else {
            return Self::Database(e);
        };
        let constraint = || {
            db.constraint()
                .map_or_else(|| db.code().unwrap_or_default().into_owned(), str::to_owned)
        };
        match db.kind() {
            ErrorKind::UniqueViolation => Self::Conflict {
                constraint: constraint(),
            },
            ErrorKind::ForeignKeyViolation => Self::InvalidReference {
                constraint: constraint(),
            },
            ErrorKind::CheckViolation | ErrorKind::NotNullViolation => Self::Rejected {
                constraint: constraint(),
            },
            // 42501: insufficient_privilege, which is also what a WITH CHECK
            // failure ("new row violates row-level security policy") reports.
            _ if db.code().as_deref() == Some("42501") => Self::Forbidden,
            _ => Self::Database(e),
        }
    }
}

impl StoreError {
    /// The SQLSTATE of the underlying database error, if there is one.
    pub fn sqlstate(&self) -> Option<String> {
        match self {
            Self::Database(e) => e
                .as_database_error()
                .and_then(|d| d.code().map(std::borrow::Cow::into_owned)),
            Self::Forbidden => Some("42501".to_owned()),
            _ => None,
        }
    }
}
