//! Enclave: project catalogs, the plan policy and disclosure control. Its work is tracked in
//! issue 6; nothing is exported until it lands.
