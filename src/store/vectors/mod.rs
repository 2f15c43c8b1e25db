//! Where the live vectors are kept and how they are searched: blocks of
//! many vectors to a row ([`blocks`]), the center of their sign bits
//! ([`center`]), their consistency checks ([`check`]), the integer
//! kernels ([`kernel`]),
//! the scan with its prefilter ([`scan`]), and the move of older databases'
//! vectors into blocks ([`migrate`]).

pub mod blocks;
pub mod center;
pub mod check;
pub mod kernel;
pub mod migrate;
pub mod scan;
#[cfg(test)]
mod tests;
