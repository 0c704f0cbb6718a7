//! Reads of the population register: a person, their dashboard, test-login candidates.

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

/// The first branch: the session, the person and their letter summary, with `$extra` columns.
macro_rules! dashboard_main {
    ($extra:literal) => {
        concat!(
            "select 0 as kind, p.id, p.fodselsnummer, p.given_name, p.family_name, p.birth_date, \
             p.street, p.postcode, p.city, p.kommunenummer, '' as sort_key, ps.letters, ps.unread, \
             ps.to_answer, ps.answer_by, s.kind as s_kind, s.fodselsnummer as s_fodselsnummer, \
             s.loa as s_loa, s.staff_subject as s_staff_subject, s.display_name as s_display_name, \
             s.staff_roles as s_staff_roles, s.csrf_token as s_csrf_token, s.issuer as s_issuer, \
             s.sid as s_sid, s.id_token as s_id_token, s.created_at as s_created_at, \
             s.last_seen_at as s_last_seen_at",
            $extra,
            " from sessions s left join persons p on p.fodselsnummer = s.fodselsnummer \
             left join person_summaries ps on ps.fodselsnummer = s.fodselsnummer \
             where s.key = $1"
        )
    };
}

/// The front page in one statement (one read transaction, one round trip): for the session
/// with key `$1`, first a row with the session, the person (when in the register; left join) and
/// their letter summary (when they have had letters; left join), then their properties (kind 1)
/// and the children they are guardian for (kind 2). The session's columns are named as in
/// `sessions.rs` (`s_…`). Three branches and no `order by` (the lists are sorted here): on
/// PostgreSQL that ran about a fifth faster than a branch per kind with a sort (pgbench, issue 4).
const DASHBOARD_SQL: &str = concat!(
    dashboard_main!(""),
    " union all \
    select 1, null, null, pr.address, null, null, null, null, null, null, pr.matrikkel, null, null, null, null, \
           null, null, null, null, null, null, null, null, null, null, null, null \
    from sessions s join persons p on p.fodselsnummer = s.fodselsnummer \
         join property_owners o on o.person_id = p.id join properties pr on pr.id = o.property_id \
    where s.key = $1 \
    union all \
    select 2, null, null, c.given_name, null, null, null, null, null, null, c.birth_date, null, null, null, null, \
           null, null, null, null, null, null, null, null, null, null, null, null \
    from sessions s join persons p on p.fodselsnummer = s.fodselsnummer \
         join guardianships g on g.guardian_id = p.id join persons c on c.id = g.child_id \
    where s.key = $1"
);

/// On SQLite the front page is one row: the properties and children as JSON arrays of
/// `[matrikkel, address]` and `[birth date, given name]` from subqueries of the person, which
/// seeks the session and the person once instead of once per branch (about a quarter faster on
/// SQLite, issue 4). PostgreSQL keeps the three branches it runs fastest.
const DASHBOARD_SQL_SQLITE: &str = dashboard_main!(
    ", (select json_group_array(json_array(pr.matrikkel, pr.address)) \
        from property_owners o join properties pr on pr.id = o.property_id \
        where o.person_id = p.id) as properties, \
       (select json_group_array(json_array(c.birth_date, c.given_name)) \
        from guardianships g join persons c on c.id = g.child_id \
        where g.guardian_id = p.id) as children"
);

/// A JSON array of two-string arrays from [`DASHBOARD_SQL_SQLITE`] (none when there is no person).
fn pairs(r: &dyn Cols, column: &'static str) -> Result<Vec<(String, String)>, StoreError> {
    match r.opt_text(column)? {
        Some(json) => serde_json::from_str(&json).map_err(corrupt(column)),
        None => Ok(Vec::new()),
    }
}

/// Properties and children as (matrikkel as stored, address) and (birth date, given name): the
/// order they are listed in, then what is shown.
type Lists = (Vec<(String, String)>, Vec<(String, String)>);

enum DashboardRow {
    /// The session, the person, their counts, and (on SQLite) their lists.
    Main(Box<(Session, Option<Person>, InboxCounts, Lists)>),
    /// A property: its matrikkel as stored and its address.
    Property(String, String),
    /// A child: birth date (ISO, sorts as a date) and given name.
    Child(String, String),
}

pub(crate) async fn session_dashboard(
    reader: Reader<'_>,
    key: &SessionKey,
    backend: crate::Backend,
) -> Result<Option<(Session, DashboardData)>, StoreError> {
    let one_row = backend == crate::Backend::Sqlite;
    let sql = if one_row {
        DASHBOARD_SQL_SQLITE
    } else {
        DASHBOARD_SQL
    };
    let rows = reader
        .all(sql, &[Arg::Text(key.0.as_str())], |r| {
            Ok(match r.int("kind")? {
                0 => {
                    let session = crate::sessions::session_from_row(key, r)?;
                    let person = match r.opt_int("id")? {
                        Some(_) => Some(person_from_row(r)?),
                        None => None,
                    };
                    let counts = match r.opt_int("letters")? {
                        Some(_) => crate::summaries::counts_from_row(r)?,
                        None => InboxCounts::default(),
                    };
                    let lists = if one_row {
                        (pairs(r, "properties")?, pairs(r, "children")?)
                    } else {
                        (Vec::new(), Vec::new())
                    };
                    DashboardRow::Main(Box::new((session, person, counts, lists)))
                }
                1 => DashboardRow::Property(r.text("sort_key")?, r.text("given_name")?),
                _ => DashboardRow::Child(r.text("sort_key")?, r.text("given_name")?),
            })
        })
        .await?;
    let (mut properties, mut children) = (Vec::new(), Vec::new());
    let mut main = None;
    for row in rows {
        match row {
            DashboardRow::Main(m) => {
                let (session, person, counts, (p, c)) = *m;
                properties.extend(p);
                children.extend(c);
                main = Some((session, person, counts));
            }
            DashboardRow::Property(stored, address) => properties.push((stored, address)),
            DashboardRow::Child(born, name) => children.push((born, name)),
        }
    }
    let Some((session, person, counts)) = main else {
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

pub(crate) async fn contact_record(
    reader: Reader<'_>,
    fnr: &Fodselsnummer,
) -> Result<Option<minside_core::person::ContactRecord>, StoreError> {
    use minside_core::person::{ContactChannel, ContactRecord, RegisterStatus};
    let channel =
        |r: &dyn Cols, v: &str, u: &str, ver: &str| -> Result<Option<ContactChannel>, StoreError> {
            match (r.opt_text(v)?, r.opt_time(u)?) {
                (Some(value), Some(updated_at)) => Ok(Some(ContactChannel {
                    value,
                    updated_at,
                    verified_at: r.opt_time(ver)?,
                })),
                _ => Ok(None),
            }
        };
    reader
        .optional(
            "select c.status, c.reserved, c.email, c.email_updated_at, c.email_verified_at, c.mobile, \
             c.mobile_updated_at, c.mobile_verified_at, c.language \
             from contact_records c join persons p on p.id = c.person_id where p.fodselsnummer = $1",
            &[Arg::Text(fnr.as_str())],
            |r| {
                let status = r.text("status")?;
                Ok(ContactRecord {
                    status: RegisterStatus::from_code(&status).ok_or_else(|| {
                        StoreError::Corrupt(format!("contact_records.status {status}"))
                    })?,
                    reserved: r.int("reserved")? == 1,
                    email: channel(r, "email", "email_updated_at", "email_verified_at")?,
                    mobile: channel(r, "mobile", "mobile_updated_at", "mobile_verified_at")?,
                    language: r.opt_text("language")?,
                })
            },
        )
        .await
}
