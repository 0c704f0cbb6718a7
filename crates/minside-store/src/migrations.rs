//! Versioned, forward-only migrations embedded in the binary, one folder per engine.

use sqlx::migrate::{Migration, MigrationType, Migrator};
use std::borrow::Cow;

/// The database engine behind a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `sqlite:` → SQLite, `postgres:`/`postgresql:` → PostgreSQL.
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

/// (version, name, SQLite text, PostgreSQL text). Add a line per migration, same name in both folders.
pub(crate) const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "0001_foundation.sql",
        include_str!("../migrations/sqlite/0001_foundation.sql"),
        include_str!("../migrations/postgres/0001_foundation.sql"),
    ),
    (
        2,
        "0002_jobs.sql",
        include_str!("../migrations/sqlite/0002_jobs.sql"),
        include_str!("../migrations/postgres/0002_jobs.sql"),
    ),
    (
        3,
        "0003_letters.sql",
        include_str!("../migrations/sqlite/0003_letters.sql"),
        include_str!("../migrations/postgres/0003_letters.sql"),
    ),
    (
        4,
        "0004_print_webhooks.sql",
        include_str!("../migrations/sqlite/0004_print_webhooks.sql"),
        include_str!("../migrations/postgres/0004_print_webhooks.sql"),
    ),
    (
        5,
        "0005_replies.sql",
        include_str!("../migrations/sqlite/0005_replies.sql"),
        include_str!("../migrations/postgres/0005_replies.sql"),
    ),
    (
        6,
        "0006_person_summaries.sql",
        include_str!("../migrations/sqlite/0006_person_summaries.sql"),
        include_str!("../migrations/postgres/0006_person_summaries.sql"),
    ),
    (
        7,
        "0007_job_indexes.sql",
        include_str!("../migrations/sqlite/0007_job_indexes.sql"),
        include_str!("../migrations/postgres/0007_job_indexes.sql"),
    ),
    (
        8,
        "0008_job_claim_indexes.sql",
        include_str!("../migrations/sqlite/0008_job_claim_indexes.sql"),
        include_str!("../migrations/postgres/0008_job_claim_indexes.sql"),
    ),
    (
        9,
        "0009_dashboard_lists.sql",
        include_str!("../migrations/sqlite/0009_dashboard_lists.sql"),
        include_str!("../migrations/postgres/0009_dashboard_lists.sql"),
    ),
    (
        10,
        "0010_inbox_covering_index.sql",
        include_str!("../migrations/sqlite/0010_inbox_covering_index.sql"),
        include_str!("../migrations/postgres/0010_inbox_covering_index.sql"),
    ),
    (
        11,
        "0011_inbox_first_pages.sql",
        include_str!("../migrations/sqlite/0011_inbox_first_pages.sql"),
        include_str!("../migrations/postgres/0011_inbox_first_pages.sql"),
    ),
];

/// File names of the embedded migrations, in order.
pub fn migration_names() -> Vec<&'static str> {
    MIGRATIONS.iter().map(|m| m.1).collect()
}

pub(crate) fn migrator(backend: Backend) -> Migrator {
    let migrations: Vec<Migration> = MIGRATIONS
        .iter()
        .map(|(version, name, sqlite, postgres)| {
            let sql = match backend {
                Backend::Sqlite => sqlite,
                Backend::Postgres => postgres,
            };
            let description = name
                .trim_end_matches(".sql")
                .split_once('_')
                .map_or(*name, |(_, d)| d);
            Migration::new(
                *version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                Cow::Borrowed(sql),
                false,
            )
        })
        .collect();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

/// SQLite's plan of a statement on the schema of the embedded migrations, a line per step
/// (parameters left unbound: only the plan is read). For tests that a statement uses its index.
#[cfg(test)]
pub(crate) fn sqlite_plan(sql: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    for (_, _, sqlite, _) in MIGRATIONS {
        conn.execute_batch(sqlite).unwrap();
    }
    let mut stmt = conn.prepare(&format!("explain query plan {sql}")).unwrap();
    let mut rows = stmt.raw_query();
    let mut plan = Vec::new();
    while let Some(row) = rows.next().unwrap() {
        plan.push(row.get::<_, String>(3).unwrap());
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn both_engines_have_the_same_migration_files_and_all_are_embedded() {
        // At run time: a build reused from another checkout with the same sources (a shared
        // target directory) keeps the compile-time path of that checkout.
        let root = std::env::var_os("CARGO_MANIFEST_DIR").unwrap();
        let root = root.to_string_lossy();
        let sqlite = files(&format!("{root}/migrations/sqlite"));
        let postgres = files(&format!("{root}/migrations/postgres"));
        assert_eq!(sqlite, postgres, "migration folders differ");
        assert_eq!(
            sqlite,
            migration_names(),
            "a migration file is not listed in MIGRATIONS"
        );
        for (i, (version, name, _, _)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*version, i as i64 + 1);
            assert!(
                name.starts_with(&format!("{version:04}_")),
                "{name} must start with its version"
            );
        }
    }
}
