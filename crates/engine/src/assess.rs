//! Analysis entry points (being written).
use crate::{History, SupplierDirectory, TextExtractor};
/// Organisation data.
#[derive(Debug, Default)]
pub struct Context {
    /// suppliers
    pub suppliers: SupplierDirectory,
}
/// A prepared message.
#[derive(Debug)]
pub struct Prepared;
/// A signal.
#[derive(Debug)]
pub struct Signal;
/// An assessment.
#[derive(Debug)]
pub struct Assessment;
/// Prepare.
pub fn prepare(_raw: &[u8], _x: &dyn TextExtractor) -> Prepared {
    Prepared
}
/// Assess.
pub fn assess(_p: &Prepared, _c: &Context, _h: &History) -> Assessment {
    Assessment
}
/// Analyse.
pub fn analyse(raw: &[u8], x: &dyn TextExtractor, c: &Context, h: &History) -> Assessment {
    assess(&prepare(raw, x), c, h)
}
