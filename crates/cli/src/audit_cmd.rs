//! `sentra audit`: check the audit log's hash chains and sign checkpoints of
//! their heads (security bar G2.2, G2.3).
//!
//! Both commands connect as the schema owner: verification is a privileged
//! read across organisations (one organisation per transaction). `verify`
//! exits 0 when every chain is intact, 1 when one is not (naming the
//! organisation and the first bad sequence number), 2 on any other error.
//! The checkpoint signing key is a base64 32-byte Ed25519 seed in
//! `SENTRA_AUDIT_SIGNING_KEY`, an environment variable rather than a flag so
//! it never appears in a process listing; when that is not set, it is the
//! keyring's `sign` entry (the key file named by `--key-file` /
//! `SENTRA_KEY_FILE`, or `SENTRA_KEYS`).

use anyhow::{Context as _, anyhow, bail};
use base64ct::{Base64, Encoding};
use clap::{Args, Subcommand};
use sentra_domain::OrgId;
use sentra_store::OwnerPool;
use sentra_store::audit::{self, VerifyReport};
use sentra_store::crypto::{self, Keyring};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// The environment variable holding the checkpoint signing seed.
pub const SIGNING_KEY_ENV: &str = "SENTRA_AUDIT_SIGNING_KEY";

/// `sentra audit …`
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Walk every organisation's chain (or one's) and name the first bad seq.
    Verify(VerifyArgs),
    /// Verify every chain, then print a signed checkpoint of their heads.
    Checkpoint(CheckpointArgs),
}

#[derive(Debug, Args)]
struct DbArgs {
    /// Connection URL of the schema owner.
    #[arg(
        long = "database-url",
        env = "SENTRA_OWNER_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    database_url: String,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// Only this organisation.
    #[arg(long, value_name = "ID")]
    org: Option<uuid::Uuid>,
    /// Also check the chains against this signed checkpoint: finds a tail cut
    /// off or a chain rewritten since it was taken.
    #[arg(long, value_name = "FILE", requires = "public_key")]
    checkpoint: Option<PathBuf>,
    /// The checkpoint key's public half (base64 of 32 bytes).
    #[arg(long, env = "SENTRA_AUDIT_PUBLIC_KEY", value_name = "BASE64")]
    public_key: Option<String>,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(Debug, Args)]
struct CheckpointArgs {
    /// Print the public key for the signing key instead, for publishing.
    #[arg(long)]
    print_public_key: bool,
    /// Where the signing key comes from when `SENTRA_AUDIT_SIGNING_KEY` is
    /// not set: the keyring's `sign` entry.
    #[command(flatten)]
    keyring: crate::keys_cmd::KeyringArgs,
    #[command(flatten)]
    db: DbArgs,
}

/// The checkpoint signing key: a bare seed, or the keyring's `sign` entry.
enum Signer {
    Seed([u8; 32]),
    Keyring(Box<Keyring>),
}

impl Signer {
    /// The seed from `SENTRA_AUDIT_SIGNING_KEY` when it is set, otherwise the
    /// keyring, which must hold a `sign` key.
    fn load(seed: Option<&str>, args: &CheckpointArgs) -> anyhow::Result<Self> {
        if seed.is_some_and(|s| !s.trim().is_empty()) {
            return Ok(Self::Seed(signing_seed(seed)?));
        }
        let keys =
            crate::keys_cmd::load_keyring(args.keyring.key_file.as_deref()).with_context(|| {
                format!("{SIGNING_KEY_ENV} is not set, so the signing key comes from the keyring")
            })?;
        if !keys.has_signing_key() {
            bail!("{SIGNING_KEY_ENV} is not set and the keyring has no `sign` entry");
        }
        Ok(Self::Keyring(Box::new(keys)))
    }

    fn public_key_base64(&self) -> anyhow::Result<String> {
        Ok(match self {
            Self::Seed(seed) => Base64::encode_string(&audit::public_key_for_seed(seed)),
            Self::Keyring(keys) => crypto::public_key_base64(keys)?,
        })
    }

    async fn checkpoint(&self, pool: &OwnerPool) -> Result<String, sentra_store::StoreError> {
        match self {
            Self::Seed(seed) => audit::checkpoint(pool, seed).await,
            Self::Keyring(keys) => audit::checkpoint_with_keyring(pool, keys).await,
        }
    }
}

/// Runs `sentra audit`, printing to stdout.
pub fn run(args: &AuditArgs) -> anyhow::Result<ExitCode> {
    let key = std::env::var(SIGNING_KEY_ENV).ok();
    execute(args, key.as_deref(), &mut std::io::stdout().lock())
}

