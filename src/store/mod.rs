//! Storage: the only module that knows diesel. One schema and one set of queries serve
//! SQLite and PostgreSQL through `DbConn`; backend-only SQL lives in `match` arms here.

pub mod access_links;
pub mod attachments;
pub mod audit;
pub mod bot_sessions;
pub mod canned;
pub mod channels;
mod checkpoint;
pub mod contact_list;
pub mod contact_merge;
pub mod contacts;
pub mod conversations;
pub mod crm_links;
pub mod distribution;
pub mod explain;
mod ids;
pub mod integrations;
pub mod letters;
pub mod login_attempts;
pub mod members;
pub mod messages;
pub mod notifications;
pub mod outbox;
mod packed;
mod prepared;
pub mod project_settings;
pub mod projects;
pub mod report_days;
pub mod reports;
pub mod schema;
pub mod search;
pub mod seed;
pub mod tags;
pub mod teams;
pub mod timers;
pub mod users;
pub mod withheld;

use std::path::Path;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{ManageConnection, Pool};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::{Error, Result};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// Picks the backend by URL scheme. The derived `establish` tries each variant in turn and
/// hides the real error (e.g. "connection refused") behind "invalid url".
pub struct ConnManager {
    url: String,
    backend: Backend,
    writer: bool,
}

fn setup_sqlite(conn: &mut diesel::SqliteConnection, writer: bool) -> QueryResult<()> {
    // Order matters: busy_timeout first, each pragma its own statement (diesel docs).
    conn.batch_execute("PRAGMA busy_timeout = 5000;")?;
    conn.batch_execute("PRAGMA synchronous = NORMAL;")?;
    conn.batch_execute("PRAGMA foreign_keys = ON;")?;
    if writer {
        // The one writing connection keeps its page cache (nobody else writes, so SQLite
        // never discards it) and leaves checkpoints to `checkpoint::run`: run on commit they
        // put a database-file fsync in front of every few batches of inbound messages.
        conn.batch_execute("PRAGMA cache_size = -32768;")?;
        conn.batch_execute("PRAGMA wal_autocheckpoint = 0;")?;
        conn.batch_execute("PRAGMA journal_size_limit = 67108864;")?;
    }
    Ok(())
}

impl ManageConnection for ConnManager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> std::result::Result<DbConn, Self::Error> {
        match self.backend {
            Backend::Postgres => {
                let mut c = diesel::PgConnection::establish(&self.url)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                // diesel keeps prepared statements per connection, and PostgreSQL switches
                // them to a generic plan chosen from the statistics of that moment: planned on
                // a young table, `dedup_key = ANY($1)` stayed a sequential scan of all messages
                // as the table grew. Planning with the real parameters costs little here.
                c.batch_execute("SET plan_cache_mode = force_custom_plan")
                    .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConn::Postgresql(c))
            }
            Backend::Sqlite => {
                let mut c = diesel::SqliteConnection::establish(&self.url)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                setup_sqlite(&mut c, self.writer).map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(c))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> std::result::Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConn) -> bool {
        false
    }
}

#[derive(Clone)]
pub struct Store {
    pool: Pool<ConnManager>,
    /// SQLite: the only connection that writes (see `write`); None on PostgreSQL.
    writer: Option<Pool<ConnManager>>,
    /// Lives as long as any clone of this store: the checkpointer stops when it is gone.
    _alive: std::sync::Arc<()>,
    pub backend: Backend,
    url: String,
}

/// The database URL for a settings pair: an explicit URL wins, else SQLite under the data dir.
pub fn database_url(explicit: Option<&str>, data_dir: &Path) -> String {
    match explicit {
        Some(u) if !u.trim().is_empty() => u.trim().to_string(),
        _ => data_dir.join("perepiska.db").to_string_lossy().into_owned(),
    }
}

