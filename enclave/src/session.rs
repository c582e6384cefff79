//! The researcher's session: only allow-listed functions, no table functions or file formats,
//! a memory pool, and the views of one project.

use std::sync::Arc;

use datafusion::execution::SessionStateDefaults;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::functions::{AGGREGATE_ALLOWED, SCALAR_ALLOWED, WINDOW_ALLOWED};
use crate::spec::Limits;
use crate::{Error, Result};

/// A session that can run allow-listed functions over registered views and nothing else: no
/// table functions (`read_parquet`, `generate_series`), no file formats or table factories
/// (`CREATE EXTERNAL TABLE`), no URL tables, no information schema, and a memory pool of
/// `limits.memory_mib`.
pub(crate) fn restricted_session(limits: &Limits) -> Result<SessionContext> {
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(FairSpillPool::new(limits.memory_mib << 20)))
        .build_arc()
        .map_err(|e| Error::Spec {
            message: format!("runtime: {e}"),
        })?;
    let config = SessionConfig::new()
        .with_information_schema(false)
        .with_target_partitions(std::thread::available_parallelism().map_or(2, |n| n.get()));
    let scalar = SessionStateDefaults::default_scalar_functions()
        .into_iter()
        .filter(|f| allowed(SCALAR_ALLOWED, f.name(), f.aliases()))
        .collect();
    let aggregate = SessionStateDefaults::default_aggregate_functions()
        .into_iter()
        .filter(|f| allowed(AGGREGATE_ALLOWED, f.name(), f.aliases()))
        .collect();
    let window = SessionStateDefaults::default_window_functions()
        .into_iter()
        .filter(|f| allowed(WINDOW_ALLOWED, f.name(), f.aliases()))
        .collect();
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_scalar_functions(scalar)
        .with_aggregate_functions(aggregate)
        .with_window_functions(window)
        .with_expr_planners(SessionStateDefaults::default_expr_planners())
        .build();
    Ok(SessionContext::new_with_state(state))
}

fn allowed(list: &[&str], name: &str, aliases: &[String]) -> bool {
    list.contains(&name) || aliases.iter().any(|a| list.contains(&a.as_str()))
}
