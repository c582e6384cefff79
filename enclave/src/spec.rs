//! An approved project's specification: what it sees and under which disclosure settings.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// What the review committee approved for one project. Approval pins every table at a version,
/// so a study can be re-run on the same data; [`crate::Catalog::open`] fills in the versions
/// left open with the latest ones and reports them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectSpec {
    /// The project's identifier (also the name of its key).
    pub project: String,
    /// The lake tables the project sees.
    pub datasets: Vec<DatasetSpec>,
    /// Service months the project sees (inclusive), `YYYY-MM`.
    #[serde(default)]
    pub period: Option<Period>,
    /// The full birth date instead of its year-month (rarely approved).
    #[serde(default)]
    pub full_birth_date: bool,
    /// The disclosure settings (the defaults are DESIGN.md's; a committee may tighten them).
    #[serde(default)]
    pub disclosure: DisclosureSettings,
    /// Per-query resource limits.
    #[serde(default)]
    pub limits: Limits,
}

/// One approved table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetSpec {
    /// The lake table (`receipts`, `diagnoses`, `checkups`, …).
    pub table: String,
    /// The approved columns; all the table's analysable columns when absent.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// The pinned Delta version; the latest at approval when absent.
    #[serde(default)]
    pub version: Option<u64>,
}

/// An inclusive range of service months.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// First month, `YYYY-MM`.
    pub from: String,
    /// Last month, `YYYY-MM`.
    pub to: String,
}

/// Disclosure control settings. Defaults: k = 10 persons (the NDB rule), counts rounded to
/// base 5, dominance NK(2, 0.90), sticky noise on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DisclosureSettings {
    /// Minimum distinct persons behind every output group.
    pub k: u64,
    /// Counts are rounded to a multiple of this after suppression (1 = no rounding).
    pub rounding_base: u64,
    /// A value cell is suppressed when its two largest contributors exceed this share.
    pub dominance: f64,
    /// Sticky noise on counts (the same for the same set of persons), before rounding.
    pub noise: bool,
}

impl Default for DisclosureSettings {
    fn default() -> Self {
        DisclosureSettings {
            k: 10,
            rounding_base: 5,
            dominance: 0.9,
            noise: true,
        }
    }
}

/// Per-query limits: a query over one fails with a clear error and the server stays healthy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Memory a query may use, in MiB.
    pub memory_mib: usize,
    /// Wall-clock time a query may take, in seconds.
    pub timeout_seconds: u64,
    /// Rows a result may have.
    pub max_rows: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mib: 1024,
            timeout_seconds: 120,
            max_rows: 10_000,
        }
    }
}

impl ProjectSpec {
    /// A project over `tables` with every default.
    pub fn new(project: &str, tables: &[&str]) -> Self {
        ProjectSpec {
            project: project.to_string(),
            datasets: tables
                .iter()
                .map(|t| DatasetSpec {
                    table: t.to_string(),
                    columns: None,
                    version: None,
                })
                .collect(),
            period: None,
            full_birth_date: false,
            disclosure: DisclosureSettings::default(),
            limits: Limits::default(),
        }
    }

    /// Checks the settings a committee could get wrong.
    pub fn validate(&self) -> Result<()> {
        let bad = |message: String| Err(Error::Spec { message });
        if self.project.is_empty()
            || !self
                .project
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return bad(format!(
                "project id {:?} must be non-empty ASCII letters, digits, '-' or '_'",
                self.project
            ));
        }
        if self.datasets.is_empty() {
            return bad("no dataset approved".into());
        }
        let d = &self.disclosure;
        if d.k < 2 {
            return bad(format!("k = {} is below 2", d.k));
        }
        if d.rounding_base == 0 {
            return bad("rounding_base must be at least 1".into());
        }
        if !(0.5..=1.0).contains(&d.dominance) {
            return bad(format!("dominance {} is outside 0.5–1.0", d.dominance));
        }
        if let Some(p) = &self.period {
            for m in [&p.from, &p.to] {
                let ok = m.len() == 7
                    && m.as_bytes()[4] == b'-'
                    && m[..4].parse::<u16>().is_ok()
                    && m[5..].parse::<u8>().is_ok_and(|x| (1..=12).contains(&x));
                if !ok {
                    return bad(format!("period month {m:?} is not YYYY-MM"));
                }
            }
            if p.from > p.to {
                return bad(format!("period {}..{} is empty", p.from, p.to));
            }
        }
        if self.limits.max_rows == 0 || self.limits.timeout_seconds == 0 {
            return bad("limits must be positive".into());
        }
        Ok(())
    }
}
