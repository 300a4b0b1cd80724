//! Backups and restores, by each backend's own means: SQLite's `VACUUM
//! INTO` (one read transaction, so the copy is consistent while the service
//! writes) and PostgreSQL's `pg_dump`/`pg_restore` (custom format). The
//! commands `exampost backup` and `exampost restore` call these, then check
//! what they made.

use std::path::{Path, PathBuf};
use std::process::Command;

use diesel::connection::SimpleConnection;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use serde::Serialize;

use super::{DbConn, DbTarget};

#[derive(Debug, Serialize)]
pub struct BackupMade {
    pub file: PathBuf,
    pub bytes: u64,
    pub method: &'static str,
}

/// Writes a consistent copy of the database to `file`, which must not exist.
pub fn backup(target: &DbTarget, conn: &mut DbConn, file: &Path) -> Result<BackupMade, String> {
    if file.exists() {
        return Err(format!("{} already exists; a backup never overwrites one", file.display()));
    }
    let method = match target {
        DbTarget::Sqlite(_) => {
            let text = file.to_str().ok_or_else(|| format!("{} is not a UTF-8 path", file.display()))?;
            // A literal in SQL: quotes doubled. VACUUM INTO reads one snapshot.
            conn.batch_execute(&format!("VACUUM INTO '{}'", text.replace('\'', "''"))).map_err(|e| format!("the backup failed: {e}"))?;
            check_sqlite_file(file)?;
            "sqlite VACUUM INTO"
        }
        DbTarget::Postgres(url) => {
            pg_dump(url, file)?;
            "pg_dump --format=custom"
        }
    };
    // Candidates' personal data: readable by the service's user alone, whatever the umask.
    #[cfg(unix)]
    std::fs::set_permissions(file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).map_err(|e| format!("cannot restrict {}: {e}", file.display()))?;
    let bytes = std::fs::metadata(file).map(|m| m.len()).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    Ok(BackupMade { file: file.to_path_buf(), bytes, method })
}

fn pg_dump(url: &str, file: &Path) -> Result<(), String> {
    let (url, password) = without_password(url);
    let mut command = Command::new("pg_dump");
    command.args(["--format=custom", "--no-owner", "--no-privileges", "--file"]).arg(file).arg(format!("--dbname={url}"));
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    run("pg_dump", &mut command)
}

/// The URL without its password, and the password: a command line is
/// readable by every local user (`ps`), the child's environment is not.
fn without_password(raw: &str) -> (String, Option<String>) {
    match url::Url::parse(raw) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let password = parsed.password().map(|p| percent_encoding::percent_decode_str(p).decode_utf8_lossy().into_owned());
            let _ = parsed.set_password(None);
            (parsed.to_string(), password)
        }
        _ => (raw.to_string(), None),
    }
}

/// The lock every serving process holds shared on a SQLite database (the
/// file `DB.lock` beside it), and `restore` takes alone: a restore under a
/// running service would leave it writing to the file moved aside.
pub fn serving_lock(database: &Path, exclusive: bool) -> Result<std::fs::File, String> {
    let path = PathBuf::from(format!("{}.lock", database.display()));
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let taken = if exclusive { file.try_lock().map_err(|e| e.to_string()) } else { file.lock_shared().map_err(|e| e.to_string()) };
    taken.map_err(|e| format!("the database {} is in use by a running service ({e}): stop every replica first", database.display()))?;
    Ok(file)
}

/// A name beside `path` that nothing has yet.
fn free_name(path: &Path, label: &str) -> PathBuf {
    let base = format!("{}.{label}", path.display());
    std::iter::once(PathBuf::from(&base)).chain((2..).map(|n| PathBuf::from(format!("{base}-{n}")))).find(|candidate| !candidate.exists()).unwrap_or_else(|| PathBuf::from(base))
}

#[derive(Debug, Serialize)]
pub struct Restored {
    pub from: PathBuf,
    /// Where the database that was replaced went: the SQLite file moved
    /// aside, or a pg_dump of the PostgreSQL database taken just before.
    pub previous_kept_at: Option<PathBuf>,
}