/// Runs `sentra audit` with the signing key (base64 seed) given, writing the
/// report to `out`.
fn execute(
    args: &AuditArgs,
    signing_key: Option<&str>,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    if let AuditCommand::Checkpoint(c) = &args.command
        && c.print_public_key
    {
        let signer = Signer::load(signing_key, c)?;
        writeln!(out, "{}", signer.public_key_base64()?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("Failed to start the async runtime")?;
    runtime.block_on(async {
        match &args.command {
            AuditCommand::Verify(v) => verify(v, out).await,
            AuditCommand::Checkpoint(c) => {
                let signer = Signer::load(signing_key, c)?;
                let pool = connect(&c.db).await?;
                let note = signer
                    .checkpoint(&pool)
                    .await
                    .context("Failed to take a checkpoint")?;
                pool.close().await;
                write!(out, "{note}")?;
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

async fn connect(db: &DbArgs) -> anyhow::Result<OwnerPool> {
    // A reviewed owner-pool call site (security bar G1.5): verification reads
    // every organisation's chain through the owner's scoped policies.
    // The URL holds a password: the error says what failed, never the URL.
    OwnerPool::connect(&db.database_url, 2)
        .await
        .map_err(|e| anyhow!("Failed to connect as the schema owner: {e}"))
}

async fn verify(args: &VerifyArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let pool = connect(&args.db).await?;
    let org = args.org.map(OrgId::from_uuid);
    let mut reports = match &args.checkpoint {
        None => audit::verify(&pool, org)
            .await
            .context("Failed to verify the audit chains")?,
        Some(path) => {
            let note = std::fs::read_to_string(path)
                .with_context(|| format!("Failed to read the checkpoint {}", path.display()))?;
            let key = public_key(args.public_key.as_deref())?;
            audit::verify_against_checkpoint(&pool, &note, &key)
                .await
                .context("Failed to verify against the checkpoint")?
        }
    };
    pool.close().await;
    if let Some(org) = org {
        reports.retain(|r| r.org == org);
    }
    Ok(print_reports(&reports, out)?)
}

fn print_reports(reports: &[VerifyReport], out: &mut dyn Write) -> std::io::Result<ExitCode> {
    let mut broken = 0;
    let mut events = 0;
    for r in reports {
        events += r.checked;
        match (&r.problem, r.head) {
            (Some(problem), _) => {
                broken += 1;
                writeln!(out, "org {}: BROKEN: {problem}", r.org)?;
            }
            (None, Some((seq, _))) => writeln!(out, "org {}: ok, {seq} events", r.org)?,
            (None, None) => writeln!(out, "org {}: ok, no events", r.org)?,
        }
    }
    writeln!(
        out,
        "{} organisations, {events} events checked, {broken} broken",
        reports.len()
    )?;
    Ok(if broken == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn decode32(text: &str, what: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = Base64::decode_vec(text.trim()).map_err(|_| anyhow!("{what} is not base64"))?;
    bytes
        .as_slice()
        .try_into()
        .map_err(|_| anyhow!("{what} must be 32 bytes, not {}", bytes.len()))
}

fn signing_seed(text: Option<&str>) -> anyhow::Result<[u8; 32]> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        bail!("{SIGNING_KEY_ENV} is not set (base64 of a 32-byte Ed25519 seed)");
    };
    decode32(text, SIGNING_KEY_ENV)
}

fn public_key(text: Option<&str>) -> anyhow::Result<[u8; 32]> {
    let text = text.ok_or_else(|| anyhow!("--public-key is required with --checkpoint"))?;
    decode32(text, "the public key")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use sentra_store::TenantTx;
    use sentra_store::testing::TestDb;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        audit: Top,
    }

    #[derive(Debug, clap::Subcommand)]
    enum Top {
        Audit(AuditArgs),
    }

    fn parse(args: &[&str]) -> AuditArgs {
        let Top::Audit(a) =
            Cli::try_parse_from(std::iter::once("sentra").chain(args.iter().copied()))
                .unwrap()
                .audit;
        a
    }

    fn run_to_string(args: &[&str], key: Option<&str>) -> (ExitCode, String) {
        let mut out = Vec::new();
        let code = execute(&parse(args), key, &mut out).unwrap();
        (code, String::from_utf8(out).unwrap())
    }

    const SEED_B64: &str = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio="; // 32 × 0x2a

    #[test]
    fn the_arguments_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn a_signing_key_must_be_32_bytes_of_base64() {
        assert_eq!(signing_seed(Some(SEED_B64)).unwrap(), [42; 32]);
        let short = signing_seed(Some("AAAA")).unwrap_err().to_string();
        assert!(short.contains("32 bytes"), "{short}");
        assert!(signing_seed(Some("not base64!")).is_err());
        let missing = signing_seed(None).unwrap_err().to_string();
        assert!(missing.contains(SIGNING_KEY_ENV), "{missing}");
    }

    #[test]
    fn the_public_key_is_printed_without_a_database() {
        let (code, out) = run_to_string(
            &[
                "audit",
                "checkpoint",
                "--print-public-key",
                "--database-url",
                "unused",
            ],
            Some(SEED_B64),
        );
        assert_eq!(code, ExitCode::SUCCESS);
        let key = decode32(out.trim(), "key").unwrap();
        assert_eq!(key, audit::public_key_for_seed(&[42; 32]));
    }

    #[test]
    fn without_the_seed_variable_the_keyrings_sign_key_is_used() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        let text = crypto::generate_config().unwrap();
        std::fs::write(&path, text.as_bytes()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let file = path.to_string_lossy().into_owned();
        let (code, out) = run_to_string(
            &[
                "audit",
                "checkpoint",
                "--print-public-key",
                "--key-file",
                &file,
                "--database-url",
                "unused",
            ],
            None,
        );
        assert_eq!(code, ExitCode::SUCCESS);
        let keys = Keyring::parse(&text).unwrap();
        assert_eq!(out.trim(), crypto::public_key_base64(&keys).unwrap());
        // the seed variable, when set, wins
        let (_, out) = run_to_string(
            &[
                "audit",
                "checkpoint",
                "--print-public-key",
                "--key-file",
                &file,
                "--database-url",
                "unused",
            ],
            Some(SEED_B64),
        );
        assert_eq!(
            out.trim(),
            Base64::encode_string(&audit::public_key_for_seed(&[42; 32]))
        );
        // a keyring without `sign` cannot sign
        let unsigned: String = text
            .lines()
            .filter(|l| !l.starts_with("sign"))
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&path, unsigned).unwrap();
        let args = parse(&[
            "audit",
            "checkpoint",
            "--key-file",
            &file,
            "--database-url",
            "unused",
        ]);
        let err = execute(&args, None, &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("no `sign` entry"), "{err}");
    }

    #[test]
    fn verify_passes_a_clean_log_and_names_the_first_bad_seq_of_a_tampered_one() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let Some(db) = rt.block_on(TestDb::create()) else {
            return;
        };
        let org: uuid::Uuid = rt.block_on(async {
            let org: uuid::Uuid =
                sqlx::query_scalar("insert into organisation (name) values ('A') returning id")
                    .fetch_one(db.superuser())
                    .await
                    .unwrap();
            for _ in 0..5 {
                let mut tx = TenantTx::begin(db.app_pool(), OrgId::from_uuid(org), None)
                    .await
                    .unwrap();
                audit::append(&mut tx, audit::NewEvent::new("user", "test.event"))
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
            org
        });
        let url = db.owner_url();

        let (code, out) = run_to_string(&["audit", "verify", "--database-url", url], None);
        assert_eq!(code, ExitCode::SUCCESS, "{out}");
        assert!(out.contains(&format!("org {org}: ok, 5 events")), "{out}");

        let (code, note) = run_to_string(
            &["audit", "checkpoint", "--database-url", url],
            Some(SEED_B64),
        );
        assert_eq!(code, ExitCode::SUCCESS);
        let dir = std::env::temp_dir().join(format!("sentra-cp-{org}"));
        std::fs::write(&dir, &note).unwrap();

        rt.block_on(async {
            let mut tx = db.superuser().begin().await.unwrap();
            sqlx::query("set local session_replication_role = replica")
                .execute(&mut *tx)
                .await
                .unwrap();
            sqlx::query("update audit_event set action = 'x' where seq = 3")
                .execute(&mut *tx)
                .await
                .unwrap();
            sqlx::query("delete from audit_event where seq = 5")
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        });
        let org_arg = org.to_string();
        let (code, out) = run_to_string(
            &["audit", "verify", "--org", &org_arg, "--database-url", url],
            None,
        );
        assert_eq!(code, ExitCode::from(1), "{out}");
        assert!(out.contains("BROKEN: seq 3 "), "{out}");

        let public = Base64::encode_string(&audit::public_key_for_seed(&[42; 32]));
        let cp = dir.to_string_lossy().into_owned();
        let (code, out) = run_to_string(
            &[
                "audit",
                "verify",
                "--checkpoint",
                &cp,
                "--public-key",
                &public,
                "--database-url",
                url,
            ],
            None,
        );
        assert_eq!(code, ExitCode::from(1), "{out}");
        assert!(out.contains("BROKEN: seq 3 "), "{out}");
        let _ = std::fs::remove_file(&dir);
    }
}
