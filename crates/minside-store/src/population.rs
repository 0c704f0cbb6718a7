//! Bulk insert of register data (seeding): multi-row statements in one transaction.

use crate::codec::{opt_ts, ts};
use crate::{db, Backend};
use minside_core::person::{ContactChannel, Population};
use minside_core::ports::StoreError;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyPool, Row};
use std::collections::HashMap;

/// Rows per statement: sqlx looks each SQLite parameter up by name among all of the statement's,
/// so the cost per value grows with their number; a few hundred values a statement is fastest.
pub(crate) const CHUNK: usize = 25;

/// `($1,$2,..),($n+1,..)` for `rows` rows of `cols` columns.
pub(crate) fn values(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", crate::write::params(r * cols + 1, cols)))
        .collect::<Vec<_>>()
        .join(",")
}

fn channel<'q>(
    q: Query<'q, Any, AnyArguments<'q>>,
    c: &'q Option<ContactChannel>,
) -> Query<'q, Any, AnyArguments<'q>> {
    q.bind(c.as_ref().map(|c| c.value.as_str()))
        .bind(c.as_ref().map(|c| ts(c.updated_at)))
        .bind(c.as_ref().and_then(|c| opt_ts(c.verified_at)))
}

/// The statements that fill every person's front-page lists from the register tables: the end of
/// migration 0009 (from its marker on), which fills them for a database that had persons before.
fn fill_dashboard_lists(backend: Backend) -> &'static str {
    const MARKER: &str = "-- Fill the lists of the persons already there";
    let migration = match backend {
        Backend::Sqlite => include_str!("../migrations/sqlite/0009_dashboard_lists.sql"),
        Backend::Postgres => include_str!("../migrations/postgres/0009_dashboard_lists.sql"),
    };
    migration.find(MARKER).map_or("", |at| &migration[at..])
}

/// Loads the register in one transaction. The triggers of migration 0009 that keep the front
/// page's lists current row by row are told to stand aside (`register_bulk_load`, seen by this
/// transaction only), and the lists are filled once at the end, in one pass over each table.
pub(crate) async fn insert(
    pool: &AnyPool,
    backend: Backend,
    p: &Population,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.map_err(db)?;
    sqlx::query("insert into register_bulk_load (loading) values (1)")
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let mut ids: Vec<i64> = Vec::with_capacity(p.persons.len());
    for chunk in p.persons.chunks(CHUNK) {
        let sql = format!(
            "insert into persons (fodselsnummer, given_name, family_name, birth_date, street, postcode, city, kommunenummer, created_at) \
             values {} returning id, fodselsnummer",
            values(chunk.len(), 9)
        );
        let mut q = sqlx::query(&sql);
        let birth: Vec<String> = chunk.iter().map(|n| n.birth_date.to_string()).collect();
        for (n, b) in chunk.iter().zip(&birth) {
            q = q
                .bind(n.fnr.as_str())
                .bind(n.given_name.as_str())
                .bind(n.family_name.as_str())
                .bind(b.as_str())
                .bind(n.address.street.as_str())
                .bind(n.address.postcode.as_str())
                .bind(n.address.city.as_str())
                .bind(n.kommunenummer.as_str())
                .bind(ts(p.registered_at));
        }
        let rows = q.fetch_all(&mut *tx).await.map_err(db)?;
        let by_fnr: HashMap<String, i64> = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("fodselsnummer").map_err(db)?,
                    r.try_get("id").map_err(db)?,
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        for n in chunk {
            let id = by_fnr
                .get(n.fnr.as_str())
                .ok_or_else(|| StoreError::Database("insert lost a row".into()))?;
            ids.push(*id);
        }
        let sql = format!(
            "insert into contact_records (person_id, status, reserved, email, email_updated_at, email_verified_at, \
             mobile, mobile_updated_at, mobile_verified_at, language) values {}",
            values(chunk.len(), 10)
        );
        let mut q = sqlx::query(&sql);
        let start = ids.len() - chunk.len();
        for (n, id) in chunk.iter().zip(&ids[start..]) {
            let c = &n.contact;
            q = q
                .bind(*id)
                .bind(c.status.code())
                .bind(i64::from(c.reserved));
            q = channel(q, &c.email);
            q = channel(q, &c.mobile);
            q = q.bind(c.language.as_deref());
        }
        q.execute(&mut *tx).await.map_err(db)?;
    }
    for chunk in p.relations.chunks(CHUNK) {
        let sql = format!(
            "insert into guardianships (guardian_id, child_id) values {}",
            values(chunk.len(), 2)
        );
        let mut q = sqlx::query(&sql);
        for (g, c, _) in chunk {
            q = q.bind(ids[*g]).bind(ids[*c]);
        }
        q.execute(&mut *tx).await.map_err(db)?;
    }
    for chunk in p.properties.chunks(CHUNK) {
        let sql = format!(
            "insert into properties (matrikkel, address) values {} returning id, matrikkel",
            values(chunk.len(), 2)
        );
        let keys: Vec<String> = chunk
            .iter()
            .map(|np| np.property.matrikkel.to_string())
            .collect();
        let mut q = sqlx::query(&sql);
        for (np, key) in chunk.iter().zip(&keys) {
            q = q.bind(key.as_str()).bind(np.property.address.as_str());
        }
        let rows = q.fetch_all(&mut *tx).await.map_err(db)?;
        let by_key: HashMap<String, i64> = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("matrikkel").map_err(db)?,
                    r.try_get("id").map_err(db)?,
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        let mut owners: Vec<(i64, i64)> = Vec::new();
        for (np, key) in chunk.iter().zip(&keys) {
            let property = *by_key
                .get(key)
                .ok_or_else(|| StoreError::Database("insert lost a property".into()))?;
            owners.extend(np.owners.iter().map(|o| (ids[*o], property)));
        }
        for oc in owners.chunks(CHUNK) {
            let sql = format!(
                "insert into property_owners (person_id, property_id) values {}",
                values(oc.len(), 2)
            );
            let mut q = sqlx::query(&sql);
            for (person, property) in oc {
                q = q.bind(*person).bind(*property);
            }
            q.execute(&mut *tx).await.map_err(db)?;
        }
    }
    for s in &p.staff {
        let roles: Vec<&str> = s.roles.iter().map(|r| r.code()).collect();
        sqlx::query("insert into staff_users (username, name, roles) values ($1, $2, $3)")
            .bind(s.username.as_str())
            .bind(s.name.as_str())
            .bind(roles.join(","))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    for statement in fill_dashboard_lists(backend)
        .split(';')
        .filter(|s| s.contains("update"))
    {
        sqlx::query(statement).execute(&mut *tx).await.map_err(db)?;
    }
    sqlx::query("delete from register_bulk_load")
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)
}