/// Puts the backup `file` in place of the database. The service must be
/// stopped (every replica). A SQLite database that was there is moved aside,
/// never deleted; a PostgreSQL database is emptied of ExamPost's objects and
/// refilled in one transaction.
pub fn restore(target: &DbTarget, file: &Path, now: chrono::DateTime<chrono::Utc>) -> Result<Restored, String> {
    if !file.is_file() {
        return Err(format!("{} is not a file", file.display()));
    }
    match target {
        DbTarget::Sqlite(path) => {
            check_sqlite_file(file)?;
            let _alone = serving_lock(path, true)?;
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir).map_err(|e| format!("the data directory {} cannot be used: {e}", dir.display()))?;
            let incoming = dir.join(format!(".restore-{}", std::process::id()));
            std::fs::copy(file, &incoming).map_err(|e| format!("cannot copy {} to {}: {e}", file.display(), incoming.display()))?;
            std::fs::File::open(&incoming).and_then(|f| f.sync_all()).map_err(|e| format!("cannot sync {}: {e}", incoming.display()))?;
            let previous_kept_at = if path.exists() {
                let aside = free_name(path, &format!("before-restore-{}", now.format("%Y%m%dT%H%M%SZ")));
                std::fs::rename(path, &aside).map_err(|e| format!("cannot move the current database aside: {e}"))?;
                // The log of the database moved aside belongs to it, not to the restored one.
                for suffix in ["-wal", "-shm"] {
                    let side = PathBuf::from(format!("{}{suffix}", path.display()));
                    if side.exists() {
                        std::fs::rename(&side, format!("{}{suffix}", aside.display())).map_err(|e| format!("cannot move {} aside: {e}", side.display()))?;
                    }
                }
                Some(aside)
            } else {
                None
            };
            std::fs::rename(&incoming, path).map_err(|e| format!("cannot put the backup in place: {e}"))?;
            Ok(Restored { from: file.to_path_buf(), previous_kept_at })
        }
        DbTarget::Postgres(url) => {
            let mut conn = diesel::PgConnection::establish(url).map_err(|e| format!("cannot connect to the database: {e}"))?;
            let others: Vec<Count> = diesel::sql_query("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
                .load(&mut conn)
                .map_err(|e| e.to_string())?;
            drop(conn);
            if let Some(n) = others.first().map(|c| c.n).filter(|n| *n > 0) {
                return Err(format!("{n} other sessions are connected to the database: stop every replica first"));
            }
            // What is there now is kept, as a SQLite restore keeps its file.
            let kept = free_name(file, &format!("replaced-{}.dump", now.format("%Y%m%dT%H%M%SZ")));
            pg_dump(url, &kept).map_err(|e| format!("the current database could not be kept before the restore: {e}"))?;
            let (url, password) = without_password(url);
            let mut command = Command::new("pg_restore");
            command
                .args(["--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"])
                .arg(format!("--dbname={url}"))
                .arg(file);
            if let Some(password) = password {
                command.env("PGPASSWORD", password);
            }
            run("pg_restore", &mut command).map_err(|e| format!("{} cannot be restored: {e}", file.display()))?;
            Ok(Restored { from: file.to_path_buf(), previous_kept_at: Some(kept) })
        }
    }
}

#[derive(QueryableByName)]
struct Check {
    #[diesel(sql_type = diesel::sql_types::Text)]
    integrity_check: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// A SQLite file that passes its integrity check and holds ExamPost's schema.
fn check_sqlite_file(file: &Path) -> Result<(), String> {
    let text = file.to_str().ok_or_else(|| format!("{} is not a UTF-8 path", file.display()))?;
    let mut conn = SqliteConnection::establish(text).map_err(|e| format!("{} cannot be opened as SQLite: {e}", file.display()))?;
    let checks: Vec<Check> = diesel::sql_query("PRAGMA integrity_check").load(&mut conn).map_err(|e| format!("{} is not a SQLite database: {e}", file.display()))?;
    if checks.len() != 1 || checks[0].integrity_check != "ok" {
        let found: Vec<&str> = checks.iter().take(3).map(|c| c.integrity_check.as_str()).collect();
        return Err(format!("{} fails SQLite's integrity check: {}", file.display(), found.join("; ")));
    }
    let schema: Vec<Count> = diesel::sql_query("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN ('items', 'events', '__diesel_schema_migrations')")
        .load(&mut conn)
        .map_err(|e| e.to_string())?;
    if schema.first().map(|c| c.n) != Some(3) {
        return Err(format!("{} is a SQLite database but not an ExamPost one", file.display()));
    }
    Ok(())
}

fn run(tool: &str, command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|e| format!("cannot run {tool} (install PostgreSQL's client tools, the server's version or newer): {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    // libpq quotes the connection string back in some errors; never print a password.
    let said: String = stderr.lines().filter(|l| !l.contains("password") && !l.contains("://")).take(5).collect::<Vec<_>>().join("; ");
    Err(format!("{tool} failed ({}): {said}", output.status))
}
