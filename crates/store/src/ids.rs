//! Typed ids for the store's own records (mailboxes, messages, assessments,
//! cases, bank accounts, mail credentials). `OrgId`, `UserId` and
//! `SupplierId` come from `sentra-domain`.

use std::fmt;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps an existing UUID.
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }
            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A connected mailbox.
    MailboxId
);
id_type!(
    /// One stored email.
    MessageId
);
id_type!(
    /// The engine's verdict on one message at one engine version.
    AssessmentId
);
id_type!(
    /// A fraud case opened for one message.
    CaseId
);
id_type!(
    /// One recorded call-back (or other check) on a case.
    VerificationId
);
id_type!(
    /// One bank account of a supplier.
    BankAccountId
);
id_type!(
    /// The stored (encrypted) credential of one mailbox.
    MailCredentialId
);
id_type!(
    /// An alert channel (email, Slack or Teams) of an organisation.
    AlertChannelId
);
id_type!(
    /// One alert: one case told to one channel.
    AlertId
);