impl Store {
    /// Opens the database, applies pending migrations and builds the pool.
    pub fn open(url: &str) -> Result<Store> {
        let backend = Backend::of_url(url);
        migrate(url, backend)?;
        let manager = ConnManager {
            url: url.to_string(),
            backend,
            writer: false,
        };
        let size = match backend {
            // One writer at a time anyway; more connections only add lock waits.
            Backend::Sqlite => 6,
            Backend::Postgres => 12,
        };
        let pool = Pool::builder()
            .max_size(size)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(5))
            .build(manager)
            .map_err(|e| Error::Pool(e.to_string()))?;
        let alive = std::sync::Arc::new(());
        let writer = match backend {
            Backend::Postgres => None,
            // Writers queue here, in the process, instead of in SQLite's busy handler, which
            // sleeps in steps of milliseconds whenever two connections want the write lock.
            Backend::Sqlite => {
                let writer = Pool::builder()
                    .max_size(1)
                    .min_idle(Some(1))
                    .connection_timeout(Duration::from_secs(30))
                    .build(ConnManager {
                        url: url.to_string(),
                        backend,
                        writer: true,
                    })
                    .map_err(|e| Error::Pool(e.to_string()))?;
                checkpoint::start(url, std::sync::Arc::downgrade(&alive));
                Some(writer)
            }
        };
        Ok(Store {
            pool,
            writer,
            _alive: alive,
            backend,
            url: url.to_string(),
        })
    }

    /// Copies SQLite's write-ahead log into the database and empties it (nothing to do on
    /// PostgreSQL): after a bulk load, so that the next start does not begin with it.
    pub async fn checkpoint(&self) -> Result<()> {
        if self.backend != Backend::Sqlite {
            return Ok(());
        }
        self.with_writer(|c| {
            c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")?;
            Ok(())
        })
        .await
    }

    /// Runs `f` on the connection that writes (SQLite's single writer, or any pooled
    /// PostgreSQL connection), outside a transaction: `f` opens its own with `write_tx`.
    pub async fn with_writer<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.writer.clone().unwrap_or_else(|| self.pool.clone());
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await?
    }

    /// Runs `f` on a pooled connection off the async runtime.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await?
    }

    /// Runs `f` inside one write transaction (BEGIN IMMEDIATE on SQLite, so a read-then-write
    /// never fails with SQLITE_BUSY on lock upgrade).
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.with_writer(move |conn| write_tx(conn, f)).await
    }

    /// Holds a cluster-wide lock named `name` for as long as the returned connection lives
    /// (PostgreSQL advisory lock). Ok(None) when another instance holds it. On SQLite there is
    /// only ever one instance, so the lock is always granted.
    pub async fn try_exclusive(&self, name: &str) -> Result<Option<ExclusiveLock>> {
        if self.backend == Backend::Sqlite {
            return Ok(Some(ExclusiveLock { _conn: None }));
        }
        let url = self.url.clone();
        let digest = crate::crypto::sha256_hex(format!("perepiska-lock:{name}").as_bytes());
        let key = i64::from_str_radix(&digest[..15], 16).unwrap_or(0);
        tokio::task::spawn_blocking(move || {
            let mut c = diesel::PgConnection::establish(&url)
                .map_err(|e| Error::Pool(format!("cannot connect to PostgreSQL: {e}")))?;
            #[derive(QueryableByName)]
            struct Got {
                #[diesel(sql_type = diesel::sql_types::Bool)]
                locked: bool,
            }
            let got: Got = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
                .bind::<diesel::sql_types::BigInt, _>(key)
                .get_result(&mut c)?;
            Ok(got.locked.then_some(ExclusiveLock { _conn: Some(c) }))
        })
        .await?
    }
}

/// See `Store::try_exclusive`; the lock is released when this is dropped.
pub struct ExclusiveLock {
    _conn: Option<diesel::PgConnection>,
}

/// A condition written into the SQL text rather than bound. A partial index (`WHERE state =
/// 'pending'`) serves only a query whose condition the planner can see, and under the query
/// planner stability guarantee SQLite never looks at bound values (see .cargo/config.toml).
/// Only for constant conditions.
fn literal(condition: &'static str) -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql::<diesel::sql_types::Bool>(condition)
}

pub fn write_tx<T, F>(conn: &mut DbConn, f: F) -> Result<T>
where
    F: FnOnce(&mut DbConn) -> Result<T>,
{
    match conn {
        DbConn::Postgresql(_) => conn.transaction(f),
        DbConn::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
            let result = f(conn);
            let DbConn::Sqlite(c) = conn else {
                return Err(Error::internal("connection changed backend"));
            };
            match result {
                Ok(v) => {
                    AnsiTransactionManager::commit_transaction(c)?;
                    Ok(v)
                }
                Err(e) => {
                    AnsiTransactionManager::rollback_transaction(c)?;
                    Err(e)
                }
            }
        }
    }
}

/// Runs `f` inside the current transaction so that its failure undoes only its own writes
/// (a savepoint), e.g. one refused row of an import.
pub fn savepoint<T, F>(conn: &mut DbConn, f: F) -> Result<T>
where
    F: FnOnce(&mut DbConn) -> Result<T>,
{
    conn.transaction(f)
}

