//! The policy matrix (security bar G1.2): for every tenant table, found from
//! the catalog so a new table cannot be forgotten, `sentra_app` may select,
//! insert, update and delete its own organisation's rows and nothing in
//! another organisation's or without one. Append-only tables (the audit log)
//! are in the matrix too, with their own expected outcome: own-organisation
//! select and insert succeed, and update, delete and truncate are refused in
//! every context, the own organisation included. A mutation test then breaks
//! each policy in turn (drop it, or make it `true`), and grants the missing
//! privileges on append-only tables, and checks the matrix notices.

use sentra_store::AppPool;
use sentra_store::testing::TestDb;
use sqlx::{AssertSqlSafe, Connection, PgPool};
use std::collections::BTreeMap;

/// What `sentra_app` may do with its own organisation's rows of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Select, insert, update and delete, through one policy per command.
    ReadWrite,
    /// Select and insert only. There are no update or delete policies and no
    /// such privileges: update, delete and truncate fail with "permission
    /// denied" (42501) in every context, the own organisation included.
    AppendOnly,
}

impl Access {
    /// The commands that have a `sentra_app` policy.
    fn policy_commands(self) -> &'static [&'static str] {
        match self {
            Self::ReadWrite => &["select", "insert", "update", "delete"],
            Self::AppendOnly => &["select", "insert"],
        }
    }
}

/// How to insert one row of a table as its organisation. Placeholders:
/// `{org}`, `{user}` (a member), `{newuser}` (a fresh user), `{rand}`, and
/// `{<table>}` for a row of that table in the same organisation.
struct TableSpec {
    table: &'static str,
    insert: &'static str,
    /// Runs before the own-organisation insert (in the same, rolled-back
    /// transaction) where a one-per-organisation key would otherwise clash.
    prelude: Option<&'static str>,
    access: Access,
}

