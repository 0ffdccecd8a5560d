//! # stratalog-tier
//!
//! The object stores a stratalog store can tier its sealed segments to,
//! reached through the [`object_store`] crate: `s3://bucket/prefix` (AWS S3
//! and every S3-compatible server), `az://container/prefix` (Azure Blob
//! Storage, and Azurite; `azure.rs`), `file:///path` (a local or network
//! file system) and `memory:///prefix` (in this process only).
//! [`connect`] turns a URL and options into the [`Tier`] the engine
//! (`stratalog-core`) talks to.
//!
//! The engine is synchronous and object_store is async: every call is
//! spawned on a tokio runtime this crate owns, driven by one thread of its
//! own, and the caller waits on a channel. Nothing here ever blocks on a
//! runtime from the caller's thread, so a store works the same from a
//! Python thread, Node's thread pool or inside an embedder's own tokio
//! runtime.

use std::future::Future;
use std::io;
use std::ops::Range;
use std::sync::{Arc, Once};
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ClientConfigKey, ObjectStore, ObjectStoreExt, ObjectStoreScheme, PutMode,
    PutOptions, PutPayload, RetryConfig, UpdateVersion,
};
use stratalog_core::tier::{Object, ObjectInfo, Put, Tier};
use stratalog_core::{Error, Result};

mod azure;
mod local;

/// Options every S3 client here gets unless the caller sets them: bounded
/// waits, so a call on behalf of a read fails in seconds rather than
/// minutes (the uploader retries on its own, with backoff).
const DEFAULT_TIMEOUT: &str = "30s";
const DEFAULT_CONNECT_TIMEOUT: &str = "5s";
/// Requests in flight at once by `put_create_all` and `get_all` (small
/// objects, such as a stream's tiles: each costs a round trip, which too
/// few at a time would bound the transfer; with 20 ms of latency, 32
/// put tiles about 1.7 times as fast as 8 did, against moto_server, whose
/// own CPU then bounds it).
const REQUESTS_AT_ONCE: usize = 32;

/// The retries every cloud client here makes on its own, short: the
/// uploader retries with its own backoff, and a read should fail in
/// seconds.
fn retry() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            base: 2.0,
        },
        max_retries: 3,
        retry_timeout: Duration::from_secs(30),
    }
}

/// Opens the tier at `url` with `options` (object_store's configuration
/// keys for that scheme, e.g. `endpoint`, `region`, `allow_http`,
/// `access_key_id` for S3; `account_name`, `access_key`, `endpoint` for
/// Azure). Credentials and everything else unset come from the
/// environment as the AWS tools read it (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_DEFAULT_REGION`,
/// `AWS_ENDPOINT_URL`, ...), or for Azure as object_store reads the
/// `AZURE_*` variables (`AZURE_STORAGE_ACCOUNT_NAME`,
/// `AZURE_STORAGE_ACCOUNT_KEY`, ...). An unknown key is an error, never
/// ignored.
pub fn connect(url: &str, options: &[(String, String)]) -> Result<Arc<dyn Tier>> {
    let parsed = url::Url::parse(url)
        .map_err(|e| Error::InvalidArgument(format!("tier URL {url:?}: {e}")))?;
    let (scheme, prefix) = ObjectStoreScheme::parse(&parsed)
        .map_err(|e| Error::InvalidArgument(format!("tier URL {url:?}: {e}")))?;
    let (store, swap): (Arc<dyn ObjectStore>, Swap) = match scheme {
        ObjectStoreScheme::AmazonS3 => (Arc::new(s3(url, options)?), Swap::Conditional),
        ObjectStoreScheme::MicrosoftAzure => (Arc::new(azure::azure(url, options)?), Swap::Conditional),
        ObjectStoreScheme::Local => {
            local::refuse_options(url, "file://", options)?;
            let fs = local::file_system();
            (fs.clone(), Swap::UnderDirectoryLock(fs))
        }
        ObjectStoreScheme::Memory => {
            local::refuse_options(url, "memory://", options)?;
            (local::in_memory(), Swap::Conditional)
        }
        other => {
            return Err(Error::InvalidArgument(format!(
                "tier URL {url:?}: {other:?} is not supported by this build; use s3://bucket/prefix (any S3-compatible server, with the endpoint option), az://container/prefix, file:///path or memory:///prefix"
            )))
        }
    };
    let runtime = Runtime::start()?;
    Ok(Arc::new(ObjectStoreTier {
        url: url.trim_end_matches('/').to_owned(),
        store,
        swap,
        prefix,
        runtime,
    }))
}

