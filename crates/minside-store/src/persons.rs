//! Reads of the population register: a person, their dashboard, test-login candidates.

use crate::batch::Coalescer;
use crate::codec::{corrupt, date, Cols};
use crate::db;
use crate::fast::{Arg, Reader};
use minside_core::auth::StaffRole;
use minside_core::ident::{Fodselsnummer, Kommunenummer, MatrikkelId};
use minside_core::letters::InboxCounts;
use minside_core::person::{
    Address, CandidateGroup, Dashboard, DashboardData, LoginCandidate, Person, PersonId, Property,
    StaffUser,
};
use minside_core::ports::StoreError;
use minside_core::session::{Session, SessionKey};
use sqlx::{AnyPool, Row};

pub(crate) const PERSON_COLUMNS: &str =
    "id, fodselsnummer, given_name, family_name, birth_date, street, postcode, city, kommunenummer";

pub(crate) fn person_from_row(r: &dyn Cols) -> Result<Person, StoreError> {
    Ok(Person {
        id: PersonId(r.int("id")?),
        fnr: Fodselsnummer::parse(&r.text("fodselsnummer")?)
            .map_err(corrupt("persons.fodselsnummer"))?,
        given_name: r.text("given_name")?,
        family_name: r.text("family_name")?,
        birth_date: date(&r.text("birth_date")?)?,
        address: Address {
            street: r.text("street")?,
            postcode: r.text("postcode")?,
            city: r.text("city")?,
        },
        kommunenummer: Kommunenummer::parse(&r.text("kommunenummer")?)
            .map_err(corrupt("persons.kommunenummer"))?,
    })
}

pub(crate) async fn count(pool: &AnyPool) -> Result<i64, StoreError> {
    sqlx::query("select count(*) as n from persons")
        .fetch_one(pool)
        .await
        .map_err(db)?
        .try_get("n")
        .map_err(db)
}

pub(crate) async fn by_fnr(
    pool: &AnyPool,
    fnr: &Fodselsnummer,
) -> Result<Option<Person>, StoreError> {
    let sql = format!("select {PERSON_COLUMNS} from persons where fodselsnummer = $1");
    let row = sqlx::query(&sql)
        .bind(fnr.as_str())
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.as_ref().map(|r| person_from_row(r)).transpose()
}

/// The front page in one statement (one read transaction, one round trip), one row: for the
/// session whose key `$where` selects, the session, the person (when in the register; left
/// join), their letter summary (when they have had letters; left join), and their properties and
/// the children they are guardian for as JSON arrays of `[matrikkel, address]` and `[birth date,
/// given name]` kept with the person (migration 0009: triggers keep them current with the
/// register tables; sorted here). The session's columns are named as in `sessions.rs` (`s_…`).
/// The columns are in the order [`dashboard_row`] reads them: a column is looked up by its name
/// from the one after the last found (`fast::ColumnNames`).
/// One row seeks the session and the person once: on SQLite about a quarter faster than three
/// `union all` branches (main row, properties, children); on PostgreSQL, by pgbench at 300,000
/// residents, a third to a half more statements a second at 32 clients and a fifth to a third
/// more with one (issue 4, report vm-12). The lists were two subqueries of the person until
/// 2026-12-03: on PostgreSQL a quarter to a third of the statement's time (issue 4).
macro_rules! dashboard_sql {
    ($where:literal) => {
        concat!(
            "select s.key as s_key, s.kind as s_kind, s.fodselsnummer as s_fodselsnummer, \
             s.loa as s_loa, s.display_name as s_display_name, s.staff_subject as s_staff_subject, \
             s.staff_roles as s_staff_roles, s.csrf_token as s_csrf_token, s.issuer as s_issuer, \
             s.sid as s_sid, s.id_token as s_id_token, s.created_at as s_created_at, \
             s.last_seen_at as s_last_seen_at, \
             p.id, p.fodselsnummer, p.given_name, p.family_name, p.birth_date, \
             p.street, p.postcode, p.city, p.kommunenummer, ps.letters, ps.unread, \
             ps.to_answer, ps.answer_by, \
             p.dashboard_properties as properties, p.dashboard_children as children \
             from sessions s left join persons p on p.fodselsnummer = s.fodselsnummer \
             left join person_summaries ps on ps.fodselsnummer = s.fodselsnummer \
             where ",
            $where
        )
    };
}

