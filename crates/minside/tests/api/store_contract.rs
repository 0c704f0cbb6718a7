//! The Store contract, run on whichever engine the test database is (SQLite by default,
//! PostgreSQL with MINSIDE_TEST_DATABASE_URL): the same expectations for both.

use crate::helpers::{fresh_database_url, test_config};
use jiff::Timestamp;
use minside_core::access_log::{Access, Actor, Purpose};
use minside_core::auth::Loa;
use minside_core::ident::Fodselsnummer;
use minside_core::person::CandidateGroup;
use minside_core::ports::Store;
use minside_core::session::{LoginAttempt, LoginKind, NewSession, Principal, SessionKey};

async fn store() -> minside_store::SqlStore {
    store_and_url().await.0
}

/// A seeded store and its database's URL (for tests that look at rows no Store method shows).
async fn store_and_url() -> (minside_store::SqlStore, String) {
    let url = fresh_database_url().await;
    let config = test_config(url.clone());
    let store = minside::open_store(&config).await.unwrap();
    let clock = FixedClock;
    minside::seed(&store, &config, 200, &clock).await.unwrap();
    (store, url)
}

/// A store seeded with 200 residents and a letter history of about 16.7 letters each (as
/// bench/ seeds it), and its database's URL.
async fn store_with_history() -> (minside_store::SqlStore, String) {
    let url = fresh_database_url().await;
    let config = test_config(url.clone());
    let store = minside::open_store(&config).await.unwrap();
    minside::seed_with_history(&store, &config, 200, 16.7, &FixedClock)
        .await
        .unwrap();
    (store, url)
}

struct FixedClock;
impl minside_core::ports::Clock for FixedClock {
    fn now(&self) -> Timestamp {
        "2026-11-22T10:00:00Z".parse().unwrap()
    }
}

#[tokio::test]
async fn seeding_fills_every_group_the_test_login_offers() {
    let s = store().await;
    assert_eq!(s.population_size().await.unwrap(), 200);
    let c = s.login_candidates(3).await.unwrap();
    for g in [
        CandidateGroup::Guardian,
        CandidateGroup::Owner,
        CandidateGroup::Reserved,
        CandidateGroup::Child,
        CandidateGroup::Elderly,
    ] {
        assert!(c.iter().any(|x| x.group == g), "{g:?} missing");
    }
    assert_eq!(s.staff_users().await.unwrap().len(), 4);
}

/// Migration 0009 fills the front page's lists kept with each person from the register tables of
/// a database that had them before: its own statement, run again on a seeded database whose lists
/// were emptied, gives every person exactly their properties and children.
#[tokio::test]
async fn the_migration_that_keeps_the_front_page_lists_fills_them_from_the_register() {
    let (_store, url) = store_and_url().await;
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::query("update persons set dashboard_properties = null, dashboard_children = null")
        .execute(&db)
        .await
        .unwrap();
    let migration = if url.starts_with("postgres") {
        include_str!("../../../minside-store/migrations/postgres/0009_dashboard_lists.sql")
    } else {
        include_str!("../../../minside-store/migrations/sqlite/0009_dashboard_lists.sql")
    };
    let fill = &migration[migration
        .find("-- Fill the lists of the persons already there")
        .unwrap()..];
    sqlx::raw_sql(fill).execute(&db).await.unwrap();
    let (owners, guardians) = crate::helpers::front_page_lists_equal_the_register(&db).await;
    assert!(
        owners > 0 && guardians > 0,
        "{owners} owners, {guardians} guardians"
    );
}

/// The front page's lists follow every change to the register in the same transaction, whoever
/// makes it: an owner added and one removed, an address and a matrikkel corrected, a guardianship
/// added and one removed, a child renamed and their birth date corrected, a property deleted.
#[tokio::test]
async fn the_front_page_lists_follow_every_change_to_the_register() {
    let (_store, url) = store_and_url().await;
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&url).await.unwrap();
    let changes = [
        "insert into property_owners (person_id, property_id) \
         select (select min(id) from persons), max(id) from properties \
         where id not in (select property_id from property_owners \
         where person_id = (select min(id) from persons))",
        "delete from property_owners where property_id = (select max(property_id) from property_owners)",
        "update properties set address = 'Bryggen \"Gamle\" 7\\B, Åsane' \
         where id = (select min(property_id) from property_owners)",
        "update properties set matrikkel = '4601-999/1' \
         where id = (select max(property_id) from property_owners)",
        "insert into guardianships (guardian_id, child_id) \
         select (select max(id) from persons), min(id) from persons \
         where id not in (select child_id from guardianships where guardian_id = (select max(id) from persons))",
        "delete from guardianships where child_id = (select max(child_id) from guardianships)",
        "update persons set given_name = 'Åse Marie', birth_date = '2015-02-28' \
         where id = (select min(child_id) from guardianships)",
        "delete from properties where id = (select min(property_id) from property_owners \
         where property_id <> (select min(property_id) from property_owners))",
    ];
    for change in changes {
        let mut tx = db.begin().await.unwrap();
        let done = sqlx::query(change).execute(&mut *tx).await.unwrap();
        assert!(
            done.rows_affected() > 0,
            "the change did something: {change}"
        );
        tx.commit().await.unwrap();
        let (owners, guardians) = crate::helpers::front_page_lists_equal_the_register(&db).await;
        assert!(owners > 0 && guardians > 0, "after {change}");
    }
}

/// A job that gathers work (the print batch: "one waiting job takes everything queued before it
/// runs") is never left behind by a worker's claim that comes between the check that one is
/// already waiting and the commit of the work just queued: the check waits for the claim, sees
/// the job taken, and enqueues another. (Two workers on PostgreSQL lost a letter for print this
/// way, one run in many: the claimed job looked for letters before the new one was committed.)
#[tokio::test]
async fn a_waiting_job_claimed_while_more_work_is_queued_is_followed_by_a_new_one() {
    let (store, url) = store_and_url().await;
    sqlx::any::install_default_drivers();
    let now = FixedClock.now_();
    store
        .ensure_job("print_batch", "{}", now, now)
        .await
        .unwrap();
    let db = sqlx::AnyPool::connect(&url).await.unwrap();
    let pending = |db: sqlx::AnyPool| async move {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from jobs where kind = 'print_batch' and status = 'pending'",
        )
        .fetch_one(&db)
        .await
        .unwrap()
    };
    assert_eq!(pending(db.clone()).await, 1);
    // A worker claims the waiting job in a transaction of its own (on a thread of its own: on
    // SQLite the store's writer waits for the write lock on its thread), and holds it a moment.
    let (claimed_tx, claimed_rx) = std::sync::mpsc::channel();
    let worker_url = url.clone();
    let worker = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                let db = sqlx::AnyPool::connect(&worker_url).await.unwrap();
                let mut tx = db.begin().await.unwrap();
                let claimed = sqlx::query(
                    "update jobs set status = 'running', locked_until = $1, attempts = attempts + 1 \
                     where kind = 'print_batch' and status = 'pending'",
                )
                .bind(now.as_microsecond() + 60_000_000)
                .execute(&mut *tx)
                .await
                .unwrap()
                .rows_affected();
                claimed_tx.send(claimed).unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(400)).await;
                tx.commit().await.unwrap();
            });
    });
    assert_eq!(claimed_rx.recv().unwrap(), 1, "the worker claimed the job");
    // Meanwhile more work is queued and its job ensured.
    let started = std::time::Instant::now();
    store
        .ensure_job("print_batch", "{}", now, now)
        .await
        .unwrap();
    let waited = started.elapsed();
    worker.join().unwrap();
    assert!(
        waited >= std::time::Duration::from_millis(300),
        "the check waited for the claim to end ({waited:?})"
    );
    assert_eq!(
        pending(db.clone()).await,
        1,
        "a job waits for the work queued while the other was claimed"
    );
}

#[tokio::test]
async fn migrations_are_idempotent() {
    let url = fresh_database_url().await;
    let config = test_config(url);
    minside::open_store(&config).await.unwrap();
    minside::open_store(&config).await.unwrap();
}

