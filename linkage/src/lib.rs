//! Linkage: the person registry built from the link keys of the staged sources. Its work is
//! tracked in issue 5; nothing is exported until it lands.