const DASHBOARD_SQL: &str = dashboard_sql!("s.key = $1");
/// Several sessions' front pages in one statement (PostgreSQL): `$1` is a JSON array of their
/// keys (the `Any` driver binds no arrays). By pgbench at 10,000 residents: 24k sessions a second
/// one per statement at 32 clients, 85k eight per statement at 4 (issue 4). bench/harness.py
/// finds this condition (`MANY_SESSIONS`) to run the statement for one session with pgbench.
const DASHBOARDS_SQL_POSTGRES: &str =
    dashboard_sql!("s.key = any(array(select json_array_elements_text($1::json)))");

/// A JSON array of two-string arrays from the dashboard's statement (none when there is no person
/// or the list is empty).
fn pairs(r: &dyn Cols, column: &'static str) -> Result<Vec<(String, String)>, StoreError> {
    match r.opt_text(column)? {
        Some(json) => serde_json::from_str(&json).map_err(corrupt(column)),
        None => Ok(Vec::new()),
    }
}

/// The dashboard's row: the session, the person, their counts, their properties as (matrikkel as
/// stored, address) and children as (birth date, given name): the order they are listed in, then
/// what is shown.
pub(crate) type DashboardRow = (
    Session,
    Option<Person>,
    InboxCounts,
    Vec<(String, String)>,
    Vec<(String, String)>,
);

fn dashboard_row(key: &SessionKey, r: &dyn Cols) -> Result<DashboardRow, StoreError> {
    let session = crate::sessions::session_from_row(key, r)?;
    let person = match r.opt_int("id")? {
        Some(_) => Some(person_from_row(r)?),
        None => None,
    };
    let counts = match r.opt_int("letters")? {
        Some(_) => crate::summaries::counts_from_row(r)?,
        None => InboxCounts::default(),
    };
    Ok((
        session,
        person,
        counts,
        pairs(r, "properties")?,
        pairs(r, "children")?,
    ))
}

/// The dashboards of concurrent requests, one statement for those that arrive together.
pub(crate) fn dashboard_reads(pool: AnyPool, max_connections: u32) -> Coalescer<DashboardRow> {
    crate::batch::by_session(
        pool,
        max_connections,
        DASHBOARD_SQL,
        DASHBOARDS_SQL_POSTGRES,
        dashboard_row,
    )
}

