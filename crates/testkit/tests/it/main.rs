//! Integration tests of the fake Graph server, driven over real HTTP with
//! reqwest exactly as Sentra's client would.