/// In dependency order: parents before children.
const SPECS: &[TableSpec] = &[
    TableSpec {
        table: "membership",
        insert: "insert into membership (org_id, user_id, role) values ('{org}', '{newuser}', 'viewer') returning id",
        prelude: None,
        access: Access::ReadWrite,
    },
    TableSpec {
        table: "org_settings",
        insert: "insert into org_settings (org_id) values ('{org}') returning id",
        prelude: Some("delete from org_settings where org_id = '{org}'"),
        access: Access::ReadWrite,
    },
    TableSpec {
        table: "supplier",
        insert: "insert into supplier (org_id, name) values ('{org}', 'Canary {rand}') returning id",
        prelude: None,
        access: Access::ReadWrite,
    },
    TableSpec {
        table: "supplier_bank_account",
        insert: "insert into supplier_bank_account (org_id, supplier_id, scheme, masked, ciphertext, blind_index, bi_key_id)
                 values ('{org}', '{supplier}', 'uk', '****0001', '\\x01', convert_to('{rand}', 'utf8'), 'k1') returning id",
        prelude: None,
        access: Access::ReadWrite,
    },
    TableSpec {
        table: "supplier_change",
        insert: "insert into supplier_change (org_id, supplier_id, kind, proposed, proposed_by)
                 values ('{org}', '{supplier}', 'phone', jsonb_build_object(), '{user}') returning id",
        prelude: None,
        access: Access::ReadWrite,
    },
    TableSpec {
        table: "graph_connection",
        insert: "insert into graph_connection (org_id, tenant_id, status) values ('{org}', 't-{rand}', 'consented') returning id",
        prelude: Some("delete from graph_connection where org_id = '{org}'"),
        access: Access::ReadWrite,
    },
    TableSpec {
        table: "mailbox",
        insert: "insert into mailbox (org_id, provider, address) values ('{org}', 'm365', 'box-{rand}@example.test') returning id",
        prelude: None,
        access: Access::ReadWrite,
    },
    TableSpec {
        table: "mail_credential",
        insert: "insert into mail_credential (org_id, mailbox_id, secret_enc) values ('{org}', '{mailbox}', '\\x01') returning id",
        prelude: Some("delete from mail_credential where org_id = '{org}'"),
        access: Access::ReadWrite,
    },
    TableSpec {
        table: "message",
        insert: "insert into message (org_id, mailbox_id, provider_message_id, received_at)
                 values ('{org}', '{mailbox}', 'pm-{rand}', now()) returning id",
        prelude: None,
        access: Access::ReadWrite,
    },
    TableSpec {
        table: "assessment",
        insert: "insert into assessment (org_id, message_id, engine_version, category, risk_level, risk_score)
                 values ('{org}', '{message}', 'v-{rand}', 'invoice', 'high', 80) returning id",
        prelude: None,
        access: Access::ReadWrite,
    },
    TableSpec {
        table: "fraud_case",
        insert: "insert into fraud_case (org_id, message_id, risk_level) values ('{org}', '{message}', 'high') returning id",
        prelude: Some("delete from fraud_case where org_id = '{org}'"),
        access: Access::ReadWrite,
    },
    TableSpec {
        table: "verification",
        insert: "insert into verification (org_id, case_id, method, outcome, performed_by)
                 values ('{org}', '{fraud_case}', 'call_back', 'no_answer', '{user}') returning id",
        prelude: None,
        access: Access::ReadWrite,
    },
    TableSpec {
        table: "invoice",
        insert: "insert into invoice (org_id, supplier_id, message_id, number)
                 values ('{org}', '{supplier}', '{message}', 'INV-{rand}') returning id",
        prelude: None,
        access: Access::ReadWrite,
    },
    TableSpec {
        table: "alert_channel",
        insert: "insert into alert_channel (org_id, kind, name, target_enc) values ('{org}', 'slack', 'Ops', '\\x01') returning id",
        prelude: None,
        access: Access::ReadWrite,
    },
    TableSpec {
        table: "alert",
        insert: "insert into alert (org_id, case_id, channel_id, kind)
                 values ('{org}', '{fraud_case}', '{alert_channel}', 'case_opened') returning id",
        prelude: Some("delete from alert where org_id = '{org}'"),
        access: Access::ReadWrite,
    },
    TableSpec {
        table: "feedback",
        insert: "insert into feedback (org_id, message_id, assessment_id, user_id, verdict)
                 values ('{org}', '{message}', '{assessment}', '{user}', 'correct') returning id",
        prelude: None,
        access: Access::ReadWrite,
    },
    TableSpec {
        table: "job",
        insert: "insert into job (org_id, kind, dedupe_key) values ('{org}', 'matrix.test', 'k-{rand}') returning id",
        prelude: None,
        access: Access::ReadWrite,
    },
    TableSpec {
        table: "api_token",
        insert: "insert into api_token (org_id, user_id, name, token_hash)
                 values ('{org}', '{user}', 'matrix', md5('{rand}') || md5('t{rand}')) returning id",
        prelude: None,
        access: Access::ReadWrite,
    },
    TableSpec {
        table: "invitation",
        insert: "insert into invitation (org_id, email, role, token_hash, expires_at)
                 values ('{org}', 'matrix@example.test', 'viewer', md5('{rand}') || md5('i{rand}'), now() + interval '1 day') returning id",
        prelude: None,
        access: Access::ReadWrite,
    },
    TableSpec {
        // The hashes are placeholders: the matrix is about who may write a
        // row, not whether the chain verifies (tests/it/audit.rs).
        table: "audit_event",
        insert: "insert into audit_event (org_id, seq, id, at, actor, action, prev_hash, hash)
                 values ('{org}', (select coalesce(max(seq), 0) + 1 from audit_event where org_id = '{org}'),
                         gen_random_uuid(), now(), 'system:test', 'matrix.insert', '\\x00', '\\x00') returning id",
        prelude: None,
        access: Access::AppendOnly,
    },
];

/// One organisation's seeded rows: its id, its member, and one row id per table.
struct Org {
    id: uuid::Uuid,
    user: uuid::Uuid,
    rows: BTreeMap<&'static str, uuid::Uuid>,
}

/// Where a statement runs: which `app.org_id`, if any.
#[derive(Debug, Clone, Copy)]
enum Ctx {
    Org(uuid::Uuid),
    /// Set, to the empty string (what a committed `set_config(…, true)` leaves).
    Empty,
    /// Never set in this transaction.
    Unset,
}

async fn tenant_tables(superuser: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'public' and c.relkind in ('r', 'p')
           and exists (select 1 from pg_attribute a where a.attrelid = c.oid
                       and a.attname = 'org_id' and not a.attisdropped)
         order by 1",
    )
    .fetch_all(superuser)
    .await
    .unwrap()
}

async fn fill(superuser: &PgPool, template: &str, org: &Org) -> String {
    let mut sql = template
        .replace("{org}", &org.id.to_string())
        .replace("{user}", &org.user.to_string())
        .replace("{rand}", &uuid::Uuid::new_v4().simple().to_string());
    if sql.contains("{newuser}") {
        sql = sql.replace("{newuser}", &new_user(superuser).await.to_string());
    }
    for (table, id) in &org.rows {
        sql = sql.replace(&format!("{{{table}}}"), &id.to_string());
    }
    sql
}

