//! Azure Blob Storage tiers: `az://container/prefix` and the other URL
//! forms of a container that object_store's [`MicrosoftAzureBuilder`]
//! reads (`azure://`, `abfs[s]://`, `https://<account>.blob.core.windows.net/...`).
//!
//! The guarantees are the S3 tier's, enforced by the service: a write-once
//! put is a Put Blob with `If-None-Match: *` (409 or 412 when the blob
//! exists, which object_store reports as `AlreadyExists`), and the
//! compare-and-swap of manifests and lease a Put Blob with `If-Match:
//! <etag>` (412, `Precondition`). Both are honoured by Azure Storage and
//! by Azurite, the emulator the Python tests run against.

use object_store::azure::{AzureConfigKey, MicrosoftAzure, MicrosoftAzureBuilder};
use object_store::ClientConfigKey;
use stratalog_core::{Error, Result};

use super::{configured, install_crypto_provider, is_true, refuse_plain_http, retry};

/// Builds the client for the Azure tier at `url`, with `options`
/// (object_store's [`AzureConfigKey`] names, e.g. `account_name`,
/// `access_key`, `endpoint`, `allow_http`, `use_emulator`). Everything
/// unset comes from the `AZURE_*` environment variables object_store
/// reads (`AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY`,
/// `AZURE_STORAGE_SAS_TOKEN`, `AZURE_CLIENT_ID`, ...). An unknown key is an
/// error, never ignored.
pub(crate) fn azure(url: &str, options: &[(String, String)]) -> Result<MicrosoftAzure> {
    refuse_unsupported_forms(url)?;
    install_crypto_provider();
    let builder = MicrosoftAzureBuilder::from_env()
        .with_url(url)
        .with_retry(retry());
    let builder = configured(
        builder,
        options,
        |b, key: AzureConfigKey, value| b.with_config(key, value),
        "az://",
        "AzureConfigKey: account_name, access_key, endpoint, allow_http, use_emulator, ...",
    )?;
    // With use_emulator, object_store takes the emulator's address from
    // AZURITE_BLOB_STORAGE_URL (default http://127.0.0.1:10000) and drops
    // an endpoint without a word: the tier would talk to another server
    // than the one named.
    let emulator = builder
        .get_config_value(&AzureConfigKey::UseEmulator)
        .is_some_and(|v| is_true(&v));
    if emulator {
        if let Some(endpoint) = builder.get_config_value(&AzureConfigKey::Endpoint) {
            return Err(Error::InvalidArgument(format!(
                "tier {url}: use_emulator ignores endpoint {endpoint:?} (object_store reads the emulator's address from AZURITE_BLOB_STORAGE_URL); \
                 for an emulator elsewhere set endpoint=http://HOST:PORT/devstoreaccount1, account_name, access_key and allow_http=true instead"
            )));
        }
    } else {
        refuse_plain_http(
            url,
            builder.get_config_value(&AzureConfigKey::Endpoint),
            builder.get_config_value(&AzureConfigKey::Client(ClientConfigKey::AllowHttp)),
        )?;
    }
    builder
        .build()
        .map_err(|e| Error::InvalidArgument(format!("tier {url}: {e}")))
}

