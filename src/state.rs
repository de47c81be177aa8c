//! The state store: one SQLite file holding every finished article analysis, keyed by the
//! article's content, the model and the classification/summary settings. Re-runs reuse what is
//! done; a change of model, taxonomy or settings misses only the rows it affects. Each chunk of
//! articles is committed in one transaction, so `kill -9` loses at most the chunk in flight.
//! A lock file keeps two runs from sharing one store.

use crate::pipeline::Analysis;
use rusqlite::{params, Connection, OptionalExtension};
use std::fs::File;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state store {path}: {source}")]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("state store {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("state store {0} is in use by another bantin run (lock {1}); wait for it to finish, or give this run its own --state")]
    Locked(PathBuf, PathBuf),
    #[error("state store {path}: stored row for {id} is unreadable: {message}")]
    Corrupt {
        path: PathBuf,
        id: String,
        message: String,
    },
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
    _lock: File,
}

/// What a stored analysis depends on besides the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub model: String,
    pub config: String,
}

fn sql_err(path: &Path) -> impl Fn(rusqlite::Error) -> StateError {
    let path = path.to_path_buf();
    move |source| StateError::Sql {
        path: path.clone(),
        source,
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub fn content_hash(id: &str, title: Option<&str>, text: &str) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for part in [id, title.unwrap_or(""), text] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    crate::mirror::hex(&h.finalize())
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, StateError> {
        let io = |source| StateError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let lock_path = path.with_extension("lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StateError::Locked(path.to_path_buf(), lock_path))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let sql = |source| StateError::Sql {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(sql)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=NORMAL;
             CREATE TABLE IF NOT EXISTS analyses (
                 content TEXT NOT NULL,
                 model TEXT NOT NULL,
                 config TEXT NOT NULL,
                 id TEXT NOT NULL,
                 analysis TEXT NOT NULL,
                 created INTEGER NOT NULL,
                 PRIMARY KEY (content, model, config)
             );
             CREATE TABLE IF NOT EXISTS inbox (
                 path TEXT PRIMARY KEY,
                 content TEXT NOT NULL,
                 seen INTEGER NOT NULL
             );",
        )
        .map_err(sql)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> StateError {
        sql_err(&self.path)
    }

    pub fn get(&self, content: &str, scope: &Scope) -> Result<Option<Analysis>, StateError> {
        let row: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT id, analysis FROM analyses WHERE content = ?1 AND model = ?2 AND config = ?3",
                params![content, scope.model, scope.config],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.sql())?;
        match row {
            None => Ok(None),
            Some((id, json)) => {
                serde_json::from_str(&json)
                    .map(Some)
                    .map_err(|e| StateError::Corrupt {
                        path: self.path.clone(),
                        id,
                        message: e.to_string(),
                    })
            }
        }
    }

    /// Stores a chunk's analyses in one transaction.
    pub fn put(&mut self, scope: &Scope, items: &[(String, &Analysis)]) -> Result<(), StateError> {
        let sql = sql_err(&self.path);
        let now = now_secs();
        let tx = self.conn.transaction().map_err(&sql)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO analyses (content, model, config, id, analysis, created)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(&sql)?;
            for (content, a) in items {
                let json = serde_json::to_string(a).expect("analysis serialises");
                stmt.execute(params![
                    content,
                    scope.model,
                    scope.config,
                    a.result.id,
                    json,
                    now
                ])
                .map_err(&sql)?;
            }
        }
        tx.commit().map_err(&sql)
    }

    /// Rows computed under another model or config for these contents: what a change of model
    /// or taxonomy made stale. Removed so that the store does not grow without bound.
    pub fn prune_stale(&mut self, scope: &Scope, contents: &[String]) -> Result<usize, StateError> {
        let sql = self.sql();
        let mut n = 0;
        for c in contents {
            n += self
                .conn
                .execute(
                    "DELETE FROM analyses WHERE content = ?1 AND (model != ?2 OR config != ?3)",
                    params![c, scope.model, scope.config],
                )
                .map_err(&sql)?;
        }
        Ok(n)
    }

    /// Every analysis stored under this scope, one per article id (the latest content wins
    /// when an article was re-sent with new text), ordered by id.
    pub fn all(&self, scope: &Scope) -> Result<Vec<Analysis>, StateError> {
        let sql = self.sql();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, analysis FROM analyses WHERE model = ?1 AND config = ?2
                 ORDER BY id, created, rowid",
            )
            .map_err(&sql)?;
        let rows = stmt
            .query_map(params![scope.model, scope.config], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(&sql)?;
        let mut out: Vec<Analysis> = Vec::new();
        for row in rows {
            let (id, json) = row.map_err(&sql)?;
            let a: Analysis = serde_json::from_str(&json).map_err(|e| StateError::Corrupt {
                path: self.path.clone(),
                id: id.clone(),
                message: e.to_string(),
            })?;
            match out.last_mut() {
                Some(last) if last.result.id == id => *last = a,
                _ => out.push(a),
            }
        }
        Ok(out)
    }

    pub fn count(&self) -> Result<usize, StateError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM analyses", [], |r| r.get::<_, i64>(0))
            .map(|n| n as usize)
            .map_err(self.sql())
    }

    /// Inbox bookkeeping: has this file, with this content, been classified already?
    pub fn inbox_seen(&self, path: &str, content: &str) -> Result<bool, StateError> {
        let got: Option<String> = self
            .conn
            .query_row(
                "SELECT content FROM inbox WHERE path = ?1",
                params![path],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sql())?;
        Ok(got.as_deref() == Some(content))
    }

    pub fn inbox_mark(&mut self, entries: &[(String, String)]) -> Result<(), StateError> {
        let sql = sql_err(&self.path);
        let now = now_secs();
        let tx = self.conn.transaction().map_err(&sql)?;
        for (p, c) in entries {
            tx.execute(
                "INSERT OR REPLACE INTO inbox (path, content, seen) VALUES (?1, ?2, ?3)",
                params![p, c, now],
            )
            .map_err(&sql)?;
        }
        tx.commit().map_err(&sql)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_run_on_the_same_store_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.sqlite");
        let first = Store::open(&p).unwrap();
        match Store::open(&p) {
            Err(StateError::Locked(..)) => {}
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("two runs shared one store"),
        }
        drop(first);
        assert!(Store::open(&p).is_ok(), "the lock is released with the run");
    }

    #[test]
    fn content_hash_separates_fields() {
        assert_ne!(
            content_hash("a", Some("b"), "c"),
            content_hash("ab", None, "c")
        );
        assert_eq!(
            content_hash("a", None, "x"),
            content_hash("a", Some(""), "x")
        );
    }
}