async fn new_user(superuser: &PgPool) -> uuid::Uuid {
    sqlx::query_scalar("insert into app_user (email, password_hash) values ($1, 'x') returning id")
        .bind(format!("m{}@example.test", uuid::Uuid::new_v4().simple()))
        .fetch_one(superuser)
        .await
        .unwrap()
}

/// Runs `sql` as `sentra_app` in one transaction under `ctx`, after an
/// optional prelude; commits only when asked. Returns rows affected.
async fn run(
    app: &AppPool,
    ctx: Ctx,
    prelude: Option<&str>,
    sql: &str,
    commit: bool,
) -> Result<u64, sqlx::Error> {
    let mut conn = app.acquire_untenanted().await.unwrap();
    let mut tx = conn.begin().await?;
    match ctx {
        Ctx::Org(id) => {
            sqlx::query("select set_config('app.org_id', $1, true)")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        Ctx::Empty => {
            sqlx::query("select set_config('app.org_id', '', true)")
                .execute(&mut *tx)
                .await?;
        }
        Ctx::Unset => {}
    }
    if let Some(p) = prelude {
        sqlx::raw_sql(AssertSqlSafe(p.to_owned()))
            .execute(&mut *tx)
            .await?;
    }
    let done = sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(&mut *tx)
        .await?;
    if commit {
        tx.commit().await?;
    }
    Ok(done.rows_affected())
}

async fn count(app: &AppPool, ctx: Ctx, sql: &str) -> Result<i64, sqlx::Error> {
    let mut conn = app.acquire_untenanted().await.unwrap();
    let mut tx = conn.begin().await?;
    if let Ctx::Org(id) = ctx {
        sqlx::query("select set_config('app.org_id', $1, true)")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
    } else if let Ctx::Empty = ctx {
        sqlx::query("select set_config('app.org_id', '', true)")
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query_scalar(AssertSqlSafe(sql.to_owned()))
        .fetch_one(&mut *tx)
        .await
}

fn is_rls_refusal(r: &Result<u64, sqlx::Error>) -> bool {
    matches!(r, Err(e) if e.as_database_error().and_then(sqlx::error::DatabaseError::code).as_deref() == Some("42501"))
}

/// Two organisations (plus members) with one committed row per table each,
/// inserted through the app role in their own context.
async fn seed(db: &TestDb) -> (Org, Org) {
    let su = db.superuser();
    let mut orgs = Vec::new();
    for name in ["A", "B"] {
        let id: uuid::Uuid =
            sqlx::query_scalar("insert into organisation (name) values ($1) returning id")
                .bind(name)
                .fetch_one(su)
                .await
                .unwrap();
        let user = new_user(su).await;
        let mut org = Org {
            id,
            user,
            rows: BTreeMap::new(),
        };
        for spec in SPECS {
            let sql = fill(su, spec.insert, &org).await;
            let row: uuid::Uuid = {
                let mut conn = db.app_pool().acquire_untenanted().await.unwrap();
                let mut tx = conn.begin().await.unwrap();
                sqlx::query("select set_config('app.org_id', $1, true)")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                let row = sqlx::query_scalar(AssertSqlSafe(sql.clone()))
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap_or_else(|e| panic!("seeding {}: {e}", spec.table));
                tx.commit().await.unwrap();
                row
            };
            org.rows.insert(spec.table, row);
        }
        orgs.push(org);
    }
    let b = orgs.pop().unwrap();
    let a = orgs.pop().unwrap();
    (a, b)
}

/// The 4 commands × {own, other, empty, unset} matrix for one table, plus the
/// `org_id` move; returns what went wrong (empty when the policies hold).
async fn check_table(db: &TestDb, spec: &TableSpec, a: &Org, b: &Org) -> Vec<String> {
    let app = db.app_pool();
    let t = spec.table;
    let a_row = a.rows[t];
    let mut failures = Vec::new();
    let mut expect = |ok: bool, what: String| {
        if !ok {
            failures.push(format!("{t}: {what}"));
        }
    };

    // select
    let own = count(
        app,
        Ctx::Org(a.id),
        &format!("select count(*) from {t} where id = '{a_row}'"),
    )
    .await;
    expect(matches!(own, Ok(1)), format!("select own row -> {own:?}"));
    let foreign = count(
        app,
        Ctx::Org(a.id),
        &format!("select count(*) from {t} where org_id <> '{}'", a.id),
    )
    .await;
    expect(
        matches!(foreign, Ok(0)),
        format!("select as A shows other orgs' rows -> {foreign:?}"),
    );
    let other = count(
        app,
        Ctx::Org(b.id),
        &format!("select count(*) from {t} where id = '{a_row}'"),
    )
    .await;
    expect(
        matches!(other, Ok(0)),
        format!("select A's row as B -> {other:?}"),
    );
    for ctx in [Ctx::Empty, Ctx::Unset] {
        let none = count(app, ctx, &format!("select count(*) from {t}")).await;
        expect(
            matches!(none, Ok(0)),
            format!("select all with {ctx:?} -> {none:?}"),
        );
    }

    // insert: the row claims A (with A's parents)
    let su = db.superuser();
    let prelude = match spec.prelude {
        Some(p) => Some(fill(su, p, a).await),
        None => None,
    };
    let own = run(
        app,
        Ctx::Org(a.id),
        prelude.as_deref(),
        &fill(su, spec.insert, a).await,
        false,
    )
    .await;
    expect(matches!(own, Ok(1)), format!("insert own -> {own:?}"));
    // Without `returning`: returning makes the select policy apply to the new
    // row too, which would hide a broken insert policy.
    let bare_insert = spec.insert.trim_end().trim_end_matches("returning id");
    for ctx in [Ctx::Org(b.id), Ctx::Empty, Ctx::Unset] {
        let r = run(app, ctx, None, &fill(su, bare_insert, a).await, false).await;
        expect(
            is_rls_refusal(&r),
            format!("insert A's row with {ctx:?} -> {r:?}"),
        );
    }

    if spec.access == Access::AppendOnly {
        failures.extend(check_append_only(app, t, a_row, a, b).await);
        return failures;
    }

    // update. In the foreign contexts also unconditionally: a `where` clause
    // makes the select policy apply as well, which would hide a broken update
    // or delete policy. B may touch exactly its own rows; no context, none.
    let b_rows: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "select count(*) from {t} where org_id = '{}'",
        b.id
    )))
    .fetch_one(su)
    .await
    .unwrap();
    let b_rows = u64::try_from(b_rows).unwrap();
    let foreign = [(Ctx::Org(b.id), b_rows), (Ctx::Empty, 0), (Ctx::Unset, 0)];
    let touch = format!("update {t} set updated_at = now() where id = '{a_row}'");
    let own = run(app, Ctx::Org(a.id), None, &touch, false).await;
    expect(matches!(own, Ok(1)), format!("update own -> {own:?}"));
    let touch_all = format!("update {t} set updated_at = now()");
    for (ctx, allowed) in foreign {
        let r = run(app, ctx, None, &touch, false).await;
        expect(
            matches!(r, Ok(0)),
            format!("update A's row with {ctx:?} -> {r:?}"),
        );
        let r = run(app, ctx, None, &touch_all, false).await;
        expect(
            r.as_ref().ok() == Some(&allowed),
            format!("update all with {ctx:?} -> {r:?}, may touch {allowed}"),
        );
    }
    let moved = run(
        app,
        Ctx::Org(a.id),
        None,
        &format!("update {t} set org_id = '{}' where id = '{a_row}'", b.id),
        false,
    )
    .await;
    expect(
        is_rls_refusal(&moved),
        format!("move own row to B -> {moved:?}"),
    );

    // delete
    let delete = format!("delete from {t} where id = '{a_row}'");
    let delete_all = format!("delete from {t}");
    for (ctx, allowed) in foreign {
        let r = run(app, ctx, None, &delete, false).await;
        expect(
            matches!(r, Ok(0)),
            format!("delete A's row with {ctx:?} -> {r:?}"),
        );
        let r = run(app, ctx, None, &delete_all, false).await;
        expect(
            r.as_ref().ok() == Some(&allowed),
            format!("delete all with {ctx:?} -> {r:?}, may delete {allowed}"),
        );
    }
    let own = run(app, Ctx::Org(a.id), None, &delete, false).await;
    expect(matches!(own, Ok(1)), format!("delete own -> {own:?}"));
    failures
}

