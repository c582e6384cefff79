//! A small lake, a settable clock and a server on a loopback socket.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use arrow_array::{Date32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use chrono::{DateTime, Duration, TimeZone, Utc};
use niji_enclave::{AuditLog, Clock};
use niji_lake::{CommitInfo, TableWriter, ZoneRoot};
use niji_query_api::{AppState, ProvisionDefaults};

/// A clock the test moves.
#[derive(Debug, Clone)]
pub(crate) struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    pub(crate) fn new() -> Self {
        TestClock(Arc::new(Mutex::new(
            Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
                .single()
                .expect("time"),
        )))
    }

    pub(crate) fn advance(&self, d: Duration) {
        let mut t = self.0.lock().expect("clock");
        *t += d;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock")
    }
}

pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) clock: TestClock,
    pub(crate) state: AppState,
    pub(crate) dir: tempfile::TempDir,
}

async fn write(root: &ZoneRoot, name: &str, batch: RecordBatch) {
    let mut w = TableWriter::open(
        &root.table(name).expect("uri"),
        batch.schema(),
        &["source", "service_month"],
    )
    .await
    .expect("writer");
    w.write(batch).await.expect("write");
    w.prepare()
        .await
        .expect("prepare")
        .commit(&CommitInfo::new("fixture", "test lake"))
        .await
        .expect("commit");
}

/// `receipts`: persons 1..=200, one receipt each in 2024-04, sex by parity, points 100 + id;
/// `diagnoses`: E11 for persons 1..=80, the rare X99 for persons 1..=4.
async fn lake(root: &ZoneRoot) {
    let n = 200i64;
    let schema = Arc::new(Schema::new(vec![
        Field::new("person_id", DataType::Int64, false),
        Field::new("unit_id", DataType::Int64, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("service_month", DataType::Utf8, false),
        Field::new("sex", DataType::Utf8, true),
        Field::new("birth_date", DataType::Date32, true),
        Field::new("points", DataType::Int64, true),
    ]));
    let ids: Vec<i64> = (1..=n).collect();
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(ids.clone())),
            Arc::new(Int64Array::from(ids.clone())),
            Arc::new(StringArray::from(vec!["ndb-med"; n as usize])),
            Arc::new(StringArray::from(vec!["2024-04"; n as usize])),
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| if i % 2 == 1 { "1" } else { "2" }),
            )),
            Arc::new(Date32Array::from_iter_values(
                ids.iter().map(|i| -5000 + *i as i32 * 30),
            )),
            Arc::new(Int64Array::from_iter_values(ids.iter().map(|i| 100 + i))),
        ],
    )
    .expect("batch");
    write(root, "receipts", batch).await;
    let dx: Vec<(i64, &str)> = (1..=80)
        .map(|p| (p, "E11"))
        .chain((1..=4).map(|p| (p, "X99")))
        .collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("person_id", DataType::Int64, false),
        Field::new("unit_id", DataType::Int64, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("service_month", DataType::Utf8, false),
        Field::new("code", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(dx.iter().map(|d| d.0))),
            Arc::new(Int64Array::from_iter_values(dx.iter().map(|d| d.0))),
            Arc::new(StringArray::from(vec!["ndb-med"; dx.len()])),
            Arc::new(StringArray::from(vec!["2024-04"; dx.len()])),
            Arc::new(StringArray::from_iter_values(dx.iter().map(|d| d.1))),
        ],
    )
    .expect("batch");
    write(root, "diagnoses", batch).await;
}

/// Starts a server over a fresh lake and the metadata database at `database` (a fresh SQLite
/// file when `None`).
pub(crate) async fn server(
    database: Option<&str>,
    rate_limit: u32,
    sync_query_seconds: u64,
) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = ZoneRoot::parse(&dir.path().join("lake").display().to_string()).expect("root");
    lake(&root).await;
    let url = match database {
        Some(u) => u.to_string(),
        None => format!("sqlite://{}?mode=rwc", dir.path().join("meta.db").display()),
    };
    let db = niji_query_api::db::connect(&url).await.expect("database");
    let clock = TestClock::new();
    let steward_dir = dir.path().join("steward");
    std::fs::create_dir_all(&steward_dir).expect("steward dir");
    let audit =
        AuditLog::open(steward_dir.join("audit.jsonl"), Box::new(clock.clone())).expect("audit");
    let state = AppState::new(
        db,
        root,
        steward_dir,
        audit,
        Arc::new(clock.clone()),
        rate_limit,
        ProvisionDefaults {
            sync_query_seconds,
            ..ProvisionDefaults::default()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = niji_query_api::app(state.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server {
        addr,
        clock,
        state,
        dir,
    }
}