pub(crate) async fn session_dashboard(
    reader: Reader<'_>,
    dashboards: Option<&Coalescer<DashboardRow>>,
    key: &SessionKey,
) -> Result<Option<(Session, DashboardData)>, StoreError> {
    let row = match dashboards {
        Some(together) => together.get(&key.0).await?,
        None => {
            reader
                .optional(DASHBOARD_SQL, &[Arg::Text(key.0.as_str())], |r| {
                    dashboard_row(key, r)
                })
                .await?
        }
    };
    let Some((session, person, counts, mut properties, mut children)) = row else {
        return Ok(None);
    };
    properties.sort_by(|a, b| a.0.cmp(&b.0));
    children.sort();
    let properties = properties
        .into_iter()
        .map(|(stored, address)| {
            Ok(Property {
                matrikkel: MatrikkelId::parse(&stored).map_err(corrupt("properties.matrikkel"))?,
                address,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let register = person.map(|person| Dashboard {
        person,
        properties,
        children: children.into_iter().map(|(_, name)| name).collect(),
    });
    Ok(Some((session, DashboardData { register, counts })))
}

pub(crate) async fn login_candidates(
    pool: &AnyPool,
    per_group: i64,
) -> Result<Vec<LoginCandidate>, StoreError> {
    let groups: [(CandidateGroup, &str); 5] = [
        (
            CandidateGroup::Guardian,
            "exists (select 1 from guardianships g where g.guardian_id = p.id)",
        ),
        (
            CandidateGroup::Owner,
            "exists (select 1 from property_owners o where o.person_id = p.id)",
        ),
        (
            CandidateGroup::Reserved,
            "exists (select 1 from contact_records c where c.person_id = p.id and c.reserved = 1)",
        ),
        (
            CandidateGroup::Child,
            "exists (select 1 from guardianships g where g.child_id = p.id)",
        ),
        (CandidateGroup::Elderly, "p.birth_date < '1950-01-01'"),
    ];
    let mut out = Vec::new();
    for (group, condition) in groups {
        let sql = format!(
            "select fodselsnummer, given_name, family_name, birth_date from persons p where {condition} order by p.id limit $1"
        );
        for r in sqlx::query(&sql)
            .bind(per_group)
            .fetch_all(pool)
            .await
            .map_err(db)?
        {
            let get = |c: &str| r.try_get::<String, _>(c).map_err(db);
            out.push(LoginCandidate {
                group,
                fnr: Fodselsnummer::parse(&get("fodselsnummer")?)
                    .map_err(corrupt("persons.fodselsnummer"))?,
                name: format!("{} {}", get("given_name")?, get("family_name")?),
                birth_date: date(&get("birth_date")?)?,
            });
        }
    }
    Ok(out)
}

pub(crate) async fn staff_users(pool: &AnyPool) -> Result<Vec<StaffUser>, StoreError> {
    sqlx::query("select username, name, roles from staff_users order by username")
        .fetch_all(pool)
        .await
        .map_err(db)?
        .iter()
        .map(|r| {
            let roles: String = r.try_get("roles").map_err(db)?;
            Ok(StaffUser {
                username: r.try_get("username").map_err(db)?,
                name: r.try_get("name").map_err(db)?,
                roles: roles.split(',').filter_map(StaffRole::from_code).collect(),
            })
        })
        .collect()
}

/// The contact record's columns with the person's fødselsnummer; `where` follows.
macro_rules! contact_select {
    () => {
        "select p.fodselsnummer, c.status, c.reserved, c.email, c.email_updated_at, c.email_verified_at, \
         c.mobile, c.mobile_updated_at, c.mobile_verified_at, c.language \
         from contact_records c join persons p on p.id = c.person_id where p.fodselsnummer "
    };
}

pub(crate) async fn contact_record(
    reader: Reader<'_>,
    fnr: &Fodselsnummer,
) -> Result<Option<minside_core::person::ContactRecord>, StoreError> {
    const ONE: &str = concat!(contact_select!(), "= $1");
    Ok(reader
        .optional(ONE, &[Arg::Text(fnr.as_str())], contact_row)
        .await?
        .map(|(_, record)| record))
}

/// The contact records of several persons in one statement (a worker's claim of notices); the
/// persons that have one.
pub(crate) async fn contact_records(
    reader: Reader<'_>,
    fnrs: &[&Fodselsnummer],
) -> Result<Vec<(Fodselsnummer, minside_core::person::ContactRecord)>, StoreError> {
    let mut out = Vec::with_capacity(fnrs.len());
    for chunk in fnrs.chunks(500) {
        let sql = format!(
            concat!(contact_select!(), "in ({})"),
            crate::write::params(1, chunk.len())
        );
        let args: Vec<Arg<'_>> = chunk.iter().map(|f| Arg::Text(f.as_str())).collect();
        for (fnr, record) in reader.all(&sql, &args, contact_row).await? {
            let fnr = Fodselsnummer::parse(&fnr).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            out.push((fnr, record));
        }
    }
    Ok(out)
}

/// A contact record with its person's fødselsnummer as stored (parsed only where it is needed:
/// the one-person read is on every letter's way in).
fn contact_row(r: &dyn Cols) -> Result<(String, minside_core::person::ContactRecord), StoreError> {
    use minside_core::person::{ContactChannel, ContactRecord, RegisterStatus};
    let channel = |v: &str, u: &str, ver: &str| -> Result<Option<ContactChannel>, StoreError> {
        match (r.opt_text(v)?, r.opt_time(u)?) {
            (Some(value), Some(updated_at)) => Ok(Some(ContactChannel {
                value,
                updated_at,
                verified_at: r.opt_time(ver)?,
            })),
            _ => Ok(None),
        }
    };
    let status = r.text("status")?;
    Ok((
        r.text("fodselsnummer")?,
        ContactRecord {
            status: RegisterStatus::from_code(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("contact_records.status {status}")))?,
            reserved: r.int("reserved")? == 1,
            email: channel("email", "email_updated_at", "email_verified_at")?,
            mobile: channel("mobile", "mobile_updated_at", "mobile_verified_at")?,
            language: r.opt_text("language")?,
        },
    ))
}
