//! The store: one DuckDB file, written by one thread, read by any number of queries.
//!
//! - **Open**: the file and its directory are owner-only. DuckDB is opened with external
//!   access off (no file reads or extension installs from SQL), extension autoloading off and
//!   the configuration locked, so a query can neither read the host's files nor reach the
//!   network. A file DuckDB cannot open as a database, or one written by a newer schema, is moved
//!   aside (`<name>.corrupt-<unix time>`, with its WAL) and a new one created: never deleted.
//!   A file locked by another process is an error, left alone.
//! - **Write**: the writer thread appends a group of record batches (one per table) inside one
//!   transaction with DuckDB's appender, then commits; the commit is in DuckDB's write-ahead
//!   log, so it survives `kill -9` (recovered at the next open).
//! - **Retention** runs on the writer thread, between writes, so it never conflicts with them:
//!   age (per table) every `check_interval`; size before each write, so that the store is
//!   never over its limit by more than the batch being written. Rows are deleted oldest first
//!   and the space reclaimed by a checkpoint.
//! - **Read**: queries get their own connection to the same database (MVCC: the writer is not
//!   blocked); see [`crate::query`].

use crate::schema::{duckdb_ddl, Table, MIGRATIONS, SCHEMA_VERSION, TABLES};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::{AccessMode, Config, Connection};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{mpsc, Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long the store keeps data.
#[derive(Debug, Clone, PartialEq)]
pub struct Retention {
    /// Default maximum age (zero: no limit).
    pub max_age: Duration,
    /// Per-table maximum age, over `max_age`.
    pub tables: BTreeMap<String, Duration>,
    /// Maximum bytes (data in use plus the write-ahead log; zero: no limit).
    pub max_bytes: u64,
    /// How often age retention runs.
    pub check_interval: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_age: Duration::from_secs(7 * 86400),
            tables: BTreeMap::new(),
            max_bytes: 1 << 30,
            check_interval: Duration::from_secs(60),
        }
    }
}

impl Retention {
    fn age_of(&self, table: &str) -> Duration {
        self.tables.get(table).copied().unwrap_or(self.max_age)
    }
}

/// Counters and gauges of a store, shown by `/status` and `/metrics`.
#[derive(Debug, Default)]
pub struct StoreStats {
    /// Rows written, by table index ([`TABLES`] order).
    pub rows_written: [AtomicU64; 7],
    /// Rows deleted for their age.
    pub rows_expired: AtomicU64,
    /// Rows deleted to keep under the size limit.
    pub rows_evicted: AtomicU64,
    /// Bytes of the database file and its WAL on disk, at the last measure.
    pub file_bytes: AtomicU64,
    /// Bytes in use (used blocks plus WAL), at the last measure.
    pub used_bytes: AtomicU64,
    /// Failed writes.
    pub write_errors: AtomicU64,
}

type Reply = std::sync::mpsc::SyncSender<Result<usize, String>>;

enum Job {
    Write(Vec<(usize, RecordBatch)>, Reply),
    Retention(Retention),
    Sync(mpsc::SyncSender<()>),
}

/// An open store.
pub struct Store {
    path: PathBuf,
    /// For readers (cloned per query).
    reader: Mutex<Connection>,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Its counters.
    pub stats: Arc<StoreStats>,
    /// What opening it did (a file moved aside, a migration), for the log.
    pub notes: Vec<String>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Drop for Store {
    /// Stops the writer (it checkpoints the WAL into the file) and waits for it, so the
    /// database is closed before the process exits.
    fn drop(&mut self) {
        drop(self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take());
        if let Some(h) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = h.join();
        }
    }
}

/// The configuration every connection of the store uses.
pub(crate) fn config(read_only: bool) -> duckdb::Result<Config> {
    let c = Config::default()
        .access_mode(if read_only {
            AccessMode::ReadOnly
        } else {
            AccessMode::ReadWrite
        })?
        .enable_external_access(false)?
        .enable_autoload_extension(false)?
        .with("autoinstall_known_extensions", "false")?
        .threads(2)?
        .max_memory("256MB")?;
    c.with("lock_configuration", "true")
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn wal_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".wal");
    PathBuf::from(p)
}

