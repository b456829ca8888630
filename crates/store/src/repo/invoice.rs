//! Invoices and their payment status: `pending` until someone acts;
//! `verified` (released for payment) after a call-back confirmed it,
//! `held` while in doubt, `paid` once money left. A person moves it
//! between `pending`, `verified` and `held`; `paid` is final.

use crate::ids::MessageId;
use crate::{StoreError, TenantTx};
use time::{Date, OffsetDateTime};

/// An invoice's payment status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    /// Not acted on.
    Pending,
    /// Verified and released for payment.
    Verified,
    /// Held: not to be paid until resolved.
    Held,
    /// Paid.
    Paid,
}

impl PaymentStatus {
    /// Every status.
    pub const ALL: [PaymentStatus; 4] = [Self::Pending, Self::Verified, Self::Held, Self::Paid];

    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Verified => "verified",
            Self::Held => "held",
            Self::Paid => "paid",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A stored invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    /// The id.
    pub id: uuid::Uuid,
    /// The supplier's name, when linked.
    pub supplier_name: Option<String>,
    /// The message it arrived in.
    pub message_id: Option<MessageId>,
    /// The invoice number as written.
    pub number: Option<String>,
    /// Amount in minor units.
    pub amount_minor: Option<i64>,
    /// ISO 4217 code.
    pub currency: Option<String>,
    /// When due.
    pub due_date: Option<Date>,
    /// Payment status.
    pub status: PaymentStatus,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

type Row = (
    uuid::Uuid,
    Option<String>,
    Option<uuid::Uuid>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<Date>,
    String,
    OffsetDateTime,
);

/// The shared select list, as a literal so statements stay static.
macro_rules! select_invoice {
    ($rest:literal) => {
        concat!(
            "select i.id, s.name, i.message_id, i.number, i.amount_minor, i.currency,
                    i.due_date, i.payment_status, i.updated_at
             from invoice i left join supplier s on s.id = i.supplier_id ",
            $rest
        )
    };
}

fn from_row(r: Row) -> Result<Invoice, StoreError> {
    Ok(Invoice {
        id: r.0,
        supplier_name: r.1,
        message_id: r.2.map(MessageId::from_uuid),
        number: r.3,
        amount_minor: r.4,
        currency: r.5,
        due_date: r.6,
        status: PaymentStatus::parse(&r.7).ok_or(StoreError::Decode {
            what: "invoice.payment_status",
        })?,
        updated_at: r.8,
    })
}

/// The invoices that arrived in `message`.
pub async fn list_for_message(
    tx: &mut TenantTx,
    message: MessageId,
) -> Result<Vec<Invoice>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as(select_invoice!(
        "where i.message_id = $1 order by i.created_at, i.id"
    ))
    .bind(message.as_uuid())
    .fetch_all(tx.conn())
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// One invoice; another organisation's is [`StoreError::NotFound`].
pub async fn get(tx: &mut TenantTx, id: uuid::Uuid) -> Result<Invoice, StoreError> {
    let row: Option<Row> = sqlx::query_as(select_invoice!("where i.id = $1"))
        .bind(id)
        .fetch_optional(tx.conn())
        .await?;
    from_row(super::found(row, "invoice")?)
}

/// Moves an invoice to `to` (`verified` or `held`; `pending` again is
/// allowed from `held`), returning the status before. A paid invoice, or a
/// move to `paid` here, is [`StoreError::InvalidTransition`].
pub async fn set_status(
    tx: &mut TenantTx,
    id: uuid::Uuid,
    to: PaymentStatus,
) -> Result<PaymentStatus, StoreError> {
    let current: Option<String> =
        sqlx::query_scalar("select payment_status from invoice where id = $1 for update")
            .bind(id)
            .fetch_optional(tx.conn())
            .await?;
    let from =
        PaymentStatus::parse(&super::found(current, "invoice")?).ok_or(StoreError::Decode {
            what: "invoice.payment_status",
        })?;
    if from == PaymentStatus::Paid || to == PaymentStatus::Paid || from == to {
        return Err(StoreError::InvalidTransition {
            what: "invoice",
            from: from.as_str().to_owned(),
            to: to.as_str().to_owned(),
        });
    }
    sqlx::query("update invoice set payment_status = $2 where id = $1")
        .bind(id)
        .bind(to.as_str())
        .execute(tx.conn())
        .await?;
    Ok(from)
}

/// An invoice to record (tests and the worker's extraction).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewInvoice {
    /// The message it arrived in.
    pub message_id: Option<MessageId>,
    /// Invoice number.
    pub number: Option<String>,
    /// Amount in minor units.
    pub amount_minor: Option<i64>,
    /// ISO 4217 code (required with an amount).
    pub currency: Option<String>,
    /// When due.
    pub due_date: Option<Date>,
}

/// Records an invoice (status `pending`).
pub async fn create(tx: &mut TenantTx, new: &NewInvoice) -> Result<uuid::Uuid, StoreError> {
    sqlx::query_scalar(
        "insert into invoice (org_id, message_id, number, amount_minor, currency, due_date)
         values ($1, $2, $3, $4, $5, $6) returning id",
    )
    .bind(tx.org().as_uuid())
    .bind(new.message_id.map(|m| m.as_uuid()))
    .bind(new.number.as_deref())
    .bind(new.amount_minor)
    .bind(new.currency.as_deref())
    .bind(new.due_date)
    .fetch_one(tx.conn())
    .await
    .map_err(|e| super::reference(e.into(), "message"))
}
