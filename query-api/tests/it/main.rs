//! Integration tests of the query API.