/// Bytes of the file and its WAL on disk.
pub fn file_bytes(path: &Path) -> u64 {
    let len = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    len(path) + len(&wal_path(path))
}

/// Whether an open error means another process holds the file.
fn is_lock_error(e: &str) -> bool {
    e.contains("Could not set lock") || e.contains("Conflicting lock")
}

/// Moves a bad file (and its WAL) aside; returns the new name.
fn move_aside(path: &Path) -> Result<PathBuf, String> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut to = path.as_os_str().to_owned();
    to.push(format!(".corrupt-{secs}"));
    let to = PathBuf::from(to);
    std::fs::rename(path, &to).map_err(|e| format!("cannot move {} aside: {e}", path.display()))?;
    let wal = wal_path(path);
    if wal.exists() {
        let mut wto = to.as_os_str().to_owned();
        wto.push(".wal");
        std::fs::rename(&wal, PathBuf::from(wto))
            .map_err(|e| format!("cannot move {} aside: {e}", wal.display()))?;
    }
    Ok(to)
}

/// The schema version a database holds (0: none yet).
fn schema_version(conn: &Connection) -> duckdb::Result<u32> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS lookout_meta (key VARCHAR PRIMARY KEY, value VARCHAR);",
    )?;
    let v: Option<String> = conn
        .query_row(
            "SELECT value FROM lookout_meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .ok();
    Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// Creates the tables or migrates them to [`SCHEMA_VERSION`]. Err(Some(v)) for a newer
/// schema this build cannot read.
fn migrate(conn: &Connection, notes: &mut Vec<String>) -> Result<(), (Option<u32>, String)> {
    let v = schema_version(conn).map_err(|e| (None, e.to_string()))?;
    if v > SCHEMA_VERSION {
        return Err((
            Some(v),
            format!("the store has schema version {v}, newer than this lookout's {SCHEMA_VERSION}"),
        ));
    }
    let mut sql = String::from("BEGIN TRANSACTION;\n");
    if v == 0 {
        for t in &TABLES {
            sql.push_str(&duckdb_ddl(t));
        }
    } else {
        for (i, step) in MIGRATIONS.iter().enumerate() {
            let to = i as u32 + 2;
            if to > v {
                sql.push_str(step);
                notes.push(format!("schema migrated to version {to}"));
            }
        }
    }
    sql.push_str(&format!(
        "INSERT OR REPLACE INTO lookout_meta VALUES ('schema_version', '{SCHEMA_VERSION}');\nCOMMIT;\n"
    ));
    conn.execute_batch(&sql).map_err(|e| (None, e.to_string()))
}

fn open_rw(path: &Path, notes: &mut Vec<String>) -> Result<Connection, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
    }
    for attempt in 0..2 {
        let opened = config(false).and_then(|c| Connection::open_with_flags(path, c));
        let conn = match opened {
            Ok(c) => c,
            Err(e) => {
                let e = e.to_string();
                if is_lock_error(&e) || attempt == 1 || !path.exists() {
                    return Err(format!("cannot open the store {}: {e}", path.display()));
                }
                let to = move_aside(path)?;
                notes.push(format!(
                    "{} could not be opened as a DuckDB database ({e}); moved aside to {} and a new store created",
                    path.display(),
                    to.display()
                ));
                continue;
            }
        };
        match migrate(&conn, notes) {
            Ok(()) => {
                owner_only(path);
                return Ok(conn);
            }
            Err((newer, e)) => {
                drop(conn);
                if attempt == 1 {
                    return Err(format!(
                        "cannot initialise the store {}: {e}",
                        path.display()
                    ));
                }
                let to = move_aside(path)?;
                notes.push(format!(
                    "{}: {e}{}; moved aside to {} and a new store created",
                    path.display(),
                    if newer.is_some() {
                        " (written by a newer lookout)"
                    } else {
                        ""
                    },
                    to.display()
                ));
            }
        }
    }
    Err(format!("cannot open the store {}", path.display()))
}

