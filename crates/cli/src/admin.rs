//! `sentra admin`: operator commands. `create-org` makes an organisation and
//! its owner, with TOTP enrolled, and prints the ids and the TOTP secret
//! (base32) as JSON for the owner's authenticator app.
//!
//! It connects as the app role (`SENTRA_DATABASE_URL`), not the schema owner:
//! the store creates organisations through a `TenantTx` opened for the new id
//! (see `sentra_store::repo::organisation`), so no privileged path is needed,
//! and users live in a global table the app role may write. The password
//! comes from `SENTRA_ADMIN_PASSWORD` or an echo-free prompt; it must be 12
//! to 128 characters (ASVS V2.1.1/V2.1.2).

use crate::keys_cmd::{KeyringArgs, load_keyring};
use anyhow::Context as _;
use clap::{Args, Subcommand};
use sentra_domain::EmailAddress;
use sentra_store::repo::organisation;
use sentra_store::{AppPool, crypto, keys};
use sentra_web::{password, totp};
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::process::ExitCode;
use zeroize::Zeroizing;

/// Arguments of `sentra admin`.
#[derive(Debug, Args)]
pub(crate) struct AdminArgs {
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an organisation and its owner (TOTP enrolled); prints JSON.
    CreateOrg(CreateOrgArgs),
}

#[derive(Debug, Args)]
struct CreateOrgArgs {
    /// The organisation's name.
    #[arg(long)]
    name: String,
    /// The owner's sign-in address.
    #[arg(long)]
    owner_email: String,
    /// The `sentra_app` role's database URL.
    #[arg(
        long,
        env = "SENTRA_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    database_url: String,
    #[command(flatten)]
    keyring: KeyringArgs,
}

/// Shortest and longest accepted passwords (the web layer's policy).
const PASSWORD_LEN: std::ops::RangeInclusive<usize> = password::PASSWORD_LEN;

/// `sentra admin`.
pub(crate) fn run(args: &AdminArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        AdminCommand::CreateOrg(a) => create_org(a),
    }
}

fn read_password() -> anyhow::Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var("SENTRA_ADMIN_PASSWORD") {
        return Ok(Zeroizing::new(p));
    }
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    let saved = if tty {
        eprint!("Owner password: ");
        let _ = std::io::stderr().flush();
        let saved = rustix::termios::tcgetattr(&stdin).context("reading terminal settings")?;
        let mut quiet = saved.clone();
        quiet.local_modes.remove(rustix::termios::LocalModes::ECHO);
        rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &quiet)
            .context("turning off echo")?;
        Some(saved)
    } else {
        None
    };
    let mut line = Zeroizing::new(String::new());
    let read = stdin.lock().read_line(&mut line);
    if let Some(saved) = saved {
        let _ = rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &saved);
        eprintln!();
    }
    read.context("reading the password")?;
    Ok(Zeroizing::new(
        line.trim_end_matches(['\r', '\n']).to_owned(),
    ))
}

fn check_password(p: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        PASSWORD_LEN.contains(&p.chars().count()),
        "the password must be {} to {} characters long",
        PASSWORD_LEN.start(),
        PASSWORD_LEN.end()
    );
    Ok(())
}

fn create_org(args: &CreateOrgArgs) -> anyhow::Result<ExitCode> {
    let email = EmailAddress::parse(args.owner_email.trim())
        .map_err(|e| anyhow::anyhow!("--owner-email: {e}"))?;
    anyhow::ensure!(!args.name.trim().is_empty(), "--name must not be empty");
    let keyring = load_keyring(args.keyring.key_file.as_deref())?;
    let pw = read_password()?;
    check_password(&pw)?;
    let hash = password::hash(&pw).map_err(|e| anyhow::anyhow!("{e}"))?;
    let secret = Zeroizing::new(totp::generate_secret().context("generating the TOTP secret")?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (org, owner) = runtime.block_on(async {
        let pool = AppPool::connect(&args.database_url, 2)
            .await
            .context("connecting to the database")?;
        let owner = sentra_domain::UserId::new();
        let ctx = keys::USER_TOTP.context(keys::GLOBAL_ORG, owner.as_uuid());
        let enc = crypto::encrypt(&keyring, &ctx, secret.as_slice())
            .context("encrypting the TOTP secret")?;
        let org = organisation::sign_up(
            &pool,
            &organisation::SignUp {
                org_name: &args.name,
                owner,
                email: &email,
                password_hash: &hash,
                totp_secret_enc: Some(&enc),
                actor: "system:admin",
            },
        )
        .await
        .context("creating the organisation and owner (is the address already registered?)")?;
        pool.close().await;
        anyhow::Ok((org, owner))
    })?;
    let out = serde_json::json!({
        "org_id": org.to_string(),
        "user_id": owner.to_string(),
        "totp_secret": totp::base32_encode(secret.as_slice()),
    });
    println!("{out}");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_must_be_12_to_128_characters() {
        assert!(check_password("short").is_err());
        assert!(check_password(&"x".repeat(11)).is_err());
        assert!(check_password(&"x".repeat(12)).is_ok());
        assert!(check_password(&"é".repeat(128)).is_ok());
        assert!(check_password(&"x".repeat(129)).is_err());
    }
}
