//! Turning files into memories: which files a folder holds (`walk`), what
//! a file's text is (`text`), and the name of the memory that holds it
//! (`name`), embedding them on every core (`prepare`), and a thread that
//! writes memories while the next files are read (`writer`). The `ingest`
//! verb wires these to the store.

pub mod name;
pub mod prepare;
pub mod text;
pub mod walk;
pub mod writer;
