//! Types and pure functions shared by the niji crates. No I/O lives here.
//!
//! ```
//! use niji_core::checkdigit;
//! // DOMAIN.md's worked example: 0613048 → 8.
//! assert_eq!(checkdigit::compute("0613048"), Some(8));
//! assert!(checkdigit::is_valid("06130488"));
//! ```

pub mod checkdigit;
mod error;
pub mod sex;
pub mod source;
pub mod wareki;

pub use error::{Error, Result};
pub use sex::Sex;
pub use source::Source;
