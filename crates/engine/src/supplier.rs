//! Suppliers (being written).
/// Supplier.
#[derive(Debug, Default)]
pub struct Supplier;
/// Executive.
#[derive(Debug, Default)]
pub struct Executive;
/// Directory.
#[derive(Debug, Default)]
pub struct SupplierDirectory;