/// Update, delete and truncate of an append-only table are refused by
/// privilege in every context, the own organisation's included, and so is
/// moving a row to another organisation.
async fn check_append_only(
    app: &AppPool,
    t: &str,
    a_row: uuid::Uuid,
    a: &Org,
    b: &Org,
) -> Vec<String> {
    let mut failures = Vec::new();
    let statements = [
        format!("update {t} set action = 'x' where id = '{a_row}'"),
        format!("update {t} set action = 'x'"),
        format!("update {t} set org_id = '{}' where id = '{a_row}'", b.id),
        format!("delete from {t} where id = '{a_row}'"),
        format!("delete from {t}"),
        format!("truncate {t}"),
    ];
    for ctx in [Ctx::Org(a.id), Ctx::Org(b.id), Ctx::Empty, Ctx::Unset] {
        for sql in &statements {
            let r = run(app, ctx, None, sql, false).await;
            if !is_rls_refusal(&r) {
                failures.push(format!(
                    "{t}: `{sql}` with {ctx:?} -> {r:?}, expected permission denied"
                ));
            }
        }
    }
    failures
}

#[tokio::test]
async fn every_tenant_table_has_a_matrix_entry() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let mut specced: Vec<String> = SPECS.iter().map(|s| s.table.to_owned()).collect();
    specced.sort();
    assert_eq!(
        tenant_tables(db.superuser()).await,
        specced,
        "every table with org_id needs a TableSpec in policy_matrix.rs"
    );
}