fn owner_only(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for p in [path.to_path_buf(), wal_path(path)] {
        if p.exists() {
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
        }
    }
}

fn registry() -> &'static Mutex<HashMap<PathBuf, Weak<Store>>> {
    static R: OnceLock<Mutex<HashMap<PathBuf, Weak<Store>>>> = OnceLock::new();
    R.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The stores open in this process (path, store).
pub fn open_stores() -> Vec<Arc<Store>> {
    let r = registry().lock().unwrap_or_else(|p| p.into_inner());
    let mut v: Vec<Arc<Store>> = r.values().filter_map(Weak::upgrade).collect();
    v.sort_by(|a, b| a.path.cmp(&b.path));
    v
}

impl Store {
    /// Opens (creating) the store at `path`, or returns the one this process already has open
    /// there (a reload builds a new sink beside the running one: both share it).
    pub fn open(path: &Path, retention: Retention) -> Result<Arc<Store>, String> {
        let key = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let mut r = registry().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = r.get(&key).and_then(Weak::upgrade) {
            s.set_retention(retention);
            return Ok(s);
        }
        let mut notes = Vec::new();
        let conn = open_rw(&key, &mut notes)?;
        let reader = conn
            .try_clone()
            .map_err(|e| format!("cannot open a reader on {}: {e}", key.display()))?;
        let stats = Arc::new(StoreStats::default());
        let (tx, rx) = mpsc::channel();
        let writer = Writer {
            path: key.clone(),
            conn,
            stats: stats.clone(),
            retention,
            last_age_check: None,
            bytes_per_row: 64.0,
        };
        let handle = std::thread::Builder::new()
            .name("lookout-store".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| format!("cannot start the store writer: {e}"))?;
        let store = Arc::new(Store {
            path: key.clone(),
            reader: Mutex::new(reader),
            jobs: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
            stats,
            notes,
        });
        r.insert(key, Arc::downgrade(&store));
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn send(&self, job: Job) -> Result<(), String> {
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .ok_or_else(|| "the store is closed".to_string())?
            .send(job)
            .map_err(|_| "the store writer has stopped".to_string())
    }

    /// Changes the retention (a reload).
    pub fn set_retention(&self, r: Retention) {
        let _ = self.send(Job::Retention(r));
    }

    /// Writes record batches (`(table index, batch)`) in one transaction, blocking until
    /// committed; returns the rows written.
    pub fn write_blocking(&self, batches: Vec<(usize, RecordBatch)>) -> Result<usize, String> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.send(Job::Write(batches, tx))?;
        rx.recv()
            .map_err(|_| "the store writer has stopped".to_string())?
    }

    /// Waits until every job sent before is done.
    pub fn sync(&self) {
        let (tx, rx) = mpsc::sync_channel(1);
        if self.send(Job::Sync(tx)).is_ok() {
            let _ = rx.recv();
        }
    }

    /// A new connection for a query.
    pub fn connection(&self) -> Result<Connection, String> {
        self.reader
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .try_clone()
            .map_err(|e| e.to_string())
    }

    /// (file bytes, used bytes): the file and its WAL on disk now, and the bytes in use as
    /// the writer measured them at its last write or retention run (no query: cheap enough
    /// for every scrape).
    pub fn measure(&self) -> (u64, u64) {
        let file = file_bytes(&self.path);
        self.stats.file_bytes.store(file, Relaxed);
        (file, self.stats.used_bytes.load(Relaxed))
    }
}

struct Writer {
    path: PathBuf,
    conn: Connection,
    stats: Arc<StoreStats>,
    retention: Retention,
    last_age_check: Option<Instant>,
    /// Bytes a row costs on disk, learnt from the writes.
    bytes_per_row: f64,
}