/// How a compare-and-swap (`PutMode::Update`) is made.
#[derive(Debug)]
enum Swap {
    /// By the store itself: S3's and Azure's conditional writes, InMemory's
    /// etags.
    Conditional,
    /// By this crate, for a file system (see the `local` module).
    UnderDirectoryLock(Arc<object_store::local::LocalFileSystem>),
}

/// `builder` with this crate's timeouts, then the caller's `options`,
/// each key parsed as the client's config key `K`: an unknown key is an
/// error naming it, never ignored.
fn configured<B, K: std::str::FromStr>(
    mut builder: B,
    options: &[(String, String)],
    with_config: impl Fn(B, K, &str) -> B,
    scheme: &str,
    known: &str,
) -> Result<B> {
    let defaults = [
        ("timeout", DEFAULT_TIMEOUT),
        ("connect_timeout", DEFAULT_CONNECT_TIMEOUT),
    ];
    let given = options.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    for (key, value) in defaults.into_iter().chain(given) {
        let parsed: K = key.parse().map_err(|_| {
            Error::InvalidArgument(format!(
                "unknown tier option {key:?} for an {scheme} tier (see object_store's {known})"
            ))
        })?;
        builder = with_config(builder, parsed, value);
    }
    Ok(builder)
}

fn s3(url: &str, options: &[(String, String)]) -> Result<object_store::aws::AmazonS3> {
    install_crypto_provider();
    let builder = AmazonS3Builder::from_env()
        .with_url(url)
        .with_retry(retry());
    let builder = configured(
        builder,
        options,
        |b, key: AmazonS3ConfigKey, value| b.with_config(key, value),
        "s3://",
        "AmazonS3ConfigKey: endpoint, region, allow_http, access_key_id, ...",
    )?;
    refuse_plain_http(
        url,
        builder.get_config_value(&AmazonS3ConfigKey::Endpoint),
        builder.get_config_value(&AmazonS3ConfigKey::Client(ClientConfigKey::AllowHttp)),
    )?;
    builder
        .build()
        .map_err(|e| Error::InvalidArgument(format!("tier {url}: {e}")))
}

/// An `http://` endpoint without `allow_http` would fail every request
/// with the HTTP client's bare "builder error": refused here, saying why.
fn refuse_plain_http(
    url: &str,
    endpoint: Option<String>,
    allow_http: Option<String>,
) -> Result<()> {
    let plain = endpoint.as_deref().is_some_and(|e| {
        e.get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
    });
    if plain && !allow_http.as_deref().is_some_and(is_true) {
        return Err(Error::InvalidArgument(format!(
            "tier {url}: endpoint {:?} is plain HTTP; set the option allow_http=true to allow it",
            endpoint.unwrap_or_default()
        )));
    }
    Ok(())
}

/// A boolean option's value as object_store reads it.
fn is_true(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "1" | "true" | "on" | "yes" | "y"
    )
}

/// reqwest is built without a crypto provider of its own (so the wheels
/// build with zig, which aws-lc cannot), and takes rustls's process-wide
/// default; install ring's once, unless the embedder installed one.
fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A current-thread tokio runtime driven by a thread of its own.
#[derive(Debug)]
struct Runtime {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// The process that started it: a child made by `fork()` has no such
    /// thread, and must not wait for one.
    pid: u32,
}

