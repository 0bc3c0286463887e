//! The object store Parquet files and the catalog live in, plus durability for local disks.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::error::{Error, Result};

/// An object store and, when it is a local directory, that directory.
#[derive(Debug, Clone)]
pub struct DataStore {
    inner: Arc<dyn ObjectStore>,
    local_root: Option<PathBuf>,
}

impl DataStore {
    /// A store rooted at a local directory (created if missing).
    pub fn local(root: PathBuf) -> Result<Self> {
        std::fs::create_dir_all(&root).map_err(Error::io(&root))?;
        let root = root.canonicalize().map_err(Error::io(&root))?;
        let fs = LocalFileSystem::new_with_prefix(&root).map_err(Error::store(root.display()))?;
        Ok(Self {
            inner: Arc::new(fs),
            local_root: Some(root),
        })
    }

    /// The underlying object store (DataFusion registers it to read files).
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        Arc::clone(&self.inner)
    }

    /// Writes an object and, on local disk, fsyncs it and its directory before returning.
    pub async fn put_durable(&self, path: &Path, bytes: Bytes) -> Result<()> {
        self.inner
            .put(path, PutPayload::from_bytes(bytes))
            .await
            .map_err(Error::store(path))?;
        if let Some(root) = &self.local_root {
            let file = root.join(path.as_ref());
            tokio::task::spawn_blocking(move || -> Result<()> {
                std::fs::File::open(&file)
                    .and_then(|f| f.sync_all())
                    .map_err(Error::io(&file))?;
                if let Some(dir) = file.parent() {
                    crate::wal::sync_dir(dir)?;
                }
                Ok(())
            })
            .await
            .map_err(|e| Error::Task(e.to_string()))??;
        }
        Ok(())
    }

    /// Reads a whole object; `None` if it does not exist.
    pub async fn get_opt(&self, path: &Path) -> Result<Option<Bytes>> {
        match self.inner.get(path).await {
            Ok(r) => Ok(Some(r.bytes().await.map_err(Error::store(path))?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Error::store(path)(e)),
        }
    }

    /// Deletes an object; a missing object is not an error.
    pub async fn delete(&self, path: &Path) -> Result<()> {
        match self.inner.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(Error::store(path)(e)),
        }
    }

    /// Every object key under `prefix`.
    pub async fn list(&self, prefix: &Path) -> Result<Vec<Path>> {
        use futures::TryStreamExt;
        self.inner
            .list(Some(prefix))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .map_err(Error::store(prefix))
    }
}
