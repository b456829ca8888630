//! The Microsoft Graph settings `serve` and `worker` share: Sentra's Entra
//! application (client) id and secret, and the two base URLs (Microsoft's by
//! default; the fake Graph server's in development). `serve` uses the client
//! for the admin's Microsoft 365 actions (consent, scope check, deleting
//! subscriptions on disconnect), `worker` for syncing mail.

use anyhow::Context as _;
use clap::Args;
use sentra_graph::{ClientCredential, GraphClient, GraphConfig};

/// `SENTRA_GRAPH_*`.
#[derive(Debug, Clone, Args)]
#[expect(
    clippy::struct_field_names,
    reason = "the names are the flags (--graph-client-id, …) the worker already took"
)]
pub(crate) struct GraphArgs {
    /// Sentra's Microsoft Entra application (client) id; none: no Microsoft 365.
    #[arg(long, env = "SENTRA_GRAPH_CLIENT_ID")]
    pub graph_client_id: Option<String>,
    /// Its client secret.
    #[arg(long, env = "SENTRA_GRAPH_CLIENT_SECRET", hide_env_values = true)]
    pub graph_client_secret: Option<String>,
    /// The login base (token and admin-consent endpoints).
    #[arg(long, env = "SENTRA_GRAPH_LOGIN_BASE", default_value = sentra_graph::config::LOGIN_BASE)]
    pub graph_login_base: String,
    /// The Graph base.
    #[arg(long, env = "SENTRA_GRAPH_BASE", default_value = sentra_graph::config::GRAPH_BASE)]
    pub graph_base: String,
}

impl GraphArgs {
    /// The Graph client, when a client id and secret are configured (both
    /// or neither).
    pub(crate) fn client(&self) -> anyhow::Result<Option<GraphClient>> {
        let (Some(id), Some(secret)) = (&self.graph_client_id, &self.graph_client_secret) else {
            anyhow::ensure!(
                self.graph_client_id.is_none() && self.graph_client_secret.is_none(),
                "SENTRA_GRAPH_CLIENT_ID and SENTRA_GRAPH_CLIENT_SECRET go together"
            );
            return Ok(None);
        };
        let config = GraphConfig::with_bases(
            &self.graph_login_base,
            &self.graph_base,
            id.clone(),
            ClientCredential::Secret(secret.clone().into()),
        )
        .context("SENTRA_GRAPH_LOGIN_BASE or SENTRA_GRAPH_BASE is not a URL")?;
        GraphClient::new(config)
            .map(Some)
            .context("Failed to build the Graph client")
    }
}
