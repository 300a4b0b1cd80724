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
            run("pg_dump", Command::new("pg_dump").args(["--format=custom", "--no-owner", "--no-privileges", "--file"]).arg(file).arg(format!("--dbname={url}")))?;
            "pg_dump --format=custom"
        }
    };
    let bytes = std::fs::metadata(file).map(|m| m.len()).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    Ok(BackupMade { file: file.to_path_buf(), bytes, method })
}

#[derive(Debug, Serialize)]
pub struct Restored {
    pub from: PathBuf,
    /// Where the database that was replaced went (SQLite), if there was one.
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
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir).map_err(|e| format!("the data directory {} cannot be used: {e}", dir.display()))?;
            let incoming = dir.join(format!(".restore-{}", std::process::id()));
            std::fs::copy(file, &incoming).map_err(|e| format!("cannot copy {} to {}: {e}", file.display(), incoming.display()))?;
            std::fs::File::open(&incoming).and_then(|f| f.sync_all()).map_err(|e| format!("cannot sync {}: {e}", incoming.display()))?;
            let previous_kept_at = if path.exists() {
                let aside = PathBuf::from(format!("{}.before-restore-{}", path.display(), now.format("%Y%m%dT%H%M%SZ")));
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
            run(
                "pg_restore",
                Command::new("pg_restore")
                    .args(["--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"])
                    .arg(format!("--dbname={url}"))
                    .arg(file),
            )
            .map_err(|e| format!("{} cannot be restored: {e}", file.display()))?;
            Ok(Restored { from: file.to_path_buf(), previous_kept_at: None })
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
    let said: String = stderr.lines().filter(|l| !l.contains("password=") && !l.contains("://")).take(5).collect::<Vec<_>>().join("; ");
    Err(format!("{tool} failed ({}): {said}", output.status))
}