fn migrate(url: &str, backend: Backend) -> Result<()> {
    let run_err = |e: Box<dyn std::error::Error + Send + Sync>| {
        Error::internal(format!("migration failed: {e}"))
    };
    match backend {
        Backend::Sqlite => {
            if let Some(dir) = Path::new(url).parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir)?;
            }
            let mut c = diesel::SqliteConnection::establish(url)
                .map_err(|e| Error::Pool(format!("cannot open SQLite database {url}: {e}")))?;
            // WAL persists in the file, so it is set once here rather than per pooled connection
            // (switching it takes a write lock and races the pool's start-up).
            c.batch_execute("PRAGMA busy_timeout = 5000;")?;
            c.batch_execute("PRAGMA journal_mode = WAL;")?;
            c.run_pending_migrations(SQLITE_MIGRATIONS)
                .map_err(run_err)?;
        }
        Backend::Postgres => {
            let mut c = diesel::PgConnection::establish(url)
                .map_err(|e| Error::Pool(format!("cannot connect to PostgreSQL: {e}")))?;
            // Several instances may start at once; one migrates, the others wait.
            c.batch_execute("SELECT pg_advisory_lock(727001);")?;
            let result = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|_| ())
                .map_err(run_err);
            c.batch_execute("SELECT pg_advisory_unlock(727001);")?;
            result?;
        }
    }
    Ok(())
}

/// A consistent copy of a SQLite database at `to`, taken while others read and write it
/// (`VACUUM INTO` reads one snapshot). PostgreSQL has pg_dump for this.
pub fn snapshot_sqlite(url: &str, to: &Path) -> Result<()> {
    if Backend::of_url(url) != Backend::Sqlite {
        return Err(Error::invalid(
            "on PostgreSQL back up with pg_dump (see the README), then copy the attachments folder",
        ));
    }
    let mut c = diesel::SqliteConnection::establish(url)
        .map_err(|e| Error::Pool(format!("cannot open SQLite database {url}: {e}")))?;
    c.batch_execute("PRAGMA busy_timeout = 5000;")?;
    let target = to.to_string_lossy().replace('\'', "''");
    c.batch_execute(&format!("VACUUM INTO '{target}';"))?;
    Ok(())
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error as D};
        match &e {
            // The database went away under a query (a restart): like no connection at all.
            D::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => Error::Pool(e.to_string()),
            D::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => Error::Unique(e.to_string()),
            D::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                Error::Collided(e.to_string())
            }
            D::DatabaseError(_, info) if info.message().contains("deadlock detected") => {
                Error::Collided(e.to_string())
            }
            D::DatabaseError(_, info)
                if [
                    "terminating connection",
                    "server closed the connection",
                    "connection to server",
                    "the database system is shutting down",
                    "the database system is starting up",
                    "no connection to the server",
                ]
                .iter()
                .any(|m| info.message().contains(m)) =>
            {
                Error::Pool(e.to_string())
            }
            // PostgreSQL stores no NUL in text; SQLite would. Bad input, not a server fault.
            D::DatabaseError(_, info)
                if info
                    .message()
                    .contains("invalid byte sequence for encoding \"UTF8\": 0x00") =>
            {
                Error::invalid("text must not contain NUL characters (\\u0000)")
            }
            D::DatabaseError(_, info)
                if info.message().contains("database or disk is full")
                    || info.message().contains("No space left on device") =>
            {
                Error::Full(e.to_string())
            }
            _ => Error::Db(e.to_string()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for Error {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        Error::Pool(e.to_string())
    }
}

/// One round trip: whether the database answers at all.
pub fn ping(conn: &mut DbConn) -> Result<()> {
    conn.batch_execute("SELECT 1")?;
    Ok(())
}

/// One BIGINT column named `n`, for the store's hand-written SQL.
#[derive(QueryableByName)]
pub(crate) struct Number {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub n: i64,
}

/// `count` values of a PostgreSQL sequence (`sequence` is an SQL expression naming it), in
/// increasing order, in one round trip. Values taken one by one never overlap another
/// connection's, as a range moved with setval could.
pub(crate) fn next_values(conn: &mut DbConn, sequence: &str, count: i64) -> Result<Vec<i64>> {
    Ok(diesel::sql_query(format!(
        "SELECT nextval({sequence}) AS n FROM generate_series(1, $1) ORDER BY 1"
    ))
    .bind::<diesel::sql_types::BigInt, _>(count)
    .load::<Number>(conn)?
    .into_iter()
    .map(|r| r.n)
    .collect())
}

pub fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}
