//! `sentra keys`: make a key file, and rotate every encrypted column to the
//! keyring's current key.
//!
//! The keyring comes from configuration, never from the database: the file
//! named by `--key-file` / `SENTRA_KEY_FILE` (refused unless mode 600), or
//! else the `SENTRA_KEYS` environment variable (same text format, entries
//! separated by `;` or newlines). `rotate` connects as the schema owner: it is
//! one of the reviewed privileged paths, working one organisation per
//! transaction under the owner's scoped policies. It exits 0 when every
//! ciphertext is under the current key (older keys can then be removed), 1
//! when some rows could not be re-encrypted (listed by table and id, never by
//! content), 2 on any other error.

use anyhow::{Context as _, anyhow};
use clap::{Args, Subcommand};
use sentra_store::OwnerPool;
use sentra_store::crypto::{self, Keyring};
use sentra_store::keys::{self, Progress, RotationReport};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `sentra keys …`
#[derive(Debug, Args)]
pub(crate) struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Print a new key file (a data key, a blind-index key and a checkpoint
    /// signing key, all random) to stdout; save it with mode 600.
    Generate,
    /// Re-encrypt every encrypted column under the keyring's current key, in
    /// small batches, while the service keeps running.
    Rotate(RotateArgs),
}

/// Where the keyring comes from.
#[derive(Debug, Args)]
pub(crate) struct KeyringArgs {
    /// The key file (mode 600). Without it, the keyring is read from the
    /// `SENTRA_KEYS` environment variable.
    #[arg(long = "key-file", env = "SENTRA_KEY_FILE", value_name = "PATH")]
    pub(crate) key_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct RotateArgs {
    /// Connection URL of the schema owner.
    #[arg(
        long = "database-url",
        env = "SENTRA_OWNER_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    database_url: String,
    /// Rows per transaction (each batch holds its rows' locks until it commits).
    #[arg(long, default_value_t = 500, value_name = "ROWS")]
    batch: u32,
    #[command(flatten)]
    keyring: KeyringArgs,
}

/// Loads the keyring from `key_file`, or from `SENTRA_KEYS` when there is none.
pub(crate) fn load_keyring(key_file: Option<&Path>) -> anyhow::Result<Keyring> {
    match key_file {
        Some(path) => Keyring::from_file(path)
            .with_context(|| format!("Failed to load the key file {}", path.display())),
        None => Keyring::from_env().context(
            "Failed to load the keyring (pass --key-file, or set SENTRA_KEY_FILE or SENTRA_KEYS)",
        ),
    }
}

/// Runs `sentra keys`, printing to stdout.
pub(crate) fn run(args: &KeysArgs) -> anyhow::Result<ExitCode> {
    execute(args, &mut std::io::stdout().lock())
}

fn execute(args: &KeysArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match &args.command {
        KeysCommand::Generate => {
            let text = crypto::generate_config().context("Failed to generate keys")?;
            out.write_all(text.as_bytes())?;
            eprintln!(
                "sentra: save this with mode 600 (chmod 600) and point SENTRA_KEY_FILE at it"
            );
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::Rotate(r) => {
            let keyring = load_keyring(r.keyring.key_file.as_deref())?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("Failed to start the async runtime")?;
            runtime.block_on(rotate(r, &keyring, out))
        }
    }
}

async fn rotate(
    args: &RotateArgs,
    keyring: &Keyring,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    // A reviewed owner-pool call site (security bar G1.5): rotation rewrites
    // every organisation's ciphertexts through the owner's scoped policies.
    // The URL holds a password: the error says what failed, never the URL.
    let pool = OwnerPool::connect(&args.database_url, 2)
        .await
        .map_err(|e| anyhow!("Failed to connect as the schema owner: {e}"))?;
    writeln!(
        out,
        "rotating to key {} in batches of {}",
        keyring.current_key_id(),
        args.batch
    )?;
    let mut write_error = None;
    let report = keys::rotate(&pool, keyring, args.batch, |p| {
        if write_error.is_none()
            && let Err(e) = writeln!(out, "{}", progress_line(p))
        {
            write_error = Some(e);
        }
    })
    .await;
    pool.close().await;
    let report = report.context("Failed to rotate the keys")?;
    if let Some(e) = write_error {
        return Err(e.into());
    }
    print_summary(&report, out)?;
    Ok(if report.is_complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn progress_line(p: &Progress) -> String {
    let place = p
        .org
        .map_or_else(|| "global rows".to_owned(), |org| format!("org {org}"));
    let failed = if p.failed > 0 {
        format!(", {} failed", p.failed)
    } else {
        String::new()
    };
    format!(
        "{}: {place}: re-encrypted {} row(s){failed} ({} so far)",
        p.column.qualified, p.rotated, p.column_rotated
    )
}

fn print_summary(report: &RotationReport, out: &mut dyn Write) -> std::io::Result<()> {
    for c in &report.columns {
        writeln!(
            out,
            "{}: {} re-encrypted, {} failed, {} not on key {}",
            c.column.qualified, c.rotated, c.failed, c.remaining, report.key_id
        )?;
    }
    for f in &report.failures {
        let org = f.org.map_or_else(|| "global".to_owned(), |o| o.to_string());
        writeln!(
            out,
            "FAILED {} row {} (org {org}): {}",
            f.column.qualified, f.row, f.error
        )?;
    }
    if report.is_complete() {
        writeln!(
            out,
            "done: {} row(s) re-encrypted; every ciphertext is under key {}, older keys can be removed from the keyring",
            report.rotated(),
            report.key_id
        )
    } else {
        writeln!(
            out,
            "incomplete: {} row(s) re-encrypted, {} still not under key {}; keep the older keys",
            report.rotated(),
            report.remaining(),
            report.key_id
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use sentra_domain::OrgId;
    use sentra_store::keys::{BANK_ACCOUNT, ColumnReport, RotationFailure, USER_TOTP};

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        top: Top,
    }

    #[derive(Debug, clap::Subcommand)]
    enum Top {
        Keys(KeysArgs),
    }

    #[test]
    fn the_arguments_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn generate_prints_a_keyring_that_loads() {
        let Top::Keys(args) = Cli::try_parse_from(["sentra", "keys", "generate"])
            .unwrap()
            .top;
        let mut out = Vec::new();
        assert_eq!(execute(&args, &mut out).unwrap(), ExitCode::SUCCESS);
        let keys = Keyring::parse(&String::from_utf8(out).unwrap()).unwrap();
        assert!(keys.has_signing_key());
    }

    #[test]
    fn a_key_file_open_to_others_is_refused_with_the_fix() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        std::fs::write(&path, crypto::generate_config().unwrap().as_bytes()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = format!("{:#}", load_keyring(Some(&path)).unwrap_err());
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(load_keyring(Some(&path)).is_ok());
    }

    #[test]
    fn progress_and_summary_name_columns_and_rows_but_no_content() {
        let org = OrgId::from_uuid(uuid::Uuid::from_u128(1));
        let line = progress_line(&Progress {
            column: BANK_ACCOUNT,
            org: Some(org),
            rotated: 2,
            failed: 1,
            column_rotated: 6,
        });
        assert_eq!(
            line,
            format!(
                "supplier_bank_account.ciphertext: org {org}: re-encrypted 2 row(s), 1 failed (6 so far)"
            )
        );
        let keys = Keyring::generate_insecure_dev().unwrap();
        let row = uuid::Uuid::from_u128(2);
        let report = RotationReport {
            key_id: keys.current_key_id().clone(),
            columns: vec![
                ColumnReport {
                    column: BANK_ACCOUNT,
                    rotated: 5,
                    failed: 1,
                    remaining: 1,
                },
                ColumnReport {
                    column: USER_TOTP,
                    rotated: 0,
                    failed: 0,
                    remaining: 0,
                },
            ],
            failures: vec![RotationFailure {
                column: BANK_ACCOUNT,
                org: Some(org),
                row,
                error: crypto::CryptoError::Decrypt,
            }],
        };
        let mut out = Vec::new();
        print_summary(&report, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(&format!(
                "FAILED supplier_bank_account.ciphertext row {row} (org {org}): cannot decrypt"
            )),
            "{text}"
        );
        assert!(text.contains("incomplete: 5 row(s) re-encrypted, 1 still not under key k1"));
    }
}
