//! Integration tests of niji-linkage: synthetic extracts, ingested, linked and scored.

mod fixture;
mod lake;
mod quality;
mod registry;
