//! Integration tests of niji-enclave: a small lake whose every person is known, and the
//! attacks the policy must refuse or neutralise.

mod attacks;
mod audit;
mod fixture;
mod results;