#[tokio::test]
async fn a_login_attempt_can_be_taken_exactly_once() {
    let s = store().await;
    let a = LoginAttempt {
        state: "st".into(),
        kind: LoginKind::Citizen,
        nonce: "n".into(),
        code_verifier: "v".into(),
        browser_binding: "b".into(),
        return_to: "/min-side".into(),
        requested_loa: Some(Loa::High),
        created_at: FixedClock.now_(),
    };
    s.save_login_attempt(&a).await.unwrap();
    assert_eq!(s.take_login_attempt("st").await.unwrap(), Some(a));
    assert_eq!(s.take_login_attempt("st").await.unwrap(), None);
}

impl FixedClock {
    fn now_(&self) -> Timestamp {
        minside_core::ports::Clock::now(self)
    }
}

/// A write transaction that fails half-way (the old session ended, then the new one's key is
/// taken) is a `Conflict` and leaves nothing of itself: the old session is still there. The one
/// connection it ran on is ready for the next write at once.
#[tokio::test]
async fn a_failed_write_transaction_is_rolled_back_and_its_connection_serves_the_next() {
    let (_seeded, url) = store_and_url().await;
    let s =
        minside_store::SqlStore::connect(&url, &minside_store::StoreOptions { max_connections: 1 })
            .await
            .unwrap();
    let fnr = Fodselsnummer::parse("20914695016").unwrap();
    let new = |key: &str| NewSession {
        key: SessionKey(key.into()),
        principal: Principal::Citizen {
            fnr: fnr.clone(),
            loa: Loa::Substantial,
            name: None,
        },
        csrf_token: "c".into(),
        issuer: "https://idp".into(),
        sid: None,
        id_token: "t".into(),
        created_at: FixedClock.now_(),
    };
    s.create_session(&new("taken"), None).await.unwrap();
    s.create_session(&new("old"), None).await.unwrap();
    let err = s
        .create_session(&new("taken"), Some(&SessionKey("old".into())))
        .await
        .unwrap_err();
    assert!(
        matches!(err, minside_core::ports::StoreError::Conflict(_)),
        "{err:?}"
    );
    assert!(
        s.session(&SessionKey("old".into()))
            .await
            .unwrap()
            .is_some(),
        "ending the old session was rolled back with the rest"
    );
    s.create_session(&new("next"), Some(&SessionKey("old".into())))
        .await
        .unwrap();
    assert!(s
        .session(&SessionKey("old".into()))
        .await
        .unwrap()
        .is_none());
    assert!(s
        .session(&SessionKey("next".into()))
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn sessions_are_rotated_ended_by_sid_and_purged() {
    let s = store().await;
    let fnr = Fodselsnummer::parse("20914695016").unwrap();
    let new = |key: &str, sid: &str| NewSession {
        key: SessionKey(key.into()),
        principal: Principal::Citizen {
            fnr: fnr.clone(),
            loa: Loa::Substantial,
            name: Some("Kari Nordmann".into()),
        },
        csrf_token: "c".into(),
        issuer: "https://idp".into(),
        sid: Some(sid.into()),
        id_token: "t".into(),
        created_at: FixedClock.now_(),
    };
    s.create_session(&new("a", "s1"), None).await.unwrap();
    s.create_session(&new("b", "s2"), Some(&SessionKey("a".into())))
        .await
        .unwrap();
    assert!(s.session(&SessionKey("a".into())).await.unwrap().is_none());
    let b = s.session(&SessionKey("b".into())).await.unwrap().unwrap();
    assert_eq!(
        b.principal,
        Principal::Citizen {
            fnr: fnr.clone(),
            loa: Loa::Substantial,
            name: Some("Kari Nordmann".into()),
        }
    );
    assert_eq!(s.end_sessions_by_sid("https://idp", "s2").await.unwrap(), 1);
    s.create_session(&new("c", "s3"), None).await.unwrap();
    let later: Timestamp = "2026-11-23T10:00:00Z".parse().unwrap();
    assert_eq!(s.purge_expired(later, later).await.unwrap(), 1);
}

/// Many residents' front pages and sessions asked for at once (on PostgreSQL read together,
/// several sessions to a statement) each get exactly what their own asked for alone: their own
/// session, person, properties, children and counts; the same session asked for twice gets it
/// twice, a staff session has no register data, a key without a session gets none.
#[tokio::test]
async fn front_pages_and_sessions_asked_for_at_once_each_get_their_own() {
    let s = std::sync::Arc::new(store().await);
    let citizen = |fnr: &Fodselsnummer| Principal::Citizen {
        fnr: fnr.clone(),
        loa: Loa::Substantial,
        name: None,
    };
    let mut keys = Vec::new();
    for (i, c) in s.login_candidates(12).await.unwrap().iter().enumerate() {
        let key = SessionKey(format!("front-{i}"));
        let session = NewSession {
            key: key.clone(),
            principal: citizen(&c.fnr),
            csrf_token: format!("csrf-{i}"),
            issuer: "https://idp".into(),
            sid: None,
            id_token: "t".into(),
            created_at: FixedClock.now_(),
        };
        s.create_session(&session, None).await.unwrap();
        keys.push(key);
        if i % 3 == 0 {
            let id = format!("front-letter-{i}");
            s.create_letter(&contract_letter(&c.fnr, &id, &id), &[])
                .await
                .unwrap();
        }
    }
    let staff = NewSession {
        key: SessionKey("front-staff".into()),
        principal: Principal::Staff {
            subject: "s".into(),
            name: "Sakshandsamar".into(),
            roles: vec![],
        },
        csrf_token: "csrf-staff".into(),
        issuer: "https://idp".into(),
        sid: None,
        id_token: "t".into(),
        created_at: FixedClock.now_(),
    };
    s.create_session(&staff, None).await.unwrap();
    keys.push(staff.key.clone());
    keys.push(SessionKey("no-such-session".into()));
    keys.push(keys[0].clone());
    assert!(keys.len() > 40, "{}", keys.len());

    let mut alone = Vec::new();
    for key in &keys {
        alone.push(s.session_dashboard(key).await.unwrap());
    }
    let together: Vec<_> = keys
        .iter()
        .map(|key| {
            let (s, key) = (std::sync::Arc::clone(&s), key.clone());
            tokio::spawn(async move {
                let (dashboard, session) = tokio::join!(s.session_dashboard(&key), s.session(&key));
                (dashboard.unwrap(), session.unwrap())
            })
        })
        .collect();
    for ((key, alone), together) in keys.iter().zip(&alone).zip(together) {
        let (together, session) = together.await.unwrap();
        match (&together, &session) {
            (Some((from_dashboard, _)), Some(session)) => {
                assert_eq!(&session.key, key);
                assert_eq!(session.principal, from_dashboard.principal);
                assert_eq!(session.csrf_token, from_dashboard.csrf_token);
            }
            (None, None) => {}
            other => panic!("{key:?}: {other:?}"),
        }
        match (alone, &together) {
            (Some((a_session, a_data)), Some((t_session, t_data))) => {
                assert_eq!(&t_session.key, key);
                assert_eq!(t_session.principal, a_session.principal);
                assert_eq!(t_session.csrf_token, a_session.csrf_token);
                assert_eq!(t_data, a_data, "{key:?}");
            }
            (None, None) => assert_eq!(key.0, "no-such-session"),
            other => panic!("{key:?}: {other:?}"),
        }
    }
    // What was compared: people with properties, with children, with letters, and one without
    // register data (the staff session).
    let data: Vec<_> = alone.iter().flatten().map(|(_, d)| d).collect();
    let registered: Vec<_> = data.iter().filter_map(|d| d.register.as_ref()).collect();
    assert!(registered.iter().any(|d| !d.properties.is_empty()));
    assert!(registered.iter().any(|d| !d.children.is_empty()));
    assert!(data.iter().any(|d| d.counts.letters > 0));
    assert_eq!(data.iter().filter(|d| d.register.is_none()).count(), 1);
}

/// Many residents' letters asked for at once (on PostgreSQL read together, several to a
/// statement) each come back exactly as asked for alone, with their documents in order; a
/// letter asked for by someone else than its recipient, or an id that does not exist, gets none,
/// and the same letter asked for twice gets it twice.
#[tokio::test]
async fn letters_asked_for_at_once_each_get_their_own_and_only_their_recipient_gets_one() {
    use minside_core::letters::{DocumentType, NewDocument};
    let s = std::sync::Arc::new(store().await);
    let people = s.login_candidates(12).await.unwrap();
    let mut asks: Vec<(Fodselsnummer, String)> = Vec::new();
    for (i, c) in people.iter().enumerate() {
        let id = format!("together-{i}");
        let mut letter = contract_letter(&c.fnr, &id, &id);
        for n in 0..i % 3 {
            letter.draft.documents.push(NewDocument {
                filename: format!("vedlegg-{n}.pdf"),
                doc_type: DocumentType::Pdf,
                content: b"%PDF-1.7".to_vec(),
                exclude_from_print: false,
            });
            letter.blob_keys.push(format!("letters/together/{i}-{n}"));
        }
        s.create_letter(&letter, &[]).await.unwrap();
        asks.push((c.fnr.clone(), id));
    }
    let (first, second) = (people[0].fnr.clone(), people[1].fnr.clone());
    asks.push((second.clone(), "together-0".into()));
    asks.push((first.clone(), "together-1".into()));
    asks.push((first.clone(), "no-such-letter".into()));
    asks.push((first.clone(), "together-0".into()));
    let asks: Vec<_> = asks.iter().cycle().take(asks.len() * 3).cloned().collect();
    assert!(asks.len() > 40, "{}", asks.len());

    let mut alone = Vec::new();
    for (fnr, id) in &asks {
        alone.push(s.letter_for_recipient(fnr, id).await.unwrap());
    }
    let together: Vec<_> = asks
        .iter()
        .map(|(fnr, id)| {
            let (s, fnr, id) = (std::sync::Arc::clone(&s), fnr.clone(), id.clone());
            tokio::spawn(async move { s.letter_for_recipient(&fnr, &id).await.unwrap() })
        })
        .collect();
    for (((fnr, id), alone), together) in asks.iter().zip(&alone).zip(together) {
        let together = together.await.unwrap();
        assert_eq!(&together, alone, "{id}");
        let own = id
            .strip_prefix("together-")
            .and_then(|n| n.parse::<usize>().ok());
        match (own, &together) {
            (Some(n), Some(letter)) => {
                assert_eq!(
                    fnr, &people[n].fnr,
                    "{id} shown to another than its recipient"
                );
                assert_eq!(&letter.public_id, id);
                let names: Vec<_> = letter
                    .documents
                    .iter()
                    .map(|d| d.filename.clone())
                    .collect();
                let expected: Vec<_> = (0..n % 3).map(|k| format!("vedlegg-{k}.pdf")).collect();
                assert_eq!(names, expected, "{id}");
            }
            (Some(n), None) => assert_ne!(fnr, &people[n].fnr, "{id} not found for its recipient"),
            (None, found) => assert!(found.is_none(), "{id}"),
        }
    }
}

/// Many residents' first inbox pages asked for at once (on PostgreSQL read together, several to
/// a statement) are each the resident's own page exactly as the general query lists it (here:
/// the same query with a search every title matches): newest first, archived letters left out,
/// read and unread as marked, and where the next page starts.
#[tokio::test]
async fn first_inbox_pages_asked_for_at_once_each_list_their_own_letters() {
    use minside_core::letters::{InboxFilter, InboxQuery};
    use minside_core::ports::Clock;
    let s = std::sync::Arc::new(store().await);
    let people = s.login_candidates(12).await.unwrap();
    for (i, c) in people.iter().enumerate().take(6) {
        for n in 0..4 {
            let id = format!("inbox-{i}-{n}");
            let mut letter = contract_letter(&c.fnr, &id, &id);
            letter.created_at = FixedClock.now() + jiff::SignedDuration::from_secs(n);
            s.create_letter(&letter, &[]).await.unwrap();
        }
        let newest = s
            .letter_for_recipient(&c.fnr, &format!("inbox-{i}-3"))
            .await;
        let newest = newest.unwrap().unwrap();
        s.set_letter_archived(newest.id, true, FixedClock.now())
            .await
            .unwrap();
        let read = s
            .letter_for_recipient(&c.fnr, &format!("inbox-{i}-1"))
            .await;
        s.mark_letter_read(read.unwrap().unwrap().id, FixedClock.now())
            .await
            .unwrap();
    }
    let first = |search: Option<String>| InboxQuery {
        filter: InboxFilter::All,
        search,
        after: None,
        limit: 2,
        now: FixedClock.now(),
    };
    let asks: Vec<Fodselsnummer> = people
        .iter()
        .cycle()
        .take(48)
        .map(|c| c.fnr.clone())
        .collect();
    let mut general = Vec::new();
    for fnr in &asks {
        general.push(s.inbox(fnr, &first(Some(String::new()))).await.unwrap());
    }
    let together: Vec<_> = asks
        .iter()
        .map(|fnr| {
            let (s, fnr, q) = (std::sync::Arc::clone(&s), fnr.clone(), first(None));
            tokio::spawn(async move { s.inbox(&fnr, &q).await.unwrap() })
        })
        .collect();
    for ((fnr, general), together) in asks.iter().zip(&general).zip(together) {
        assert_eq!(&together.await.unwrap(), general, "{}", fnr.as_str());
    }
    // What was compared: the pages of the residents given letters here list the two newest not
    // archived, the older one read, and go on to a next page.
    let page = &general[0];
    let ids: Vec<_> = page.items.iter().map(|i| i.public_id.as_str()).collect();
    assert_eq!(ids, ["inbox-0-2", "inbox-0-1"]);
    assert_eq!(
        page.items.iter().map(|i| i.read).collect::<Vec<_>>(),
        [false, true]
    );
    assert!(page.next.is_some());
}

/// Every resident's first inbox page (the inbox's page size, no filter, no search) and the same
/// page as the general query lists it (a search every title matches); `(residents with letters,
/// residents with more than a page)` compared.
async fn first_pages_equal_the_general_listing(
    s: &minside_store::SqlStore,
    residents: &[Fodselsnummer],
) -> (usize, usize) {
    use minside_core::letters::{InboxFilter, InboxQuery, INBOX_PAGE_SIZE};
    use minside_core::ports::Clock;
    let page = |search: Option<String>| InboxQuery {
        filter: InboxFilter::All,
        search,
        after: None,
        limit: INBOX_PAGE_SIZE,
        now: FixedClock.now(),
    };
    let (mut with_letters, mut more_than_a_page) = (0, 0);
    for fnr in residents {
        let kept = s.inbox(fnr, &page(None)).await.unwrap();
        let listed = s.inbox(fnr, &page(Some(String::new()))).await.unwrap();
        assert_eq!(kept, listed, "{}", fnr.as_str());
        with_letters += usize::from(!kept.items.is_empty());
        more_than_a_page += usize::from(kept.next.is_some());
    }
    (with_letters, more_than_a_page)
}

/// Each resident's first inbox page is kept current whoever changes their letters (on PostgreSQL
/// it is kept with the resident by migration 0011's triggers; on SQLite listed each time): after
/// a bulk-loaded letter history; after a new letter, reading, marking unread, answering,
/// archiving (of the newest, so the 21st letter comes onto the page) and restoring; and after an
/// operator corrects a letter's title and moves a letter to another resident by hand. The page
/// is compared with the general query's for every resident each time; on PostgreSQL also after
/// migration 0011's own statement has filled the pages again.
#[tokio::test]
async fn each_residents_first_inbox_page_follows_every_change_to_their_letters() {
    use minside_core::letters::{InboxFilter, InboxQuery, ResponseOption};
    use minside_core::ports::Clock;
    let (s, url) = store_with_history().await;
    let residents: Vec<Fodselsnummer> = s
        .login_candidates(200)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.fnr)
        .collect();
    let (with_letters, long) = first_pages_equal_the_general_listing(&s, &residents).await;
    assert!(with_letters > 100 && long > 10, "{with_letters}, {long}");
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&url).await.unwrap();
    if url.starts_with("postgres") {
        // The migration's own statement fills the pages of a database that had letters before.
        sqlx::query("delete from inbox_first_pages")
            .execute(&db)
            .await
            .unwrap();
        let migration =
            include_str!("../../../minside-store/migrations/postgres/0011_inbox_first_pages.sql");
        let fill = &migration[migration
            .find("-- The pages of the residents already there")
            .unwrap()..];
        sqlx::raw_sql(fill).execute(&db).await.unwrap();
        first_pages_equal_the_general_listing(&s, &residents).await;
    }

    // The resident with the longest inbox.
    let newest_first = |fnr: &Fodselsnummer| {
        let q = InboxQuery {
            filter: InboxFilter::All,
            search: Some(String::new()),
            after: None,
            limit: 1000,
            now: FixedClock.now(),
        };
        let (s, fnr) = (&s, fnr.clone());
        async move { s.inbox(&fnr, &q).await.unwrap().items }
    };
    let mut longest = (0, residents[0].clone());
    for fnr in &residents {
        longest = longest.max((newest_first(fnr).await.len(), fnr.clone()));
    }
    let (count, fnr) = longest;
    assert!(count > 21, "{count} letters");
    let id_of = |public_id: String| {
        let (s, fnr) = (&s, fnr.clone());
        async move {
            s.letter_for_recipient(&fnr, &public_id)
                .await
                .unwrap()
                .unwrap()
                .id
        }
    };
    let mut letter = contract_letter(&fnr, "kept-new", "kept-new");
    letter.created_at = FixedClock.now() + jiff::SignedDuration::from_secs(60);
    letter.draft.response_options = vec![ResponseOption {
        code: "ja".into(),
        label: "Ja".into(),
    }];
    letter.draft.response_deadline = Some(FixedClock.now() + jiff::SignedDuration::from_hours(240));
    s.create_letter(&letter, &[]).await.unwrap();
    first_pages_equal_the_general_listing(&s, &residents).await;
    let new = id_of("kept-new".into()).await;
    s.mark_letter_read(new, FixedClock.now()).await.unwrap();
    first_pages_equal_the_general_listing(&s, &residents).await;
    if url.starts_with("postgres") {
        // Opened again, the letter changes nothing the page shows: the page row is not written.
        let version = || {
            sqlx::query_scalar::<_, String>(
                "select xmin::text from inbox_first_pages where fodselsnummer = $1",
            )
            .bind(fnr.as_str())
            .fetch_one(&db)
        };
        let before = version().await.unwrap();
        assert!(!s.mark_letter_read(new, FixedClock.now()).await.unwrap());
        assert_eq!(version().await.unwrap(), before);
    }
    s.mark_letter_unread(new).await.unwrap();
    first_pages_equal_the_general_listing(&s, &residents).await;
    assert!(s
        .answer_letter(new, "ja", &fnr, FixedClock.now(), &[])
        .await
        .unwrap());
    first_pages_equal_the_general_listing(&s, &residents).await;
    let before: Vec<String> = newest_first(&fnr)
        .await
        .into_iter()
        .map(|i| i.public_id)
        .collect();
    s.set_letter_archived(new, true, FixedClock.now())
        .await
        .unwrap();
    first_pages_equal_the_general_listing(&s, &residents).await;
    let page = s
        .inbox(
            &fnr,
            &InboxQuery {
                filter: InboxFilter::All,
                search: None,
                after: None,
                limit: 20,
                now: FixedClock.now(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        page.items.last().map(|i| i.public_id.clone()),
        before.get(20).cloned(),
        "the letter after the first page's came onto it"
    );
    s.set_letter_archived(new, false, FixedClock.now())
        .await
        .unwrap();
    first_pages_equal_the_general_listing(&s, &residents).await;

    let by_hand = [
        format!(
            "update letters set title = 'Vedtak (rettet)' where public_id = '{}'",
            before[3]
        ),
        format!(
            "update letters set recipient_fnr = '{}' where public_id = '{}'",
            residents.iter().find(|r| **r != fnr).unwrap().as_str(),
            before[1]
        ),
    ];
    for change in &by_hand {
        let done = sqlx::query(change).execute(&db).await.unwrap();
        assert_eq!(done.rows_affected(), 1, "{change}");
        first_pages_equal_the_general_listing(&s, &residents).await;
    }
    let titles: Vec<String> = newest_first(&fnr)
        .await
        .into_iter()
        .map(|i| i.title)
        .collect();
    assert!(titles.contains(&"Vedtak (rettet)".to_owned()));
}

/// Two transactions giving one resident a letter at the same moment (two back-office systems
/// writing by hand, say) each leave the other's letter on the resident's first inbox page: the
/// second waits for the first to commit and keeps the page after it. (On PostgreSQL the page row
/// is locked before the page is listed; listed first, the second transaction's page left out the
/// first one's letter and overwrote the page when the first committed.)
#[tokio::test]
async fn letters_given_to_one_resident_at_once_all_show_on_their_first_page() {
    let (s, url) = store_and_url().await;
    let fnr = s.login_candidates(1).await.unwrap().remove(0).fnr;
    s.create_letter(&contract_letter(&fnr, "first", "first"), &[])
        .await
        .unwrap();
    let copy = |id: &str| {
        format!(
            "insert into letters (public_id, client_id, sender_ref, request_hash, recipient_fnr, \
             title, sender_unit, body, kind, required_loa, digital_only, reply_allowed, status, \
             created_at) select '{id}', client_id, '{id}', request_hash, recipient_fnr, title, \
             sender_unit, body, kind, required_loa, digital_only, reply_allowed, status, \
             created_at + 1 from letters where public_id = 'first'"
        )
    };
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&url).await.unwrap();
    let mut one = db.begin().await.unwrap();
    sqlx::query(&copy("from-one"))
        .execute(&mut *one)
        .await
        .unwrap();
    let other = {
        let (db, sql) = (db.clone(), copy("from-other"));
        tokio::spawn(async move {
            let mut tx = db.begin().await.unwrap();
            sqlx::query(&sql).execute(&mut *tx).await.unwrap();
            tx.commit().await.unwrap();
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!other.is_finished(), "the second waits for the first");
    one.commit().await.unwrap();
    other.await.unwrap();
    let (with_letters, _) =
        first_pages_equal_the_general_listing(&s, std::slice::from_ref(&fnr)).await;
    assert_eq!(with_letters, 1);
    let page = s
        .inbox(
            &fnr,
            &minside_core::letters::InboxQuery {
                filter: minside_core::letters::InboxFilter::All,
                search: None,
                after: None,
                limit: 20,
                now: minside_core::ports::Clock::now(&FixedClock),
            },
        )
        .await
        .unwrap();
    let mut ids: Vec<_> = page.items.iter().map(|i| i.public_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["first", "from-one", "from-other"]);
}

#[tokio::test]
async fn a_read_for_staff_and_its_log_entry_commit_together_and_unknown_persons_log_nothing() {
    let s = store().await;
    let person = s.login_candidates(1).await.unwrap().remove(0);
    let access = Access {
        actor: Actor::System {
            client_id: "sak-arkiv".into(),
        },
        purpose: Purpose::parse("Journalføring").unwrap(),
        what: "person.register_data",
        at: FixedClock.now_(),
    };
    let read = s
        .read_person_logged(&person.fnr, &access)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.fnr, person.fnr);
    let log = s.access_log(read.id).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].actor_kind, "system");
    assert!(s
        .read_person_logged(&Fodselsnummer::parse("20914695016").unwrap(), &access)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn duplicate_fodselsnummer_is_a_named_conflict() {
    let s = store().await;
    let config = test_config(String::new());
    let err = minside::seed(&s, &config, 5, &FixedClock)
        .await
        .unwrap_err();
    let store_err = err
        .downcast_ref::<minside_core::ports::StoreError>()
        .expect("a StoreError");
    assert!(
        matches!(store_err, minside_core::ports::StoreError::Conflict(c) if c.contains("fodselsnummer")),
        "{store_err:?}"
    );
    assert_eq!(
        s.population_size().await.unwrap(),
        200,
        "nothing half-stored"
    );
}

/// Operators are told at start when the database server runs in a way that slows minside down:
/// on PostgreSQL exactly when autovacuum is off (SQLite has nothing to say).
#[tokio::test]
async fn the_store_names_a_server_setting_that_would_slow_it_down() {
    let url = fresh_database_url().await;
    let store = minside::open_store(&test_config(url.clone()))
        .await
        .unwrap();
    let advice = store.server_advice().await.unwrap();
    if url.starts_with("postgres") {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        let autovacuum: String = sqlx::query_scalar("show autovacuum")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(
            advice.iter().any(|a| a.contains("autovacuum off")),
            autovacuum == "off",
            "autovacuum {autovacuum}: {advice:?}"
        );
        assert_eq!(advice.len(), usize::from(autovacuum == "off"));
    } else {
        assert!(advice.is_empty(), "{advice:?}");
    }
}

/// The pools do not ping a connection before each use (a round trip per statement on
/// PostgreSQL). When the server drops every connection (a restart, a failover), each dead
/// connection fails one statement and is replaced: at most a pool's worth of errors, then the
/// store answers again.
#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it with MINSIDE_TEST_DATABASE_URL"]
async fn after_postgresql_drops_every_connection_each_fails_once_and_the_store_recovers() {
    let url = fresh_database_url().await;
    assert!(
        url.starts_with("postgres"),
        "set MINSIDE_TEST_DATABASE_URL to a PostgreSQL server"
    );
    let config = test_config(url.clone());
    let store = minside::open_store(&config).await.unwrap();
    // Several connections of the pool in use at once.
    let warm: Vec<_> = (0..config.database_max_connections)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move { s.population_size().await })
        })
        .collect();
    for h in warm {
        h.await.unwrap().unwrap();
    }
    let database = url.rsplit('/').next().unwrap().to_owned();
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    let dropped: i64 = sqlx::query_scalar(
        "select count(pg_terminate_backend(pid)) from pg_stat_activity \
         where datname = $1 and pid <> pg_backend_pid()",
    )
    .bind(&database)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert!(dropped > 0, "the pool's connections were dropped");
    let mut failures = 0;
    for _ in 0..3 * config.database_max_connections {
        if store.population_size().await.is_err() {
            failures += 1;
        }
    }
    assert!(
        failures <= i64::from(config.database_max_connections),
        "{failures} failed statements for {dropped} dropped connections"
    );
    store
        .population_size()
        .await
        .expect("the store answers again");
}

