//! The HTTP routes: health probes, the auth API and the tenant API.

pub mod auth;
pub mod health;
pub mod suppliers;
