//! Witnesses (C2SP tlog-witness): submitting a checkpoint with a
//! consistency proof to each configured witness over HTTP and collecting
//! its cosignature (C2SP tlog-cosignature, Ed25519, type 0x04).
//!
//! A witness is named by its verifier key and its submission URL prefix;
//! the store remembers, per origin and witness, the last size the witness
//! cosigned (`witnessed/`), so the next submission proves consistency from
//! there. A witness that remembers another size answers 409 with it; the
//! client proves from that size instead, once.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::error::{Error, Result};
use crate::hash::Hash;
use crate::note::key::VerifierKey;
use crate::note::signed;

/// How long one request to a witness may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Most consistency proof lines a request may carry (tlog-witness).
pub const MAX_PROOF_LINES: usize = 63;

/// A witness: who cosigns (a type 0x04 verifier key) and where to ask.
#[derive(Debug, Clone)]
pub struct Witness {
    pub vkey: VerifierKey,
    /// The submission prefix, without a trailing slash.
    pub url: String,
}

impl Witness {
    /// Parses `"<verifier key> <submission URL prefix>"`.
    pub fn parse(spec: &str) -> Result<Witness> {
        let (vkey, url) = spec.trim().split_once(char::is_whitespace).ok_or_else(|| {
            Error::invalid(format!(
                "a witness is \"<verifier key> <URL>\", not {spec:?}"
            ))
        })?;
        let vkey = VerifierKey::parse(vkey)?;
        if !vkey.is_cosigner() {
            return Err(Error::invalid(format!(
                "witness key {vkey} is not a cosignature key (type 0x04)"
            )));
        }
        let url = url.trim().trim_end_matches('/').to_owned();
        let uri: ureq::http::Uri = url
            .parse()
            .map_err(|e| Error::invalid(format!("witness URL {url:?}: {e}")))?;
        let bad_port = uri
            .authority()
            .and_then(|a| a.as_str().rsplit_once(':'))
            .is_some_and(|(_, port)| !port.ends_with(']') && port.parse::<u16>().is_err());
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() || bad_port {
            return Err(Error::invalid(format!(
                "witness URL {url:?} is not an http:// or https:// URL"
            )));
        }
        Ok(Witness { vkey, url })
    }

    /// Whether the witness runs on this machine: reached directly, never
    /// through a proxy the environment names for the outside world.
    fn is_loopback(&self) -> bool {
        let Ok(uri) = self.url.parse::<ureq::http::Uri>() else {
            return false;
        };
        match uri.host() {
            Some("localhost") => true,
            Some(host) => host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback()),
            None => false,
        }
    }

    fn fail(&self, reason: impl Into<String>) -> Error {
        Error::WitnessFailed {
            witness: format!("{} ({})", self.vkey.name(), self.url),
            reason: reason.into(),
        }
    }
}

/// What one `add-checkpoint` request came to.
#[derive(Debug)]
pub enum Answer {
    /// The witness cosigned: its valid signature lines, each ending in a
    /// newline.
    Cosigned(String),
    /// The witness last cosigned another size for this origin.
    Conflict(u64),
}

/// The request body: the old size, the proof, a blank line, the note.
pub fn request_body(old_size: u64, proof: &[Hash], note: &str) -> String {
    let mut body = format!("old {old_size}\n");
    for hash in proof {
        body.push_str(&BASE64.encode(hash));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(note);
    body
}

/// POSTs one `add-checkpoint` request to `witness`.
pub fn add_checkpoint(
    witness: &Witness,
    old_size: u64,
    proof: &[Hash],
    note: &str,
) -> Result<Answer> {
    if proof.len() > MAX_PROOF_LINES {
        return Err(witness.fail("the consistency proof is longer than 63 lines"));
    }
    let mut config = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false);
    if witness.is_loopback() {
        config = config.proxy(None);
    }
    let agent = config.build().new_agent();
    let url = format!("{}/add-checkpoint", witness.url);
    let mut response = agent
        .post(&url)
        .content_type("text/plain; charset=utf-8")
        .send(request_body(old_size, proof, note))
        .map_err(|e| witness.fail(format!("POST {url}: {e}")))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(64 << 10)
        .read_to_string()
        .map_err(|e| witness.fail(format!("reading the answer of {url}: {e}")))?;
    match status {
        200 => Ok(Answer::Cosigned(cosignatures(witness, note, &body)?)),
        409 => body
            .trim_end_matches('\n')
            .parse()
            .map(Answer::Conflict)
            .map_err(|_| {
                witness.fail(format!(
                    "409 Conflict with a body that is not a size: {body:?}"
                ))
            }),
        _ => Err(witness.fail(format!("HTTP {status}: {}", body.trim()))),
    }
}

/// The lines of `body` that are valid cosignatures of `note` by the
/// witness's key; fails if there is none.
fn cosignatures(witness: &Witness, note: &str, body: &str) -> Result<String> {
    let mut valid = String::new();
    for line in body.split_inclusive('\n') {
        if !line.ends_with('\n') {
            continue;
        }
        let with_line = format!("{note}{line}");
        if signed::open(&with_line, &witness.vkey).is_ok() {
            valid.push_str(line);
        }
    }
    if valid.is_empty() {
        return Err(witness.fail(format!(
            "its answer holds no valid cosignature by {}",
            witness.vkey
        )));
    }
    Ok(valid)
}
