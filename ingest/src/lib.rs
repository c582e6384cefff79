//! Ingest: the stream parsers of the four source formats, validation, the quarantine and the
//! staging tables. Its work is tracked in issue 4; nothing is exported until it lands.
