//! The Microsoft Graph settings `serve` and `worker` share: Sentra's Entra
//! application (client) id and credential (secret or certificate), and the two base URLs (Microsoft's by
//! default; the fake Graph server's in development). `serve` uses the client
//! for the admin's Microsoft 365 actions (consent, scope check, deleting
//! subscriptions on disconnect), `worker` for syncing mail.
//!
//! They come from the configuration scheme (`[graph]` / `SENTRA_GRAPH_*`,
//! [`crate::config::worker::GraphApp`]); these flags override the id and
//! the bases. The secret has no flag: a command line is visible to every
//! user of the machine.

use crate::config::worker::GraphApp;
use anyhow::Context as _;
use clap::Args;
use sentra_graph::{GraphClient, GraphConfig};

/// Flags over `[graph]`.
#[derive(Debug, Clone, Args)]
#[expect(
    clippy::struct_field_names,
    reason = "the names are the flags (--graph-client-id, …) the worker already took"
)]
pub(crate) struct GraphArgs {
    /// Sentra's Microsoft Entra application (client) id (default:
    /// `$SENTRA_GRAPH_CLIENT_ID` / `graph.client_id`; none: no Microsoft 365).
    #[arg(long)]
    pub graph_client_id: Option<String>,
    /// The login base (default: `$SENTRA_GRAPH_LOGIN_BASE` / `graph.login_base`, else Microsoft's).
    #[arg(long)]
    pub graph_login_base: Option<String>,
    /// The Graph base (default: `$SENTRA_GRAPH_BASE` / `graph.api_base`, else Microsoft's).
    #[arg(long)]
    pub graph_base: Option<String>,
}

impl GraphArgs {
    /// The configured application with the flags applied; `None` when
    /// Microsoft 365 is not configured.
    pub(crate) fn app(&self, configured: Option<&GraphApp>) -> anyhow::Result<Option<GraphApp>> {
        let Some(mut app) = configured.cloned() else {
            anyhow::ensure!(
                self.graph_client_id.is_none(),
                "--graph-client-id needs the application's credential: set SENTRA_GRAPH_CLIENT_SECRET (or SENTRA_GRAPH_CLIENT_SECRET_FILE / graph.client_secret_file), or SENTRA_GRAPH_CERTIFICATE_FILE and SENTRA_GRAPH_PRIVATE_KEY_FILE"
            );
            return Ok(None);
        };
        if let Some(id) = &self.graph_client_id {
            app.client_id.clone_from(id);
        }
        if let Some(b) = &self.graph_login_base {
            app.login_base.clone_from(b);
        }
        if let Some(b) = &self.graph_base {
            app.graph_base.clone_from(b);
        }
        Ok(Some(app))
    }
}

/// The Graph client for `app`.
pub(crate) fn client(app: &GraphApp) -> anyhow::Result<GraphClient> {
    let config = GraphConfig::with_bases(
        &app.login_base,
        &app.graph_base,
        app.client_id.clone(),
        app.credential.clone(),
    )
    .context("SENTRA_GRAPH_LOGIN_BASE or SENTRA_GRAPH_BASE is not a URL")?;
    GraphClient::new(config).context("Failed to build the Graph client")
}