#[tokio::test]
async fn only_the_own_organisation_can_read_or_write_any_tenant_table() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let (a, b) = seed(&db).await;
    let mut failures = Vec::new();
    for spec in SPECS {
        failures.extend(check_table(&db, spec, &a, &b).await);
        // and the other way round
        failures.extend(check_table(&db, spec, &b, &a).await);
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

const POLICY_EXPR: &str = "org_id = nullif((select current_setting('app.org_id', true)), '')::uuid";

/// The policy statements for one command of `table`, as migrations create them.
fn policy(table: &str, cmd: &str, expr: &str) -> String {
    let clause = match cmd {
        "select" | "delete" => format!("using ({expr})"),
        "insert" => format!("with check ({expr})"),
        _ => format!("using ({expr}) with check ({expr})"),
    };
    format!("create policy {table}_{cmd} on {table} for {cmd} to sentra_app {clause}")
}

#[tokio::test]
async fn breaking_any_policy_is_caught_by_the_matrix() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let (a, b) = seed(&db).await;
    let su = db.superuser();
    let mut survivors = Vec::new();
    for spec in SPECS {
        let t = spec.table;
        // The policies the mutations break are exactly the ones the access
        // kind says exist: a stray permissive policy is a finding too.
        let mut present: Vec<String> = sqlx::query_scalar(
            "select lower(cmd) from pg_policies
             where schemaname = 'public' and tablename = $1 and 'sentra_app' = any(roles)",
        )
        .bind(t)
        .fetch_all(su)
        .await
        .unwrap();
        present.sort();
        let mut expected: Vec<&str> = spec.access.policy_commands().to_vec();
        expected.sort_unstable();
        assert_eq!(present, expected, "{t}: sentra_app policies");
        if spec.access == Access::AppendOnly {
            // Granting the missing privileges back must not go unnoticed.
            for privilege in ["update", "delete", "truncate"] {
                sqlx::raw_sql(AssertSqlSafe(format!(
                    "grant {privilege} on {t} to sentra_app"
                )))
                .execute(su)
                .await
                .unwrap();
                if check_table(&db, spec, &a, &b).await.is_empty() {
                    survivors.push(format!("{t}: grant {privilege}"));
                }
                sqlx::raw_sql(AssertSqlSafe(format!(
                    "revoke {privilege} on {t} from sentra_app"
                )))
                .execute(su)
                .await
                .unwrap();
            }
        }
        for &cmd in spec.access.policy_commands() {
            for mutant in ["dropped", "true"] {
                let mut mutate = format!("drop policy {t}_{cmd} on {t};");
                if mutant == "true" {
                    mutate.push_str(&policy(t, cmd, "true"));
                }
                sqlx::raw_sql(AssertSqlSafe(mutate))
                    .execute(su)
                    .await
                    .unwrap();
                if check_table(&db, spec, &a, &b).await.is_empty() {
                    survivors.push(format!("{t}_{cmd} {mutant}"));
                }
                let restore = format!(
                    "drop policy if exists {t}_{cmd} on {t}; {}",
                    policy(t, cmd, POLICY_EXPR)
                );
                sqlx::raw_sql(AssertSqlSafe(restore))
                    .execute(su)
                    .await
                    .unwrap();
            }
        }
    }
    assert!(
        survivors.is_empty(),
        "mutations the matrix did not notice: {survivors:#?}"
    );
    // restored exactly: the lint and the matrix pass again
    assert!(
        sentra_store::lint::catalog_findings(su)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(check_table(&db, &SPECS[2], &a, &b).await.is_empty());
}