impl Writer {
    fn run(mut self, rx: mpsc::Receiver<Job>) {
        self.record_disk_use();
        loop {
            let wait = self.age_due_in();
            let job = match rx.recv_timeout(wait) {
                Ok(job) => Some(job),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            match job {
                Some(Job::Write(batches, reply)) => {
                    let r = self.write(&batches);
                    let _ = reply.send(r);
                }
                Some(Job::Retention(r)) => {
                    self.retention = r;
                    self.last_age_check = None;
                }
                Some(Job::Sync(done)) => {
                    let _ = done.send(());
                }
                None => {}
            }
            if self.age_due_in().is_zero() {
                self.enforce_age();
            }
        }
        // a clean close checkpoints the WAL into the file
        let _ = self.conn.execute_batch("CHECKPOINT;");
        tracing::debug!("store {} closed", self.path.display());
    }

    fn age_due_in(&self) -> Duration {
        match self.last_age_check {
            None => Duration::ZERO,
            Some(t) => self.retention.check_interval.saturating_sub(t.elapsed()),
        }
    }

    fn write(&mut self, batches: &[(usize, RecordBatch)]) -> Result<usize, String> {
        let rows: usize = batches.iter().map(|(_, b)| b.num_rows()).sum();
        if rows == 0 {
            return Ok(0);
        }
        if self.retention.max_bytes > 0 {
            let incoming = (rows as f64 * self.bytes_per_row) as u64;
            self.enforce_size(incoming);
        }
        let limited = self.retention.max_bytes > 0;
        // blocks in use before the write, for the bytes a row costs (the size rule's estimate)
        let before = if limited {
            disk_state(&self.conn, &self.path).map_or(0, |d| d.used)
        } else {
            0
        };
        let r = self.append(batches);
        if r.is_ok()
            && limited
            && std::fs::metadata(wal_path(&self.path)).map_or(0, |m| m.len())
                > self.retention.max_bytes / 10
        {
            // keep the WAL (rows uncompressed) from piling up next to the file; a checkpoint
            // refused while a query runs is tried again after the next write
            let _ = self.conn.execute_batch("CHECKPOINT;");
        }
        match &r {
            Ok(_) => {
                for (t, b) in batches {
                    if let Some(c) = self.stats.rows_written.get(*t) {
                        c.fetch_add(b.num_rows() as u64, Relaxed);
                    }
                }
                let after = self.record_disk_use();
                if limited && after > before {
                    // an average over the recent writes (a checkpoint makes one write look
                    // cheaper or dearer than it was)
                    let this = (after - before) as f64 / rows as f64;
                    self.bytes_per_row = 0.8 * self.bytes_per_row + 0.2 * this.min(10_000.0);
                }
            }
            Err(_) => {
                self.stats.write_errors.fetch_add(1, Relaxed);
            }
        }
        r
    }

    fn append(&mut self, batches: &[(usize, RecordBatch)]) -> Result<usize, String> {
        let tx = self
            .conn
            .transaction()
            .map_err(|e| format!("cannot begin a transaction: {e}"))?;
        let mut rows = 0;
        for (t, b) in batches {
            let Some(table) = TABLES.get(*t) else {
                continue;
            };
            let mut app = tx
                .appender(table.name)
                .map_err(|e| format!("{}: {e}", table.name))?;
            app.append_record_batch(b.clone())
                .map_err(|e| format!("{}: {e}", table.name))?;
            app.flush().map_err(|e| format!("{}: {e}", table.name))?;
            rows += b.num_rows();
        }
        tx.commit().map_err(|e| format!("commit: {e}"))?;
        Ok(rows)
    }

    fn enforce_age(&mut self) {
        self.last_age_check = Some(Instant::now());
        let now = now_ns();
        let mut deleted = 0u64;
        for t in &TABLES {
            let age = self.retention.age_of(t.name);
            if age.is_zero() {
                continue;
            }
            let cutoff = now - i64::try_from(age.as_nanos()).unwrap_or(i64::MAX);
            match delete_before(&self.conn, t, cutoff) {
                Ok(n) => deleted += n,
                Err(e) => tracing::warn!("store retention: {}: {e}", t.name),
            }
        }
        if deleted > 0 {
            self.stats.rows_expired.fetch_add(deleted, Relaxed);
            let _ = self.conn.execute_batch("CHECKPOINT;");
            tracing::debug!("store retention: {deleted} rows past their age deleted");
        }
        self.record_disk_use();
    }

    /// Measures the bytes in use (blocks and WAL) and the file, for the stats; returns the
    /// bytes of the blocks in use.
    fn record_disk_use(&self) -> u64 {
        let d = disk_state(&self.conn, &self.path).unwrap_or(DiskState { used: 0, wal: 0 });
        self.stats.used_bytes.store(d.used + d.wal, Relaxed);
        self.stats.file_bytes.store(file_bytes(&self.path), Relaxed);
        d.used
    }

    /// Deletes the oldest rows until a write of `incoming` bytes (compressed, as they will
    /// sit in the file) keeps the data in use and the WAL within 60% of the limit, which keeps
    /// the file, free blocks included, under it.
    fn enforce_size(&mut self, incoming: u64) {
        let max = self.retention.max_bytes;
        for round in 0..8 {
            let Ok(d) = disk_state(&self.conn, &self.path) else {
                return;
            };
            // data in use plus what is coming, against the share of the limit the data may
            // take: DuckDB's file also holds free blocks (rewritten row groups are copied
            // before the old blocks are freed, and reused later), measured at up to half
            // the data in use
            let budget = max / 10 * 6;
            if d.used + d.wal + incoming <= budget {
                return;
            }
            if d.wal > 0 && round == 0 {
                // a checkpoint moves the WAL into free blocks and truncates it
                let _ = self.conn.execute_batch("CHECKPOINT;");
                continue;
            }
            let over = (d.used + d.wal + incoming).saturating_sub(budget) as f64;
            let fraction = (over / d.used.max(1) as f64 + 0.05).clamp(0.05, 1.0);
            let Some(cutoff) = oldest_quantile(&self.conn, fraction) else {
                return;
            };
            let mut deleted = 0;
            for t in &TABLES {
                match delete_before(&self.conn, t, cutoff) {
                    Ok(n) => deleted += n,
                    Err(e) => tracing::warn!("store size limit: {}: {e}", t.name),
                }
            }
            self.stats.rows_evicted.fetch_add(deleted, Relaxed);
            let _ = self.conn.execute_batch("CHECKPOINT;");
            tracing::debug!("store size limit: {deleted} oldest rows deleted");
            if deleted == 0 {
                return;
            }
        }
    }
}

/// What the store takes on disk.
struct DiskState {
    /// Bytes of the file's blocks in use.
    used: u64,
    /// Length of the WAL.
    wal: u64,
}

fn disk_state(conn: &Connection, path: &Path) -> duckdb::Result<DiskState> {
    let (block, used): (i64, i64) = conn.query_row(
        "SELECT block_size, used_blocks FROM pragma_database_size() LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(DiskState {
        used: u64::try_from(block.max(0) * used.max(0)).unwrap_or(0),
        wal: std::fs::metadata(wal_path(path)).map_or(0, |m| m.len()),
    })
}

fn delete_before(conn: &Connection, t: &Table, cutoff_ns: i64) -> duckdb::Result<u64> {
    let sql = format!(
        "DELETE FROM {} WHERE \"{}\" < make_timestamp_ns(?)",
        t.name, t.time
    );
    conn.execute(&sql, [cutoff_ns]).map(|n| n as u64)
}

/// The time before which `fraction` of the store's span of time lies (oldest to newest).
fn oldest_quantile(conn: &Connection, fraction: f64) -> Option<i64> {
    let parts: Vec<String> = TABLES
        .iter()
        .map(|t| {
            format!(
                "SELECT min(\"{0}\") AS lo, max(\"{0}\") AS hi FROM {1}",
                t.time, t.name
            )
        })
        .collect();
    let sql = format!(
        "SELECT epoch_ns(min(lo)), epoch_ns(max(hi)) FROM ({})",
        parts.join(" UNION ALL ")
    );
    let (lo, hi): (Option<i64>, Option<i64>) = conn
        .query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?)))
        .ok()?;
    let (lo, hi) = (lo?, hi?);
    let span = (hi - lo).max(1) as f64;
    Some(lo + (span * fraction).ceil() as i64 + 1)
}
