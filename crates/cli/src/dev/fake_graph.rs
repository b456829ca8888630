//! `sentra dev fake-graph`: the test suite's fake Microsoft Graph server as a
//! process, for local development against a Graph that needs no tenant.
//! It binds loopback only: its `/_fake` admin API has no authentication.

use anyhow::{Context, bail};
use sentra_testkit::FakeGraph;
use std::net::SocketAddr;
use std::process::ExitCode;

/// Runs the fake until Ctrl-C. Prints the bases (and, with `standard`, the
/// seeded ids) on stdout, one `key: value` per line, so scripts can read them.
pub(crate) fn run(listen: SocketAddr, seed: u64, standard: bool) -> anyhow::Result<ExitCode> {
    if !listen.ip().is_loopback() {
        bail!(
            "the fake Graph server only binds loopback addresses (its admin API is unauthenticated)"
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    rt.block_on(async {
        let fake = FakeGraph::start_on(listen, seed)
            .await
            .context("start the fake Graph server")?;
        println!("root: {}", fake.root());
        println!("login_base: {}", fake.login_base());
        println!("graph_base: {}", fake.graph_base());
        println!("admin: {}/_fake", fake.root());
        if standard {
            let s = fake.seed_standard();
            println!("tenant_id: {}", s.tenant_id);
            println!("client_id: {}", s.client_id);
            println!("monitored: {}", s.monitored.upn);
            println!("unmonitored: {}", s.unmonitored.upn);
            println!("client_secret: see docs/FAKE_GRAPH.md (a fixed, public fake value)");
        }
        println!("ready");
        tokio::signal::ctrl_c().await.context("wait for Ctrl-C")?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