impl Runtime {
    fn start() -> Result<Runtime> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Io {
                context: "starting the tier's runtime".into(),
                source: e,
            })?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("stratalog-tier-io".into())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })
            .map_err(|e| Error::Io {
                context: "starting the tier's runtime thread".into(),
                source: e,
            })?;
        Ok(Runtime {
            handle,
            stop: Some(stop),
            pid: std::process::id(),
        })
    }

    /// Runs `fut` on the runtime and waits for it.
    fn call<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> io::Result<T> {
        if std::process::id() != self.pid {
            return Err(io::Error::other(
                "this tier was opened by the parent of this forked process; open the store again here",
            ));
        }
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv()
            .map_err(|_| io::Error::other("the tier's runtime has stopped"))
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[derive(Debug)]
struct ObjectStoreTier {
    url: String,
    store: Arc<dyn ObjectStore>,
    swap: Swap,
    prefix: ObjectPath,
    runtime: Runtime,
}

impl ObjectStoreTier {
    /// One listing of `dir` with `/` as the delimiter: the objects
    /// directly under it and its sub-directories.
    fn list_under(&self, dir: &str) -> io::Result<object_store::ListResult> {
        let store = self.store.clone();
        let path = self.path(dir);
        self.runtime
            .call(async move { store.list_with_delimiter(Some(&path)).await })?
            .map_err(to_io)
    }

    fn path(&self, key: &str) -> ObjectPath {
        key.split('/')
            .filter(|p| !p.is_empty())
            .fold(self.prefix.clone(), |path, part| path.join(part))
    }

    fn put_with(&self, key: &str, bytes: Vec<u8>, mode: PutMode) -> io::Result<Put> {
        let store = self.store.clone();
        let path = self.path(key);
        let outcome = self.runtime.call(async move {
            store
                .put_opts(&path, PutPayload::from(bytes), PutOptions::from(mode))
                .await
        })?;
        put_outcome(outcome)
    }

    /// `request` of each item, `REQUESTS_AT_ONCE` in flight, each outcome
    /// `settle`d in its item's place; a runtime that cannot run them fails
    /// every one.
    fn each_at_once<I, T, R, Fut>(
        &self,
        items: Vec<I>,
        request: impl Fn(Arc<dyn ObjectStore>, I) -> Fut + Send + 'static,
        settle: impl Fn(T) -> io::Result<R>,
    ) -> Vec<io::Result<R>>
    where
        I: Send + 'static,
        T: Send + 'static,
        Fut: Future<Output = T> + Send + 'static,
    {
        use futures::StreamExt;
        let count = items.len();
        let store = self.store.clone();
        let outcomes = self.runtime.call(async move {
            futures::stream::iter(items)
                .map(move |item| request(store.clone(), item))
                .buffered(REQUESTS_AT_ONCE)
                .collect::<Vec<_>>()
                .await
        });
        match outcomes {
            Ok(outcomes) => outcomes.into_iter().map(settle).collect(),
            Err(e) => (0..count)
                .map(|_| Err(io::Error::new(e.kind(), e.to_string())))
                .collect(),
        }
    }
}

fn put_outcome(outcome: object_store::Result<object_store::PutResult>) -> io::Result<Put> {
    match outcome {
        Ok(done) => Ok(Put::Done(done.e_tag)),
        Err(object_store::Error::AlreadyExists { .. })
        | Err(object_store::Error::Precondition { .. }) => Ok(Put::Conflict),
        Err(e) => Err(to_io(e)),
    }
}

fn to_io(e: object_store::Error) -> io::Error {
    match e {
        object_store::Error::NotFound { .. } => {
            io::Error::new(io::ErrorKind::NotFound, e.to_string())
        }
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => {
            io::Error::new(io::ErrorKind::PermissionDenied, e.to_string())
        }
        other => io::Error::other(other.to_string()),
    }
}

/// An object read whole, with its version tag.
async fn fetch_whole(
    store: &Arc<dyn ObjectStore>,
    path: &ObjectPath,
) -> object_store::Result<(bytes::Bytes, Option<String>)> {
    let got = store.get(path).await?;
    let etag = got.meta.e_tag.clone();
    Ok((got.bytes().await?, etag))
}

fn to_object(
    got: object_store::Result<(bytes::Bytes, Option<String>)>,
) -> io::Result<Option<Object>> {
    Ok(missing_is_none(got)?.map(|(bytes, etag)| Object {
        bytes: bytes.to_vec(),
        etag,
    }))
}

fn missing_is_none<T>(r: object_store::Result<T>) -> io::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(to_io(e)),
    }
}