/// A TCP relay between a store and PostgreSQL that can hold back the server's answers, so that
/// a test can stop a caller at a chosen round trip (on loopback a fast server otherwise answers
/// several statements within one poll of the caller's future).
struct Relay {
    addr: std::net::SocketAddr,
    hold: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The client sent a simple-protocol `begin`.
    saw_begin: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Relay {
    async fn to(server: &str) -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (hold, saw_begin) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let server = server.to_owned();
        let (h, b) = (hold.clone(), saw_begin.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(upstream) = tokio::net::TcpStream::connect(&server).await else {
                    return;
                };
                let (mut client_r, mut client_w) = client.into_split();
                let (mut up_r, mut up_w) = upstream.into_split();
                let seen = b.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n @ 1..) = client_r.read(&mut buf).await {
                        if buf[..n]
                            .windows(6)
                            .any(|w| w.eq_ignore_ascii_case(b"begin\0"))
                        {
                            seen.store(true, Ordering::SeqCst);
                        }
                        if up_w.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
                let held = h.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n @ 1..) = up_r.read(&mut buf).await {
                        while held.load(Ordering::SeqCst) {
                            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        }
                        if client_w.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        Self {
            addr,
            hold,
            saw_begin,
        }
    }
}

/// A write cancelled while its `BEGIN` is on the way (as when the client of an HTTP request goes
/// away) leaves no transaction open on the pool's connection. sqlx's own `begin` gave the
/// connection back to the pool inside the transaction, and the next statement run on it outside
/// a transaction of its own (a letter, one statement on PostgreSQL) was not committed.
#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it with MINSIDE_TEST_DATABASE_URL"]
async fn a_write_cancelled_at_its_begin_leaves_no_transaction_open_for_the_next_one() {
    use minside_core::jobs::NewJob;
    use minside_core::ports::Clock;
    use std::future::Future;
    use std::sync::atomic::Ordering;
    let (seeded, url) = store_and_url().await;
    assert!(
        url.starts_with("postgres"),
        "set MINSIDE_TEST_DATABASE_URL to a PostgreSQL server"
    );
    let mut relayed = url::Url::parse(&url).unwrap();
    let server = format!(
        "{}:{}",
        relayed.host_str().unwrap(),
        relayed.port().unwrap_or(5432)
    );
    let relay = Relay::to(&server).await;
    relayed.set_port(Some(relay.addr.port())).unwrap();
    relayed.set_host(Some("127.0.0.1")).unwrap();
    // In plain text, for the relay to see the `begin`.
    relayed.query_pairs_mut().append_pair("sslmode", "disable");
    // One connection, so that the next write runs on the one the cancelled write had.
    let s = minside_store::SqlStore::connect(
        relayed.as_str(),
        &minside_store::StoreOptions { max_connections: 1 },
    )
    .await
    .unwrap();
    s.ping().await.unwrap();
    sqlx::any::install_default_drivers();
    let watch = sqlx::AnyPool::connect(&url).await.unwrap();
    let in_transaction = || async {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from pg_stat_activity \
             where datname = current_database() and state = 'idle in transaction'",
        )
        .fetch_one(&watch)
        .await
        .unwrap()
    };
    let kari = seeded.login_candidates(1).await.unwrap().remove(0);
    let jobs_before = seeded.job_counts().await.unwrap();
    let job = NewJob {
        kind: "contract",
        payload: "{}".into(),
        dedupe_key: Some("cancelled".into()),
        run_at: FixedClock.now(),
    };
    // The server's answers are held back: the write sends its BEGIN, the server begins the
    // transaction, and the write waits for the answer. Then its caller goes away.
    relay.hold.store(true, Ordering::SeqCst);
    let mut write = Box::pin(s.enqueue_jobs(std::slice::from_ref(&job), FixedClock.now()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !(relay.saw_begin.load(Ordering::SeqCst) && in_transaction().await == 1) {
        let step = std::future::poll_fn(|cx| std::task::Poll::Ready(write.as_mut().poll(cx))).await;
        assert!(step.is_pending(), "the write went on: {step:?}");
        assert!(
            std::time::Instant::now() < deadline,
            "the write never began (begin sent: {}, transactions open: {})",
            relay.saw_begin.load(Ordering::SeqCst),
            in_transaction().await
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    drop(write);
    relay.hold.store(false, Ordering::SeqCst);

    s.create_letter(
        &contract_letter(&kari.fnr, "after-cancel", "ref-after-cancel"),
        &[],
    )
    .await
    .unwrap();
    assert!(
        seeded
            .letter_receipt("contract", "ref-after-cancel")
            .await
            .unwrap()
            .is_some(),
        "the letter is committed: another connection sees it"
    );
    assert_eq!(
        seeded.job_counts().await.unwrap(),
        jobs_before,
        "the cancelled write stored nothing"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while in_transaction().await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "a transaction stays open"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    watch.close().await;
}

/// A letter whose (client, sender_ref) is taken is refused as a conflict, and nothing of it —
/// no letter, no job, no change to the recipient's counts — is stored; the next write works (on
/// a SQLite file these transactions run on the store's direct writer, which must roll back).
#[tokio::test]
async fn a_letter_whose_sender_ref_is_taken_is_a_conflict_and_leaves_nothing_behind() {
    use minside_core::jobs::NewJob;
    use minside_core::ports::Clock;
    let s = store().await;
    let kari = s.login_candidates(1).await.unwrap().remove(0);
    let letter =
        |public_id: &str, sender_ref: &str| contract_letter(&kari.fnr, public_id, sender_ref);
    let job = |key: &str| NewJob {
        kind: "contract",
        payload: "{}".into(),
        dedupe_key: Some(key.into()),
        run_at: FixedClock.now(),
    };
    s.create_letter(&letter("first", "ref-1"), &[job("a")])
        .await
        .unwrap();
    let (counts, jobs) = (
        s.inbox_counts(&kari.fnr).await.unwrap(),
        s.job_counts().await.unwrap(),
    );
    let err = s
        .create_letter(&letter("second", "ref-1"), &[job("b")])
        .await
        .unwrap_err();
    assert!(
        matches!(err, minside_core::ports::StoreError::Conflict(_)),
        "{err:?}"
    );
    assert_eq!(s.inbox_counts(&kari.fnr).await.unwrap(), counts);
    assert_eq!(
        s.job_counts().await.unwrap(),
        jobs,
        "no job of the refused letter"
    );
    assert!(s
        .letter_receipt("contract", "ref-1")
        .await
        .unwrap()
        .is_some());
    s.create_letter(&letter("third", "ref-2"), &[job("c")])
        .await
        .unwrap();
    assert_eq!(
        s.inbox_counts(&kari.fnr).await.unwrap().letters,
        counts.letters + 1
    );
    assert_eq!(s.job_counts().await.unwrap().pending, jobs.pending + 1);
}

/// A letter with two documents, response options and jobs is stored whole in one write (on
/// PostgreSQL one statement, see `letters::create_in_one_statement`): its documents in order,
/// its `created` event, the recipient's counts with the answer's deadline, and each job once even
/// when the list names one twice. A notice then moves it to VARSLET once, with an event per
/// channel.
#[tokio::test]
async fn a_letter_is_stored_whole_with_documents_event_counts_and_jobs_and_notified_once() {
    use minside_core::jobs::NewJob;
    use minside_core::letters::{DocumentType, LetterStatus, NewDocument, ResponseOption};
    use minside_core::ports::Clock;
    let s = store().await;
    let kari = s.login_candidates(1).await.unwrap().remove(0);
    let (counts, jobs) = (
        s.inbox_counts(&kari.fnr).await.unwrap(),
        s.job_counts().await.unwrap(),
    );
    let now = FixedClock.now();
    let deadline = now + jiff::SignedDuration::from_hours(24 * 14);
    let mut letter = contract_letter(&kari.fnr, "whole", "ref-whole");
    letter.draft.documents = vec![
        NewDocument {
            filename: "vedtak.pdf".into(),
            doc_type: DocumentType::Pdf,
            content: b"%PDF-1.7 vedtak".to_vec(),
            exclude_from_print: false,
        },
        NewDocument {
            filename: "kart.png".into(),
            doc_type: DocumentType::Png,
            content: vec![0; 42],
            exclude_from_print: true,
        },
    ];
    letter.blob_keys = vec!["letters/whole/0".into(), "letters/whole/1".into()];
    letter.draft.response_options = vec![
        ResponseOption {
            code: "ja".into(),
            label: "Ja, takk".into(),
        },
        ResponseOption {
            code: "nei".into(),
            label: "Nei".into(),
        },
    ];
    letter.draft.response_deadline = Some(deadline);
    let job = |key: &str| NewJob {
        kind: "contract",
        payload: format!("{{\"key\":\"{key}\"}}"),
        dedupe_key: Some(key.into()),
        run_at: now,
    };
    s.create_letter(&letter, &[job("x"), job("x"), job("y")])
        .await
        .unwrap();

    let after = s.inbox_counts(&kari.fnr).await.unwrap();
    assert_eq!(
        (after.letters, after.unread, after.to_answer),
        (counts.letters + 1, counts.unread + 1, counts.to_answer + 1)
    );
    assert!(after.answer_by >= Some(deadline), "{after:?}");
    assert_eq!(
        s.job_counts().await.unwrap().pending,
        jobs.pending + 2,
        "x once, y once"
    );
    let view = s
        .letter_for_recipient(&kari.fnr, "whole")
        .await
        .unwrap()
        .expect("the letter is the recipient's");
    let documents: Vec<(i64, &str, &str, i64, &str)> = view
        .documents
        .iter()
        .map(|d| {
            (
                d.position,
                d.filename.as_str(),
                d.mime_type.as_str(),
                d.size_bytes,
                d.blob_key.as_str(),
            )
        })
        .collect();
    assert_eq!(
        documents,
        [
            (0, "vedtak.pdf", "application/pdf", 15, "letters/whole/0"),
            (1, "kart.png", "image/png", 42, "letters/whole/1"),
        ]
    );
    assert_eq!(view.response_options, letter.draft.response_options);
    assert_eq!(view.response_deadline, Some(deadline));
    let status = s.letter_status("contract", "whole").await.unwrap().unwrap();
    assert_eq!(status.status, LetterStatus::Akseptert);
    let events: Vec<(&str, Timestamp)> = status
        .events
        .iter()
        .map(|e| (e.event.as_str(), e.at))
        .collect();
    assert_eq!(events, [("created", now)]);

    let later = now + jiff::SignedDuration::from_mins(1);
    s.record_notified(&[(view.id, "email")], later)
        .await
        .unwrap();
    s.record_notified(&[(view.id, "sms")], later).await.unwrap();
    let status = s.letter_status("contract", "whole").await.unwrap().unwrap();
    assert_eq!(status.status, LetterStatus::Varslet);
    let events: Vec<(&str, Option<&str>)> = status
        .events
        .iter()
        .map(|e| (e.event.as_str(), e.detail.as_deref()))
        .collect();
    assert_eq!(
        events,
        [
            ("created", None),
            ("notified", Some(r#"{"channel":"email"}"#)),
            ("notified", Some(r#"{"channel":"sms"}"#)),
        ]
    );
    let delivery = s.letter_for_delivery("whole").await.unwrap().unwrap();
    assert_eq!(delivery.notified, ["email", "sms"]);
}

/// Completing jobs marks exactly those done, each with its own finishing time, also more than
/// one statement's worth (the store writes them 200 at a time).
#[tokio::test]
async fn completed_jobs_are_done_each_at_its_own_time_and_no_other_job_is() {
    use minside_core::jobs::NewJob;
    use minside_core::ports::Clock;
    let (s, url) = store_and_url().await;
    let now = FixedClock.now();
    let jobs: Vec<NewJob> = (0..450)
        .map(|i| NewJob {
            kind: "contract",
            payload: format!("{{\"n\":{i}}}"),
            dedupe_key: Some(format!("n{i}")),
            run_at: now,
        })
        .collect();
    s.enqueue_jobs(&jobs, now).await.unwrap();
    let before = s.job_counts().await.unwrap();
    let lease = now + jiff::SignedDuration::from_mins(5);
    let claimed = s
        .claim_jobs(now, 500, lease, Some(&["contract"]))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 450);
    // All but the last ten, each finished a second after the one before.
    let done: Vec<(minside_core::jobs::JobId, Timestamp)> = claimed[..440]
        .iter()
        .enumerate()
        .map(|(i, j)| (j.id, now + jiff::SignedDuration::from_secs(i as i64)))
        .collect();
    s.complete_jobs(&done).await.unwrap();
    let counts = s.job_counts().await.unwrap();
    assert_eq!(counts.done, before.done + 440);
    assert_eq!(counts.running, before.running + 10);

    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let rows: Vec<(i64, String, Option<i64>)> = sqlx::query_as(
        "select id, status, finished_at from jobs where kind = 'contract' order by id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 450);
    for (i, (id, status, finished_at)) in rows.iter().enumerate() {
        assert_eq!(*id, claimed[i].id.0);
        if i < 440 {
            assert_eq!(status, "done", "job {i}");
            assert_eq!(
                *finished_at,
                Some((now + jiff::SignedDuration::from_secs(i as i64)).as_microsecond()),
                "job {i} finished at its own time"
            );
        } else {
            assert_eq!(
                (status.as_str(), *finished_at),
                ("running", None),
                "job {i}"
            );
        }
    }
    pool.close().await;
}

/// A claim takes the earliest due jobs, in order, and reads none of the pending jobs that are due
/// later, also in a new database whose queue was analyzed while empty (as after the seed or a
/// migration: PostgreSQL then knows nothing of `status` and `kind`), and after idle workers have
/// polled the empty queue many times (PostgreSQL then keeps a generic plan made for an empty
/// table). On PostgreSQL the index statistics show which index the claim read: without a plan
/// fixed in the claim, it read all 4,060 pending jobs through the (kind, payload) index and
/// sorted them; with the empty table's generic plan it ran its `limit … skip locked` part again
/// for every job in the table (a claim of 20 s in bench/, locking other workers' jobs).
#[tokio::test]
async fn a_claim_reads_the_due_jobs_in_order_and_none_due_later() {
    use minside_core::jobs::NewJob;
    use minside_core::ports::Clock;
    let url = fresh_database_url().await;
    let store = minside::open_store(&test_config(url.clone()))
        .await
        .unwrap();
    store.refresh_statistics().await.unwrap();
    let now = FixedClock.now();
    let kinds = ["notify_email", "print_if_unread"];
    let lease = now + jiff::SignedDuration::from_mins(5);
    // Idle workers poll the empty queue: more than five times on each of the pool's connections.
    for _ in 0..60 {
        let none = store.claim_jobs(now, 50, lease, Some(&kinds)).await;
        assert!(none.unwrap().is_empty());
    }
    let job = |i: usize, run_at: Timestamp| NewJob {
        kind: if i.is_multiple_of(2) {
            "notify_email"
        } else {
            "print_if_unread"
        },
        payload: format!("{{\"letter\":{i}}}"),
        dedupe_key: Some(format!("job-{i}")),
        run_at,
    };
    let later = now + jiff::SignedDuration::from_hours(14 * 24);
    let mut jobs: Vec<NewJob> = (0..4_000).map(|i| job(i, later)).collect();
    // 60 due, the earliest last in the list, a second apart.
    jobs.extend((0..60).map(|i| job(4_000 + i, now - jiff::SignedDuration::from_secs(i as i64))));
    store.enqueue_jobs(&jobs, now).await.unwrap();
    let claimed = store
        .claim_jobs(now, 50, lease, Some(&kinds))
        .await
        .unwrap();
    let mut payloads: Vec<String> = claimed.iter().map(|j| j.payload.clone()).collect();
    payloads.sort();
    let mut expected: Vec<String> = (4_010..4_060)
        .map(|i| format!("{{\"letter\":{i}}}"))
        .collect();
    expected.sort();
    assert_eq!(payloads, expected, "the 50 earliest due jobs");
    if !url.starts_with("postgres") {
        return;
    }
    // The claim's connection reports its counts when it goes idle (at most once a second).
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    let read = |index: &'static str| {
        sqlx::query_as::<_, (i64, i64)>(
            "select idx_scan, idx_tup_read from pg_stat_user_indexes where indexrelname = $1",
        )
        .bind(index)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (due_scans, due_read) = read("jobs_pending_due_idx")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        if due_scans > 0 {
            let (_, by_kind) = read("jobs_pending_kind_idx")
                .fetch_one(&mut conn)
                .await
                .unwrap();
            assert_eq!(by_kind, 0, "the claim read pending jobs by kind");
            assert!(
                due_read <= 60,
                "{due_read} entries of the due index read for 50 jobs"
            );
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the claim never used the index of due jobs"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// A bulk-loaded letter history lies in the tables as a real one does: letters and events in the
/// order they happened, so a resident's letters lie among everyone else's (loaded resident by
/// resident, a whole inbox sat on one or two table pages and bench/ measured reads no real
/// database sees).
#[tokio::test]
async fn a_seeded_letter_history_is_stored_in_the_order_it_happened() {
    use sqlx::Row;
    let (_store, url) = store_with_history().await;
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&url).await.unwrap();
    let letters: Vec<(i64, i64, String)> =
        sqlx::query("select id, created_at, recipient_fnr from letters order by id")
            .fetch_all(&db)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
    assert!(letters.len() > 2000, "{} letters", letters.len());
    assert!(
        letters.windows(2).all(|w| w[0].1 <= w[1].1),
        "letters not in the order they were sent"
    );
    let events: Vec<i64> = sqlx::query("select created_at from letter_events order by id")
        .fetch_all(&db)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(events.len() > letters.len());
    assert!(
        events.windows(2).all(|w| w[0] <= w[1]),
        "events not in the order they happened"
    );
    // Each resident's letters are spread among the others': none with three or more sits in
    // one run of rows.
    let mut rows_of: std::collections::HashMap<&str, Vec<usize>> = Default::default();
    for (row, (_, _, fnr)) in letters.iter().enumerate() {
        rows_of.entry(fnr.as_str()).or_default().push(row);
    }
    let residents: Vec<&Vec<usize>> = rows_of.values().filter(|r| r.len() >= 3).collect();
    assert!(residents.len() > 100, "{} residents", residents.len());
    for rows in residents {
        let span = rows.last().unwrap() - rows.first().unwrap() + 1;
        assert!(span > 10 * rows.len(), "letters in rows {rows:?}");
    }
}

/// A print batch brings each of its letters' printable documents and nothing else (PostgreSQL
/// looks them up by letter with a statement of its own: a plan that stays right while the
/// documents table has the statistics of an empty one; bench/ shows the difference at 300,000
/// residents, a test database is too small for PostgreSQL to choose the slow plan).
#[tokio::test]
async fn a_print_batch_looks_up_its_letters_documents_by_letter() {
    use minside_core::letters::{DocumentType, NewDocument};
    use minside_core::ports::Clock;
    // With a letter history, printed letters in batches among it (as in bench/).
    let (s, _) = store_with_history().await;
    s.refresh_statistics().await.unwrap();
    let now = FixedClock.now();
    let kari = s.login_candidates(1).await.unwrap().remove(0);
    let document = |name: &str, doc_type: DocumentType, exclude_from_print: bool| NewDocument {
        filename: name.into(),
        doc_type,
        content: b"%PDF-1.4".to_vec(),
        exclude_from_print,
    };
    for i in 0..300 {
        let mut letter = contract_letter(&kari.fnr, &format!("print-{i:03}"), &format!("ref-{i}"));
        letter.draft.title = format!("Vedtak {i}");
        letter.draft.documents = vec![
            document("vedtak.pdf", DocumentType::Pdf, false),
            document("kart.png", DocumentType::Png, false),
            document("intern.pdf", DocumentType::Pdf, true),
        ];
        letter.blob_keys = vec![format!("b/{i}/1"), format!("b/{i}/2"), format!("b/{i}/3")];
        s.create_letter(&letter, &[]).await.unwrap();
        // Every other letter goes to print.
        if i % 2 == 0 {
            let id = s
                .letter_for_delivery(&letter.public_id)
                .await
                .unwrap()
                .unwrap()
                .id;
            let queued = s
                .queue_for_print(&[id], false, "reserved", now, now)
                .await
                .unwrap();
            assert_eq!(queued, [id]);
        }
    }
    let lease = now + jiff::SignedDuration::from_mins(5);
    let batch = s
        .claim_print_batch("batch-1", 500, now, lease)
        .await
        .unwrap()
        .expect("a batch");
    assert_eq!(batch.items.len(), 150);
    for item in &batch.items {
        let i: usize = item.public_id["print-".len()..].parse().unwrap();
        assert_eq!(i % 2, 0, "{} was not queued", item.public_id);
        let keys: Vec<&str> = item.documents.iter().map(|d| d.blob_key.as_str()).collect();
        assert_eq!(keys, [format!("b/{i}/1")], "only its printable PDF");
    }
}

/// A formal letter from the contract tests' client to `fnr`, without documents, sent at the
/// fixed clock's time; tests change what they need.
fn contract_letter(
    fnr: &Fodselsnummer,
    public_id: &str,
    sender_ref: &str,
) -> minside_core::letters::NewLetter {
    use minside_core::delivery::LetterKind;
    use minside_core::letters::{LetterDraft, NewLetter, Recipient};
    use minside_core::ports::Clock;
    NewLetter {
        public_id: public_id.into(),
        client_id: "contract".into(),
        request_hash: "h".into(),
        draft: LetterDraft {
            sender_ref: sender_ref.into(),
            recipient: Recipient::Person(fnr.clone()),
            title: "Vedtak".into(),
            sender_unit: "Byggesak".into(),
            body: Some("Vedtaket.".into()),
            documents: Vec::new(),
            archive_ref: None,
            kind: LetterKind::Formal,
            required_loa: Loa::Substantial,
            digital_only: false,
            reply_allowed: false,
            response_options: Vec::new(),
            response_deadline: None,
            print_after_working_hours: None,
        },
        blob_keys: Vec::new(),
        created_at: FixedClock.now(),
    }
}

/// What a worker's claim reads and writes, one call for all its letters: the delivery views of
/// several letters (each with its notified channels; an unknown id is left out), several
/// residents' contact records (someone not in the register is left out), notices recorded
/// together (VARSLET only where the letter was still AKSEPTERT, one event each).
#[tokio::test]
async fn a_claims_letters_are_read_and_their_notices_recorded_together() {
    use minside_core::letters::LetterStatus;
    use minside_core::ports::Clock;
    let s = store().await;
    let people = s.login_candidates(2).await.unwrap();
    let (kari, ola) = (&people[0], &people[1]);
    let now = FixedClock.now();
    for (to, id) in [(kari, "n-1"), (kari, "n-2"), (ola, "n-3")] {
        s.create_letter(&contract_letter(&to.fnr, id, id), &[])
            .await
            .unwrap();
    }
    let id = |public_id: &'static str| {
        let s = &s;
        async move { s.letter_for_delivery(public_id).await.unwrap().unwrap().id }
    };
    let (n1, n2, n3) = (id("n-1").await, id("n-2").await, id("n-3").await);
    assert!(s.mark_letter_read(n2, now).await.unwrap());

    let later = now + jiff::SignedDuration::from_mins(1);
    s.record_notified(&[(n1, "email"), (n2, "email"), (n3, "sms")], later)
        .await
        .unwrap();
    for (public_id, status, channel) in [
        ("n-1", LetterStatus::Varslet, "email"),
        ("n-2", LetterStatus::Lest, "email"),
        ("n-3", LetterStatus::Varslet, "sms"),
    ] {
        let view = s
            .letter_status("contract", public_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(view.status, status, "{public_id}");
        let notified: Vec<Option<&str>> = view
            .events
            .iter()
            .filter(|e| e.event == "notified")
            .map(|e| e.detail.as_deref())
            .collect();
        let detail = format!("{{\"channel\":\"{channel}\"}}");
        assert_eq!(notified, [Some(detail.as_str())], "{public_id}");
    }
    s.record_notified(&[(n1, "sms")], later).await.unwrap();

    let mut views = s
        .letters_for_delivery(&["n-3", "no-such-letter", "n-1", "n-2"])
        .await
        .unwrap();
    views.sort_by_key(|v| v.id);
    /// Public id, id, recipient, read, channels notified.
    type Seen<'a> = (&'a str, i64, Option<&'a str>, bool, Vec<&'a str>);
    let seen: Vec<Seen<'_>> = views
        .iter()
        .map(|v| {
            (
                v.public_id.as_str(),
                v.id,
                v.recipient.as_ref().map(|f| f.as_str()),
                v.read,
                v.notified.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "n-1",
                n1,
                Some(kari.fnr.as_str()),
                false,
                vec!["email", "sms"]
            ),
            ("n-2", n2, Some(kari.fnr.as_str()), true, vec!["email"]),
            ("n-3", n3, Some(ola.fnr.as_str()), false, vec!["sms"]),
        ]
    );
    for v in &views {
        assert_eq!(
            Some(v),
            s.letter_for_delivery(&v.public_id).await.unwrap().as_ref(),
            "one letter or several, the same view"
        );
    }

    let stranger = Fodselsnummer::parse("20914695016").unwrap();
    let mut records = s
        .contact_records(&[&ola.fnr, &stranger, &kari.fnr])
        .await
        .unwrap();
    records.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    let mut expected = Vec::new();
    for p in [kari, ola] {
        let record = s.contact_record(&p.fnr).await.unwrap().unwrap();
        expected.push((p.fnr.clone(), record));
    }
    expected.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    assert_eq!(records, expected);
    assert!(s.contact_records(&[]).await.unwrap().is_empty());
    assert!(s.letters_for_delivery(&[]).await.unwrap().is_empty());
}

/// Queueing a claim's letters for print is one transaction that decides letter by letter: a
/// letter read (when only unread ones are to print), digital-only, queued already or to someone
/// not in the population register is not queued, and the last one becomes IKKE_LEVERT with the
/// reason; the others get their `sent_to_print` event, one `print_batch` job waits for them all,
/// and more than one statement's worth (200) of letters are all queued.
#[tokio::test]
async fn a_claims_letters_are_queued_for_print_together_each_on_its_own_terms() {
    use minside_core::letters::LetterStatus;
    use minside_core::ports::Clock;
    let s = store().await;
    let kari = s.login_candidates(1).await.unwrap().remove(0);
    let stranger = Fodselsnummer::parse("20914695016").unwrap();
    let now = FixedClock.now();
    let mut plain = Vec::new();
    for i in 0..230 {
        let public_id = format!("p-{i:03}");
        s.create_letter(&contract_letter(&kari.fnr, &public_id, &public_id), &[])
            .await
            .unwrap();
        plain.push(s.letter_for_delivery(&public_id).await.unwrap().unwrap().id);
    }
    let mut digital_only = contract_letter(&kari.fnr, "p-digital", "p-digital");
    digital_only.draft.digital_only = true;
    for letter in [
        contract_letter(&kari.fnr, "p-read", "p-read"),
        digital_only,
        contract_letter(&stranger, "p-stranger", "p-stranger"),
    ] {
        s.create_letter(&letter, &[]).await.unwrap();
    }
    let id = |public_id: &'static str| {
        let s = &s;
        async move { s.letter_for_delivery(public_id).await.unwrap().unwrap().id }
    };
    let (read, digital, stranger_letter) = (
        id("p-read").await,
        id("p-digital").await,
        id("p-stranger").await,
    );
    assert!(s.mark_letter_read(read, now).await.unwrap());
    let pending_before = s.job_counts().await.unwrap().pending;

    let mut all = vec![stranger_letter, read, digital];
    all.extend(&plain);
    let later = now + jiff::SignedDuration::from_mins(1);
    let batch_at = later + jiff::SignedDuration::from_mins(10);
    let queued = s
        .queue_for_print(&all, true, "unread_at_deadline", later, batch_at)
        .await
        .unwrap();
    assert_eq!(queued, plain, "the plain letters, in order, all 230");
    assert_eq!(s.job_counts().await.unwrap().pending, pending_before + 1);

    let events_of = |public_id: String| {
        let s = &s;
        async move {
            let view = s
                .letter_status("contract", &public_id)
                .await
                .unwrap()
                .unwrap();
            let events: Vec<(String, Option<String>)> = view
                .events
                .into_iter()
                .map(|e| (e.event, e.detail))
                .collect();
            (view.status, events)
        }
    };
    let created = ("created".to_owned(), None);
    let printed = |reason: &str| {
        (
            "sent_to_print".to_owned(),
            Some(format!("{{\"reason\":\"{reason}\"}}")),
        )
    };
    for i in [0, 199, 200, 229] {
        assert_eq!(
            events_of(format!("p-{i:03}")).await,
            (
                LetterStatus::SendtPrint,
                vec![created.clone(), printed("unread_at_deadline")]
            ),
            "p-{i:03}"
        );
    }
    assert_eq!(
        events_of("p-stranger".into()).await,
        (
            LetterStatus::IkkeLevert,
            vec![
                created.clone(),
                (
                    "failed".to_owned(),
                    Some("{\"reason\":\"no_postal_address\"}".to_owned())
                )
            ]
        )
    );
    assert_eq!(
        events_of("p-digital".into()).await.0,
        LetterStatus::Akseptert
    );
    let (status, events) = events_of("p-read".into()).await;
    assert_eq!(status, LetterStatus::Lest);
    assert!(
        !events.iter().any(|(e, _)| e == "sent_to_print"),
        "{events:?}"
    );

    // Again: nothing more is queued or logged, and no second batch job waits.
    let again = s
        .queue_for_print(&all, true, "unread_at_deadline", later, batch_at)
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(events_of("p-000".into()).await.1.len(), 2);
    assert_eq!(s.job_counts().await.unwrap().pending, pending_before + 1);
    // A letter to print now (no digital channel) is printed even when it was read.
    let now_print = s
        .queue_for_print(&[read], false, "no_digital_channel", later, batch_at)
        .await
        .unwrap();
    assert_eq!(now_print, [read]);
}
