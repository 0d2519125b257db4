//! Parts on object storage: `-o s3://bucket/prefix/` for a share, `check s3://bucket/prefix/`
//! for the parts (also `gs://` and `az://`), through the `object_store` crate.
//!
//! A worker writes its part to a local temporary directory as it would to a directory of
//! parts, then uploads the Parquet file (in parts of 16 MiB) and, once that object is complete,
//! the manifest: an object store shows an object only when its upload is complete, so a worker
//! that is killed leaves the previous part (or none), as the rename does on a file system.
//! `check` downloads the manifests and parts into a temporary directory and checks them there.
//!
//! Credentials and endpoints come from the usual environment variables of each store, as
//! `object_store`'s builders read them: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_REGION`, `AWS_ENDPOINT_URL` (an S3-compatible server), `AWS_ALLOW_HTTP`;
//! `GOOGLE_APPLICATION_CREDENTIALS` / `GOOGLE_SERVICE_ACCOUNT`; `AZURE_STORAGE_ACCOUNT_NAME`,
//! `AZURE_STORAGE_ACCOUNT_KEY` and the other `AZURE_*` variables.

use std::io::{Read as _, Write as _};
use std::path::Path;

use anyhow::{Context as _, bail};
use futures::StreamExt as _;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload, WriteMultipart};

/// The URL schemes of object stores.
const SCHEMES: [&str; 6] = ["s3://", "s3a://", "gs://", "az://", "abfs://", "abfss://"];

/// The size of an upload's parts (S3 needs at least 5 MiB for all but the last).
const CHUNK: usize = 16 << 20;

/// Whether `location` is an object store URL rather than a local path.
pub(crate) fn is_remote(location: &str) -> bool {
    SCHEMES.iter().any(|s| {
        location
            .get(..s.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(s))
    })
}

/// A local temporary directory (in `TMPDIR`) for `what` on its way to or from a store.
pub(crate) fn staging(what: &str) -> anyhow::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("truthound-staging-")
        .tempdir()
        .with_context(|| format!("cannot make a temporary directory for {what}"))
}

/// A prefix in an object store.
pub(crate) struct Remote {
    store: Box<dyn ObjectStore>,
    prefix: String,
    url: String,
}

impl Remote {
    /// The store and prefix of `url`, configured from the environment.
    pub(crate) fn open(url: &str) -> anyhow::Result<Self> {
        if !is_remote(url) {
            bail!("{url} is not an object store URL (s3://, gs://, az://)");
        }
        let scheme_end = url.find("://").map_or(0, |i| i + 3);
        let scheme = url[..scheme_end].to_ascii_lowercase();
        let rest = &url[scheme_end..];
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        if host.is_empty() {
            bail!("{url} names no bucket: {scheme}BUCKET/PREFIX/");
        }
        let bucket_url = format!("{scheme}{host}");
        let store: Box<dyn ObjectStore> = match scheme.as_str() {
            "s3://" | "s3a://" => Box::new(
                object_store::aws::AmazonS3Builder::from_env()
                    .with_url(bucket_url)
                    .build()
                    .with_context(|| format!("cannot use {url}"))?,
            ),
            "gs://" => Box::new(
                object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_url(bucket_url)
                    .build()
                    .with_context(|| format!("cannot use {url}"))?,
            ),
            _ => Box::new(
                object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_url(bucket_url)
                    .build()
                    .with_context(|| format!("cannot use {url}"))?,
            ),
        };
        let prefix = path.trim_matches('/').to_owned();
        Ok(Self {
            store,
            prefix,
            url: url.trim_end_matches('/').to_owned(),
        })
    }

    fn object(&self, name: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(name)
        } else {
            ObjectPath::from(format!("{}/{name}", self.prefix))
        }
    }

    /// `url/name`, for messages.
    pub(crate) fn url_of(&self, name: &str) -> String {
        format!("{}/{name}", self.url)
    }

    /// Uploads the local file `file` as `name` under the prefix, in parts of [`CHUNK`] bytes;
    /// the object appears when the upload completes, and an upload that fails is aborted.
    pub(crate) async fn upload(&self, file: &Path, name: &str) -> anyhow::Result<()> {
        let target = self.url_of(name);
        let mut local =
            std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
        let upload = self
            .store
            .put_multipart(&self.object(name))
            .await
            .with_context(|| format!("cannot upload {target}"))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, CHUNK);
        let mut buf = vec![0_u8; 1 << 20];
        let written: anyhow::Result<()> = async {
            loop {
                let n = local
                    .read(&mut buf)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                if n == 0 {
                    return Ok(());
                }
                // At most two parts in flight: memory stays at a few parts whatever the size.
                writer
                    .wait_for_capacity(2)
                    .await
                    .with_context(|| format!("cannot upload {target}"))?;
                writer.write(&buf[..n]);
            }
        }
        .await;
        if let Err(e) = written {
            // The parts already sent are dropped; the error that stopped the upload is the one
            // to report.
            let _ = writer.abort().await;
            return Err(e);
        }
        writer
            .finish()
            .await
            .with_context(|| format!("cannot upload {target}"))?;
        Ok(())
    }

    /// Writes the object `name` with `bytes`.
    pub(crate) async fn put(&self, name: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.store
            .put(&self.object(name), PutPayload::from(bytes))
            .await
            .with_context(|| format!("cannot upload {}", self.url_of(name)))?;
        Ok(())
    }

    /// Downloads the objects directly under the prefix whose names look like parts or
    /// manifests (`part-…`) into `dir`, streaming each to its file. Returns how many there were.
    pub(crate) async fn download_parts(&self, dir: &Path) -> anyhow::Result<usize> {
        let prefix = (!self.prefix.is_empty()).then(|| ObjectPath::from(self.prefix.as_str()));
        let listing = self
            .store
            .list_with_delimiter(prefix.as_ref())
            .await
            .with_context(|| format!("cannot list {}/", self.url))?;
        let mut count = 0;
        for meta in listing.objects {
            let Some(name) = meta.location.filename().map(str::to_owned) else {
                continue;
            };
            if !name.starts_with("part-")
                || !(name.ends_with(".json") || name.ends_with(".parquet"))
            {
                continue;
            }
            let source = self.url_of(&name);
            let mut stream = self
                .store
                .get(&meta.location)
                .await
                .with_context(|| format!("cannot download {source}"))?
                .into_stream();
            let path = dir.join(&name);
            let mut file = std::fs::File::create(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.with_context(|| format!("cannot download {source}"))?;
                file.write_all(&chunk)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            count += 1;
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_store_urls_are_told_from_paths() {
        for url in [
            "s3://b/p/",
            "S3://b",
            "gs://b/x",
            "az://c/p",
            "abfss://c@a.dfs/p",
        ] {
            assert!(is_remote(url), "{url}");
        }
        for path in ["parts/", "/tmp/s3://x", "kafka://h/t", "s3:/b", ""] {
            assert!(!is_remote(path), "{path}");
        }
    }

    #[test]
    fn a_url_without_a_bucket_is_refused() {
        let err = Remote::open("s3:///prefix/").err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("names no bucket")),
            "{err:?}"
        );
    }
}
