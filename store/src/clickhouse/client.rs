//! Requests to the server, each bounded by the configured timeout, with errors that
//! name the server and what was being done (never the password).

use std::future::Future;

use clickhouse::{RowOwned, RowRead, RowWrite};
use polars::prelude::*;
use tagpulse_model::TableDef;

use super::codec;
use super::schema::{for_database, select_all};
use super::ClickHouseStore;
use crate::{polars_err, StoreError};

/// Bytes per `INSERT ... FORMAT RowBinary` chunk sent.
const CHUNK_BYTES: usize = 1 << 20;

fn describe_error(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut next = e.source();
    while let Some(s) = next {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = s.source();
    }
    parts.join(": ")
}

/// Characters of a server's error text kept: enough for ClickHouse's own messages, not a
/// hostile server's megabytes.
const MAX_SERVER_TEXT: usize = 500;

/// `message` with every secret replaced by `***` and cut after [`MAX_SERVER_TEXT`]
/// characters: a misconfigured proxy or a hostile server may echo the request headers,
/// the password among them.
pub(super) fn redact(message: &str, secrets: &[String]) -> String {
    let mut out = message.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 3) {
        out = out.replace(s.as_str(), "***");
    }
    match tagpulse_model::text::char_prefix(&out, MAX_SERVER_TEXT) {
        Some(head) => format!("{head}… ({} characters in all)", out.chars().count()),
        None => out,
    }
}

impl ClickHouseStore {
    pub(super) fn error(&self, what: &str, e: &clickhouse::error::Error) -> StoreError {
        let secrets: Vec<String> = std::env::var(tagpulse_config::CLICKHOUSE_PASSWORD_ENV)
            .into_iter()
            .collect();
        StoreError::ClickHouse {
            url: self.url().to_string(),
            what: what.to_string(),
            message: redact(&describe_error(e), &secrets),
        }
    }

