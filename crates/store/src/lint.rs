//! The row-level-security catalog lint (security bar G1.1, Appendix A).
//!
//! The queries are kept verbatim from `security-bar.md` Appendix A so the CI
//! lint and the tests run the same text. Each returns zero rows on a correct
//! schema; every row is a finding. Run them as a superuser or a monitoring
//! role that can see the whole catalog.

use crate::StoreError;
use sqlx::{AssertSqlSafe, PgPool};

/// One lint: an Appendix A query and what a row from it means.
#[derive(Debug, Clone, Copy)]
pub struct Lint {
    /// The Appendix A id (`"A1"` … `"A8"`; A2 has two queries).
    pub id: &'static str,
    /// What a finding means.
    pub title: &'static str,
    /// The query, verbatim (without the trailing semicolon).
    pub sql: &'static str,
}

/// Every Appendix A query, in order.
pub const CATALOG_LINTS: &[Lint] = &[
    Lint {
        id: "A1",
        title: "tenant table without row-level security enabled and forced",
        sql: "select c.oid::regclass from pg_class c join pg_namespace n on n.oid=c.relnamespace
where n.nspname not in ('pg_catalog','information_schema') and c.relkind in ('r','p')
  and exists (select 1 from pg_attribute a where a.attrelid=c.oid and a.attname='org_id' and not a.attisdropped)
  and not (c.relrowsecurity and c.relforcerowsecurity)",
    },
    Lint {
        id: "A2",
        title: "runtime role is superuser or bypasses row-level security",
        sql: "select rolname from pg_roles where rolname='sentra_app' and (rolsuper or rolbypassrls)",
    },
    Lint {
        id: "A2",
        title: "runtime role owns a relation",
        sql: "select c.oid::regclass from pg_class c join pg_roles r on r.oid=c.relowner where r.rolname='sentra_app'",
    },
    Lint {
        id: "A3",
        title: "view without security_invoker (runs with the owner's rights)",
        sql: "select c.oid::regclass from pg_class c join pg_namespace n on n.oid=c.relnamespace
where n.nspname not in ('pg_catalog','information_schema') and c.relkind='v'
  and not coalesce(c.reloptions @> array['security_invoker=true'] or c.reloptions @> array['security_invoker=on'], false)",
    },
    Lint {
        id: "A4",
        title: "security definer function without a pinned search_path",
        sql: "select p.oid::regprocedure from pg_proc p join pg_namespace n on n.oid=p.pronamespace
where n.nspname not in ('pg_catalog','information_schema') and p.prosecdef
  and not exists (select 1 from unnest(coalesce(p.proconfig,'{}')) s where s like 'search_path=%')",
    },
    Lint {
        id: "A5",
        title: "policy that is always true or lacks WITH CHECK where rows can be written",
        sql: "select schemaname, tablename, policyname, cmd from pg_policies
where qual = 'true' or (cmd in ('ALL','INSERT','UPDATE') and with_check is null)",
    },
    Lint {
        id: "A6",
        title: "foreign key between tenant tables that does not include org_id",
        sql: "select con.conname, con.conrelid::regclass, con.confrelid::regclass from pg_constraint con
where con.contype='f'
  and exists (select 1 from pg_attribute a where a.attrelid=con.conrelid  and a.attname='org_id' and not a.attisdropped)
  and exists (select 1 from pg_attribute a where a.attrelid=con.confrelid and a.attname='org_id' and not a.attisdropped)
  and not exists (select 1 from unnest(con.conkey) k join pg_attribute a on a.attrelid=con.conrelid and a.attnum=k where a.attname='org_id')",
    },
    Lint {
        id: "A7",
        title: "unique index on a tenant table that does not include org_id",
        sql: "select i.indexrelid::regclass from pg_index i
join pg_attribute oa on oa.attrelid=i.indrelid and oa.attname='org_id' and not oa.attisdropped
where i.indisunique and not i.indisprimary and not (oa.attnum = any(i.indkey::int2[]))",
    },
    Lint {
        id: "A8",
        title: "policy calls current_setting() without the (select …) initplan wrapper",
        sql: r"select tablename, policyname from pg_policies
where (qual ~ 'current_setting\(' and qual !~ '\(\s*SELECT\s+current_setting')
   or (with_check ~ 'current_setting\(' and with_check !~ '\(\s*SELECT\s+current_setting')",
    },
];

/// One row returned by a lint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The lint's id (`"A1"` …).
    pub lint: &'static str,
    /// What the lint means.
    pub title: &'static str,
    /// The offending object: the row's columns, space-separated.
    pub object: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.lint, self.title, self.object)
    }
}

/// Runs every lint against the database `pool` is connected to.
pub async fn catalog_findings(pool: &PgPool) -> Result<Vec<Finding>, StoreError> {
    let mut findings = Vec::new();
    for lint in CATALOG_LINTS {
        // The lint text is a constant; wrapping it turns each row, whatever
        // its column types (regclass, regprocedure, name), into one string.
        let wrapped = format!(
            "select array_to_string(array(select value from jsonb_each_text(to_jsonb(q))), ' ') from ({}) q",
            lint.sql
        );
        let rows: Vec<String> = sqlx::query_scalar(AssertSqlSafe(wrapped))
            .fetch_all(pool)
            .await?;
        findings.extend(rows.into_iter().map(|object| Finding {
            lint: lint.id,
            title: lint.title,
            object,
        }));
    }
    Ok(findings)
}
