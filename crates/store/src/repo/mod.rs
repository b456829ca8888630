//! Repositories: one module per aggregate. Tenant repositories take
//! `&mut TenantTx`, so every statement runs inside one organisation's
//! transaction and row-level security filters it; global ones take `&AppPool`.