/// The last component of each path, sorted.
fn sorted_names<'a>(paths: impl Iterator<Item = &'a ObjectPath>) -> Vec<String> {
    let mut names: Vec<String> = paths
        .filter_map(|p| p.filename().map(str::to_owned))
        .collect();
    names.sort();
    names
}

impl Tier for ObjectStoreTier {
    fn url(&self) -> &str {
        &self.url
    }

    fn get(&self, key: &str) -> io::Result<Option<Object>> {
        let store = self.store.clone();
        let path = self.path(key);
        let got = self
            .runtime
            .call(async move { fetch_whole(&store, &path).await })?;
        to_object(got)
    }

    fn get_all(&self, keys: Vec<String>) -> Vec<io::Result<Option<Object>>> {
        let paths: Vec<ObjectPath> = keys.iter().map(|key| self.path(key)).collect();
        self.each_at_once(
            paths,
            |store, path| async move { fetch_whole(&store, &path).await },
            to_object,
        )
    }

    fn get_range(&self, key: &str, range: Range<u64>) -> io::Result<Vec<u8>> {
        if range.is_empty() {
            return Ok(Vec::new());
        }
        let store = self.store.clone();
        let path = self.path(key);
        let wanted = range.end - range.start;
        let bytes = self
            .runtime
            .call(async move { store.get_range(&path, range).await })?
            .map_err(to_io)?;
        if (bytes.len() as u64) < wanted {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{}/{key} is shorter than the range asked for", self.url),
            ));
        }
        Ok(bytes.to_vec())
    }

    fn head(&self, key: &str) -> io::Result<Option<ObjectInfo>> {
        let store = self.store.clone();
        let path = self.path(key);
        let meta = self.runtime.call(async move { store.head(&path).await })?;
        Ok(missing_is_none(meta)?.map(|m| ObjectInfo {
            size: m.size,
            etag: m.e_tag,
            modified_unix_ms: u64::try_from(m.last_modified.timestamp_millis()).unwrap_or(0),
        }))
    }

    fn put_create(&self, key: &str, bytes: Vec<u8>) -> io::Result<Put> {
        self.put_with(key, bytes, PutMode::Create)
    }

    fn put_create_all(&self, objects: Vec<(String, Vec<u8>)>) -> Vec<io::Result<Put>> {
        let puts: Vec<(ObjectPath, Vec<u8>)> = objects
            .into_iter()
            .map(|(key, bytes)| (self.path(&key), bytes))
            .collect();
        self.each_at_once(
            puts,
            |store, (path, bytes)| async move {
                let create = PutOptions::from(PutMode::Create);
                store.put_opts(&path, PutPayload::from(bytes), create).await
            },
            put_outcome,
        )
    }

    fn put_update(&self, key: &str, bytes: Vec<u8>, etag: &str) -> io::Result<Put> {
        match &self.swap {
            Swap::Conditional => self.put_with(
                key,
                bytes,
                PutMode::Update(UpdateVersion {
                    e_tag: Some(etag.to_owned()),
                    version: None,
                }),
            ),
            Swap::UnderDirectoryLock(fs) => {
                let Some(_locked) = local::lock_directory_of(fs, &self.path(key))? else {
                    return Ok(Put::Conflict);
                };
                match self.head(key)? {
                    Some(current) if current.etag.as_deref() == Some(etag) => {
                        self.put_with(key, bytes, PutMode::Overwrite)
                    }
                    _ => Ok(Put::Conflict),
                }
            }
        }
    }

    fn put_update_all(&self, objects: Vec<(String, Vec<u8>, String)>) -> Vec<io::Result<Put>> {
        if let Swap::UnderDirectoryLock(_) = &self.swap {
            return objects
                .into_iter()
                .map(|(key, bytes, etag)| self.put_update(&key, bytes, &etag))
                .collect();
        }
        let puts: Vec<(ObjectPath, Vec<u8>, String)> = objects
            .into_iter()
            .map(|(key, bytes, etag)| (self.path(&key), bytes, etag))
            .collect();
        self.each_at_once(
            puts,
            |store, (path, bytes, etag)| async move {
                let update = PutOptions::from(PutMode::Update(UpdateVersion {
                    e_tag: Some(etag),
                    version: None,
                }));
                store.put_opts(&path, PutPayload::from(bytes), update).await
            },
            put_outcome,
        )
    }

    fn put(&self, key: &str, bytes: Vec<u8>) -> io::Result<()> {
        match self.put_with(key, bytes, PutMode::Overwrite)? {
            Put::Done(_) => Ok(()),
            Put::Conflict => Err(io::Error::other(format!(
                "{}/{key}: unexpected conflict",
                self.url
            ))),
        }
    }

    fn list_dirs(&self, dir: &str) -> io::Result<Vec<String>> {
        let listed = self.list_under(dir)?;
        Ok(sorted_names(listed.common_prefixes.iter()))
    }

    fn list_objects(&self, dir: &str) -> io::Result<Vec<String>> {
        let listed = self.list_under(dir)?;
        Ok(sorted_names(listed.objects.iter().map(|o| &o.location)))
    }

    fn delete(&self, key: &str) -> io::Result<()> {
        let store = self.store.clone();
        let path = self.path(key);
        match self
            .runtime
            .call(async move { store.delete(&path).await })?
        {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(to_io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_schemes_and_options_are_refused() {
        for url in ["gs://b/p", "ftp://x/y", "not a url", "file://host/p"] {
            assert!(
                matches!(connect(url, &[]), Err(Error::InvalidArgument(_))),
                "{url}"
            );
        }
        let bad = connect(
            "s3://bucket/prefix",
            &[("endpiont".into(), "http://x".into())],
        );
        match bad {
            Err(Error::InvalidArgument(msg)) => assert!(msg.contains("endpiont"), "{msg}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_plain_http_endpoint_needs_allow_http() {
        let pairs = |allow: Option<&str>| {
            let mut p = vec![
                ("endpoint".to_owned(), "http://127.0.0.1:9".to_owned()),
                ("region".to_owned(), "us-east-1".to_owned()),
            ];
            if let Some(a) = allow {
                p.push(("allow_http".to_owned(), a.to_owned()));
            }
            p
        };
        for allow in [None, Some("false")] {
            match connect("s3://bucket/prefix", &pairs(allow)) {
                Err(Error::InvalidArgument(msg)) => {
                    assert!(msg.contains("allow_http=true"), "{msg}")
                }
                other => panic!("{allow:?}: {other:?}"),
            }
        }
        connect("s3://bucket/prefix", &pairs(Some("true"))).unwrap();
        let azure = [
            ("account_name".to_owned(), "devstoreaccount1".to_owned()),
            ("access_key".to_owned(), "a2V5".to_owned()),
            (
                "endpoint".to_owned(),
                "http://127.0.0.1:9/devstoreaccount1".to_owned(),
            ),
        ];
        match connect("az://container/prefix", &azure) {
            Err(Error::InvalidArgument(msg)) => assert!(msg.contains("allow_http=true"), "{msg}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keys_nest_under_the_prefix() {
        let tier = connect(
            "s3://bucket/some/prefix/",
            &[
                ("endpoint".into(), "http://127.0.0.1:9".into()),
                ("allow_http".into(), "true".into()),
                ("region".into(), "us-east-1".into()),
            ],
        )
        .expect("builds without touching the network");
        assert_eq!(tier.url(), "s3://bucket/some/prefix");
    }
}