/// URLs object_store maps to Azure that are not a blob container this
/// tier is known to work on: `adl://` is the scheme of Data Lake Storage
/// Gen1 (retired; object_store reads it as a container name), and
/// Microsoft Fabric's OneLake (`*.fabric.microsoft.com`) is a service of
/// its own whose conditional writes are untested.
fn refuse_unsupported_forms(url: &str) -> Result<()> {
    let parsed = url::Url::parse(url)
        .map_err(|e| Error::InvalidArgument(format!("tier URL {url:?}: {e}")))?;
    if parsed.scheme() == "adl" {
        return Err(Error::InvalidArgument(format!(
            "tier URL {url:?}: adl:// is Azure Data Lake Storage Gen1's scheme; name a blob container as az://container/prefix"
        )));
    }
    if parsed
        .host_str()
        .is_some_and(|h| h.ends_with(".fabric.microsoft.com"))
    {
        return Err(Error::InvalidArgument(format!(
            "tier URL {url:?}: Microsoft Fabric (OneLake) is not supported as a tier; use a storage account's blob container, az://container/prefix"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::Arc;

    use stratalog_core::tier::{Put, Tier};

    use super::*;
    use crate::connect;

    /// Azurite's well-known development account key (public).
    const DEV_KEY: &str =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn account(endpoint: &str) -> Vec<(String, String)> {
        opts(&[
            ("account_name", "devstoreaccount1"),
            ("access_key", DEV_KEY),
            ("endpoint", endpoint),
            ("allow_http", "true"),
        ])
    }

    fn refused(url: &str, options: &[(String, String)]) -> String {
        match connect(url, options) {
            Err(Error::InvalidArgument(msg)) => msg,
            Err(other) => panic!("{url}: {other:?}"),
            Ok(tier) => panic!("{url}: accepted as {}", tier.url()),
        }
    }

    #[test]
    fn azure_urls_and_options_parse_and_unknown_keys_are_refused() {
        let endpoint = "http://127.0.0.1:9/devstoreaccount1";
        for (url, container) in [
            ("az://logs/some/prefix/", "logs"),
            ("azure://logs/some/prefix", "logs"),
            ("abfs://logs/p", "logs"),
            (
                "abfss://logs@devstoreaccount1.dfs.core.windows.net/p",
                "logs",
            ),
            (
                "https://devstoreaccount1.blob.core.windows.net/logs/p",
                "logs",
            ),
        ] {
            let store = azure(url, &account(endpoint)).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(
                store.to_string(),
                format!("MicrosoftAzure {{ account: devstoreaccount1, container: {container} }}"),
                "{url}"
            );
            let tier = connect(url, &account(endpoint)).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(tier.url(), url.trim_end_matches('/'));
        }
        // Every key spelling object_store documents, prefixed or not.
        azure(
            "az://logs/p",
            &opts(&[
                ("azure_storage_account_name", "devstoreaccount1"),
                ("azure_storage_account_key", DEV_KEY),
                ("azure_storage_endpoint", endpoint),
                ("azure_allow_http", "true"),
                ("timeout", "5s"),
            ]),
        )
        .expect("prefixed keys");

        let mut typo = account(endpoint);
        typo.push(("acount_name".into(), "x".into()));
        let msg = refused("az://logs/p", &typo);
        assert!(
            msg.contains("acount_name") && msg.contains("az://"),
            "{msg}"
        );
        // An S3 key is no Azure key.
        let mut s3_key = account(endpoint);
        s3_key.push(("region".into(), "us-east-1".into()));
        assert!(refused("az://logs/p", &s3_key).contains("region"));
        // A value object_store cannot parse.
        let mut bad_bool = account(endpoint);
        bad_bool.push(("allow_http".into(), "maybe".into()));
        refused("az://logs/p", &bad_bool);

        assert!(refused("adl://logs/p", &account(endpoint)).contains("Gen1"));
        assert!(refused(
            "abfss://ws@onelake.dfs.fabric.microsoft.com/p",
            &account(endpoint)
        )
        .contains("Fabric"));
        // No container: object_store says so.
        refused(
            "https://devstoreaccount1.blob.core.windows.net",
            &account(endpoint),
        );
        // use_emulator would drop the endpoint: refused, not ignored.
        let mut both = account(endpoint);
        both.push(("use_emulator".into(), "true".into()));
        let msg = refused("az://logs/p", &both);
        assert!(
            msg.contains("use_emulator") && msg.contains("AZURITE_BLOB_STORAGE_URL"),
            "{msg}"
        );
        azure(
            "az://logs/p",
            &opts(&[("use_emulator", "true"), ("allow_http", "true")]),
        )
        .expect("use_emulator alone is the emulator's default address");
    }

    /// One request as a test server saw it.
    #[derive(Debug)]
    struct Seen {
        line: String,
        headers: Vec<(String, String)>,
    }

    impl Seen {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }

    /// Answers each connection's first request with the next of
    /// `statuses` (no body) and hands back what it was asked.
    fn serve(statuses: Vec<u16>) -> (String, std::thread::JoinHandle<Vec<Seen>>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for status in statuses {
                let (stream, _) = listener.accept().expect("accept");
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                reader.read_line(&mut line).expect("request line");
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).expect("header");
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        headers.push((k.trim().to_owned(), v.trim().to_owned()));
                    }
                }
                let seen_now = Seen {
                    line: line.trim_end().to_owned(),
                    headers,
                };
                let length: usize = seen_now
                    .header("content-length")
                    .map_or(0, |v| v.parse().expect("content-length"));
                let mut body = vec![0; length];
                reader.read_exact(&mut body).expect("body");
                let mut stream = reader.into_inner();
                let etag = if status < 300 {
                    "ETag: \"0x8DD0000000000001\"\r\nLast-Modified: Thu, 01 Jan 2026 00:00:00 GMT\r\n"
                } else {
                    ""
                };
                write!(
                    stream,
                    "HTTP/1.1 {status} X\r\n{etag}Content-Length: 0\r\nConnection: close\r\n\r\n"
                )
                .expect("answer");
                seen.push(seen_now);
            }
            seen
        });
        (format!("http://127.0.0.1:{port}/devstoreaccount1"), handle)
    }

    #[test]
    fn azure_requests_name_the_container_and_prefix_and_carry_the_put_conditions() {
        // 201 created, 409 exists (Azurite and Azure for If-None-Match),
        // 412 stale etag, 404 missing.
        let (endpoint, server) = serve(vec![201, 409, 412, 412, 404]);
        let tier: Arc<dyn Tier> =
            connect("az://logs/some/prefix/", &account(&endpoint)).expect("connects");
        assert!(matches!(
            tier.put_create("streams/7/MANIFEST", b"m".to_vec()),
            Ok(Put::Done(Some(_)))
        ));
        assert!(matches!(
            tier.put_create("streams/7/MANIFEST", b"m".to_vec()),
            Ok(Put::Conflict)
        ));
        assert!(matches!(
            tier.put_update("streams/7/MANIFEST", b"m".to_vec(), "\"0x1\""),
            Ok(Put::Conflict)
        ));
        // Only Create's conflicts may be AlreadyExists: a 412 on Create is too.
        assert!(matches!(
            tier.put_create("WRITER", b"w".to_vec()),
            Ok(Put::Conflict)
        ));
        assert!(matches!(tier.head("WRITER"), Ok(None)));
        drop(tier);
        let seen = server.join().expect("server thread");
        let path = "/devstoreaccount1/logs/some/prefix/streams/7/MANIFEST";
        assert_eq!(seen[0].line, format!("PUT {path} HTTP/1.1"));
        assert_eq!(seen[0].header("if-none-match"), Some("*"));
        assert_eq!(seen[0].header("if-match"), None);
        assert_eq!(seen[0].header("x-ms-blob-type"), Some("BlockBlob"));
        assert!(
            seen[0]
                .header("authorization")
                .is_some_and(|a| a.starts_with("SharedKey devstoreaccount1:")),
            "{seen:?}"
        );
        assert_eq!(seen[2].header("if-match"), Some("\"0x1\""));
        assert_eq!(seen[2].header("if-none-match"), None);
        assert_eq!(
            seen[3].line,
            "PUT /devstoreaccount1/logs/some/prefix/WRITER HTTP/1.1"
        );
        assert_eq!(
            seen[4].line,
            "HEAD /devstoreaccount1/logs/some/prefix/WRITER HTTP/1.1"
        );
    }
}
