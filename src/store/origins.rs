//! Where namespaces derived with `--namespace auto` came from: recorded by
//! the write that creates or fills the namespace, read by `namespaces`.

use rusqlite::params;

use super::Store;
use super::tx::Tx;
use crate::error::Result;
use crate::memory::NamespaceOrigin;

/// A namespace and where its name came from.
#[derive(Debug, Clone)]
pub(crate) struct OriginOf {
    /// The namespace.
    pub namespace: String,
    /// Where its name came from.
    pub origin: NamespaceOrigin,
}

impl Store {
    /// Makes every later write to `namespace` record `origin` as where its
    /// name came from.
    pub fn record_origin_of(&mut self, namespace: &str, origin: NamespaceOrigin) {
        self.origin = Some(OriginOf {
            namespace: namespace.to_owned(),
            origin,
        });
    }
}

impl Tx<'_> {
    /// Records the origin given to [`Store::record_origin_of`] if `namespace`
    /// is its namespace and the row does not hold it already.
    pub(crate) fn record_origin(&self, namespace: &str) -> Result<()> {
        let Some(OriginOf { origin, .. }) = self.origin().filter(|o| o.namespace == namespace)
        else {
            return Ok(());
        };
        self.prepare_cached(
            "UPDATE namespaces SET origin_source = ?2, origin_detail = ?3
             WHERE name = ?1 AND (origin_source IS NOT ?2 OR origin_detail IS NOT ?3)",
        )?
        .execute(params![namespace, origin.source, origin.detail])?;
        Ok(())
    }
}

/// Reads the origin columns of a `namespaces` row (`origin_source`,
/// `origin_detail` at `first` and `first + 1`).
pub(crate) fn origin_from_row(
    row: &rusqlite::Row<'_>,
    first: usize,
) -> rusqlite::Result<Option<NamespaceOrigin>> {
    let source: Option<String> = row.get(first)?;
    let detail: Option<String> = row.get(first + 1)?;
    Ok(source.map(|source| NamespaceOrigin {
        source,
        detail: detail.unwrap_or_default(),
    }))
}