    /// Awaits one request, bounded by the configured timeout.
    pub(super) async fn timed<T>(
        &self,
        what: &str,
        fut: impl Future<Output = clickhouse::error::Result<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.cfg.timeout, fut).await {
            Ok(r) => r.map_err(|e| self.error(what, &e)),
            Err(_) => Err(self.error(what, &clickhouse::error::Error::TimedOut)),
        }
    }

    pub(super) async fn execute(&self, what: &str, sql: &str) -> Result<(), StoreError> {
        let sql = for_database(sql, &self.cfg.database);
        self.timed(what, self.client().query(&sql).execute()).await
    }

    /// Runs `ON CLUSTER` DDL. Each node runs it from the cluster's DDL queue; a node that
    /// is down runs it when it is back, so it is waited for only briefly: ClickHouse then
    /// reports it unfinished and inactive ("0 of them are currently active"), which counts
    /// as done. A node that is up and fails, or is too slow, is an error.
    pub(super) async fn execute_ddl(&self, what: &str, sql: &str) -> Result<(), StoreError> {
        let sql = for_database(sql, &self.cfg.database);
        let wait = if self.nodes_down() {
            2
        } else {
            self.cfg.timeout.as_secs().max(1)
        };
        let client = self
            .client()
            .clone()
            .with_setting("distributed_ddl_task_timeout", wait.to_string());
        match self.timed(what, client.query(&sql).execute()).await {
            Err(StoreError::ClickHouse { message, .. })
                if message.contains("distributed_ddl_task_timeout")
                    && message.contains("(0 of them are currently active)") =>
            {
                tracing::warn!("{what}: a node is down and will run it when it is back");
                Ok(())
            }
            other => other,
        }
    }

    pub(super) async fn count(&self, sql: &str) -> Result<u64, StoreError> {
        let sql = for_database(sql, &self.cfg.database);
        self.timed("count rows", self.client().query(&sql).fetch_one::<u64>())
            .await
    }

    /// Every row of a query, each network read bounded by the timeout.
    pub(super) async fn fetch<T: RowOwned + RowRead>(
        &self,
        what: &str,
        sql: &str,
    ) -> Result<Vec<T>, StoreError> {
        let sql = for_database(sql, &self.cfg.database);
        let mut cursor = self
            .client()
            .query(&sql)
            .fetch::<T>()
            .map_err(|e| self.error(what, &e))?;
        let mut out = Vec::new();
        while let Some(row) = self.timed(what, cursor.next()).await? {
            out.push(row);
        }
        Ok(out)
    }

    /// Inserts rows in batches of `batch_rows`, finishing with `end()`.
    pub(super) async fn insert<T: RowOwned + RowWrite>(
        &self,
        table: &str,
        rows: &[T],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let what = format!("insert into {table}");
        let mut inserter = self
            .client()
            .inserter::<T>(table)
            .with_max_rows(self.cfg.batch_rows)
            .with_timeouts(Some(self.cfg.timeout), Some(self.cfg.timeout));
        // No timer per row: the inserter's own send/end timeouts bound each INSERT.
        for row in rows {
            inserter
                .write(row)
                .await
                .map_err(|e| self.error(&what, &e))?;
            inserter.commit().await.map_err(|e| self.error(&what, &e))?;
        }
        self.timed(&what, inserter.end()).await?;
        Ok(())
    }

    /// Inserts a frame into `table` (named with a suffix such as `__next`) as RowBinary
    /// generated from the table's definition.
    pub(super) async fn insert_table(
        &self,
        def: &TableDef,
        suffix: &str,
        df: &DataFrame,
    ) -> Result<(), StoreError> {
        if df.height() == 0 {
            return Ok(());
        }
        let bytes =
            codec::encode(def, df).map_err(polars_err(format!("cannot convert {}", def.name)))?;
        self.send_rowbinary(&format!("{}{suffix}", def.name), bytes.into())
            .await
    }

    /// One `INSERT INTO {db}.<table> FORMAT RowBinary` of `data`, sent in chunks.
    pub(super) async fn send_rowbinary(
        &self,
        table: &str,
        data: bytes::Bytes,
    ) -> Result<(), StoreError> {
        let what = format!("insert into {table}");
        let sql = for_database(
            &format!("INSERT INTO {{db}}.{table} FORMAT RowBinary"),
            &self.cfg.database,
        );
        let mut insert = self
            .client()
            .insert_formatted_with(sql)
            .with_timeouts(Some(self.cfg.timeout), Some(self.cfg.timeout));
        let mut at = 0;
        while at < data.len() {
            let end = (at + CHUNK_BYTES).min(data.len());
            self.timed(&what, insert.send(data.slice(at..end))).await?;
            at = end;
        }
        self.timed(&what, insert.end()).await
    }

    /// Every row of `table`, in its sort order, as a frame with the table's schema.
    pub(super) async fn fetch_table(&self, def: &TableDef) -> Result<DataFrame, StoreError> {
        self.fetch_frame(def, &format!("read {}", def.name), &select_all(def))
            .await
    }

    /// The rows of `sql` (which selects `def`'s columns in order; `{db}` is the
    /// database) as a frame with `def`'s schema.
    pub(super) async fn fetch_frame(
        &self,
        def: &TableDef,
        what: &str,
        sql: &str,
    ) -> Result<DataFrame, StoreError> {
        let sql = for_database(sql, &self.cfg.database);
        let mut cursor = self
            .client()
            .query(&sql)
            .fetch_bytes("RowBinary")
            .map_err(|e| self.error(what, &e))?;
        let bytes = self.timed(what, cursor.collect()).await?;
        codec::decode(def, &bytes).map_err(polars_err(format!("cannot decode {}", def.name)))
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn server_text_is_masked_and_capped() {
        let body = format!(
            "Code: 516. x-clickhouse-key: s3cr3t! {}",
            "y".repeat(10_000)
        );
        let out = redact(&body, &["s3cr3t!".to_string()]);
        assert!(
            out.starts_with("Code: 516. x-clickhouse-key: *** yyy"),
            "{out}"
        );
        assert!(!out.contains("s3cr3t"));
        assert!(out.ends_with("… (10033 characters in all)"), "{out}");
        assert_eq!(redact("short", &[]), "short");
    }
}
