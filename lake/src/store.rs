//! An object store wrapper that remembers every object a writer started, so uncommitted files
//! can be removed on abort (including files rolled over and multipart uploads in flight).

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use deltalake::logstore::object_store::path::Path;
use deltalake::logstore::object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt as _, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
    Result,
};
use futures::stream::BoxStream;

/// Delegates to `inner`, recording the location of every put and multipart upload.
#[derive(Debug)]
pub(crate) struct RecordingStore {
    inner: Arc<dyn ObjectStore>,
    written: Mutex<Vec<Path>>,
}

impl RecordingStore {
    pub(crate) fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self {
            inner,
            written: Mutex::new(Vec::new()),
        }
    }

    fn record(&self, location: &Path) {
        let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        if !written.contains(location) {
            written.push(location.clone());
        }
    }

    /// Every location written so far.
    pub(crate) fn written(&self) -> Vec<Path> {
        self.written
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Deletes every recorded location (missing ones are fine: an aborted upload leaves none).
    /// Returns the first error other than "not found", after trying all of them.
    pub(crate) async fn delete_written(&self) -> Result<usize> {
        delete_all(self.inner.as_ref(), &self.written()).await
    }
}

/// Deletes `paths` from `store`, ignoring "not found"; returns how many deletes succeeded
/// (stores that treat deleting a missing object as success count those too).
pub(crate) async fn delete_all(store: &dyn ObjectStore, paths: &[Path]) -> Result<usize> {
    let mut deleted = 0;
    let mut first_err = None;
    for path in paths {
        match store.delete(path).await {
            Ok(()) => deleted += 1,
            Err(deltalake::ObjectStoreError::NotFound { .. }) => {}
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    first_err.map_or(Ok(deleted), Err)
}

impl fmt::Display for RecordingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recording({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for RecordingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.record(location);
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.record(location);
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.record(to);
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.record(to);
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deltalake::logstore::object_store::memory::InMemory;
    use futures::TryStreamExt as _;

    #[tokio::test]
    async fn records_puts_and_deletes_them() {
        let inner: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let store = RecordingStore::new(Arc::clone(&inner));
        let a = Path::from("p=1/a.parquet");
        let b = Path::from("p=2/b.parquet");
        store.put(&a, PutPayload::from_static(b"x")).await.unwrap();
        let mut up = store.put_multipart(&b).await.unwrap();
        up.put_part(PutPayload::from_static(b"y")).await.unwrap();
        up.complete().await.unwrap();
        assert_eq!(store.written(), vec![a.clone(), b.clone()]);

        // Something the writer did not write stays.
        let other = Path::from("keep.parquet");
        inner
            .put(&other, PutPayload::from_static(b"z"))
            .await
            .unwrap();

        assert_eq!(store.delete_written().await.unwrap(), 2);
        let left: Vec<_> = inner
            .list(None)
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(left, vec![other]);
        // A second pass (nothing left) is not an error.
        store.delete_written().await.unwrap();
    }
}
