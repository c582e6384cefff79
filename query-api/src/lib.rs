//! Query API: the axum service for researchers, reviewers and stewards. Its work is tracked in
//! issue 7; nothing is exported until it lands.
