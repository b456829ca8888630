//! Sentra's analysis engine.
//!
//! # Brief overview
//!
//! [`analyse`] takes the raw bytes of one email and everything Sentra knows about
//! the organisation as plain data ([`Context`]: verified suppliers, the
//! organisation's own domains and people, and the [`History`] of earlier
//! messages), and returns an [`Assessment`]: category, risk level and score,
//! signals with evidence, extracted facts and a recommended action.
//!
//! The work is split in two so callers can parallelise: [`prepare`] (parse,
//! text, attachments, extraction) depends only on the bytes and can run on any
//! thread; [`assess`] adds everything that depends on the organisation and on
//! history, and is cheap. [`History::record`] then makes the message visible to
//! later ones.
//!
//! The engine does no I/O, reads no clock and never panics on input: the crate
//! denies `unwrap`, `expect`, `panic` and slice indexing. Attachment formats
//! that can hang or abort a process (PDF) are read through a [`TextExtractor`]
//! that the caller provides — the `sentra` binary runs it in a sandboxed child
//! process.

mod assess;
pub mod attachment;
mod auth_results;
mod batch;
mod classify;
pub mod domains;
mod error;
pub mod extract;
pub mod history;
pub mod html;
pub mod lookalike;
pub mod mbox;
pub mod message;
pub mod report;
mod signals;
pub mod supplier;

pub use report::{MessageReport, message_report};

pub use assess::{
    Assessment, Context, MatchKind, Prepared, Signal, analyse, assess, history_entry, prepare,
    remember,
};
pub use attachment::{NoPdfExtractor, TextExtractor};
pub use batch::assess_in_order;
pub use error::EngineError;
pub use history::{History, HistoryEntry};
pub use supplier::{Executive, Supplier, SupplierDirectory};

/// The engine's version, recorded with every assessment so that a message is
/// analysed again when the engine changes.
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");
