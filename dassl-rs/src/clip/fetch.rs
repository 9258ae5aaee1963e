//! `dassl clip fetch`: OpenAI's weights into the cache Python's clip uses, checked
//! against the SHA-256 in their address. The download goes to a temporary file that is
//! renamed only after the checksum matches, so a partial or corrupt file never sits
//! under the final name.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::BackboneEntry;
use crate::errors::FetchError;
use crate::registry::RegistryEntry;

/// Outcome of a fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The cache already held a file with the right checksum.
    AlreadyPresent(PathBuf),
    Downloaded(PathBuf),
}

/// Fetches backbone `name` into `cache`, from `url` when given (a mirror) or OpenAI's address.
pub fn fetch(
    name: &str,
    cache: &Path,
    url: Option<&str>,
    progress: bool,
) -> Result<Fetched, FetchError> {
    let entry = BackboneEntry::get(name)?;
    fetch_to(
        url.unwrap_or(entry.url),
        entry.sha256(),
        &cache.join(entry.file_name()),
        progress,
    )
}

/// Downloads `url` to `dest` unless `dest` already has the expected SHA-256.
pub fn fetch_to(
    url: &str,
    expected_sha256: &str,
    dest: &Path,
    progress: bool,
) -> Result<Fetched, FetchError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| FetchError::Io { path, source }
    };
    if dest.is_file() && sha256_file(dest).map_err(io(dest))? == expected_sha256 {
        return Ok(Fetched::AlreadyPresent(dest.to_path_buf()));
    }
    let dir = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.part-{}", std::process::id()));
    let result = download(url, &tmp, progress).and_then(|actual| {
        if actual == expected_sha256 {
            std::fs::rename(&tmp, dest).map_err(io(dest))
        } else {
            Err(FetchError::Checksum {
                url: url.to_string(),
                expected: expected_sha256.to_string(),
                actual,
            })
        }
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|()| Fetched::Downloaded(dest.to_path_buf()))
}

/// Streams `url` into `path`, returning the hex SHA-256 of what was written.
fn download(url: &str, path: &Path, progress: bool) -> Result<String, FetchError> {
    let http = |reason: String| FetchError::Http {
        url: url.to_string(),
        reason,
    };
    let mut response = ureq::get(url).call().map_err(|e| http(e.to_string()))?;
    let len = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let bar = if progress {
        let bar = indicatif::ProgressBar::new(len.unwrap_or(0));
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        bar.set_message(
            path.file_name()
                .map(|n| n.to_string_lossy().trim_start_matches('.').to_string())
                .unwrap_or_default(),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut reader = response.body_mut().as_reader();
    let mut file = std::fs::File::create(path).map_err(|source| FetchError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf).map_err(|e| http(e.to_string()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(|source| FetchError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        bar.inc(n as u64);
    }
    file.sync_all().map_err(|source| FetchError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    bar.finish_and_clear();
    Ok(hex(&hasher.finalize()))
}

/// Hex SHA-256 of a file.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut f, &mut hasher)?;
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::net::TcpListener;

    /// Serves `body` once per connection on a loopback port, `count` times.
    fn serve(body: Vec<u8>, count: usize) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(count) {
                let mut stream = stream.unwrap();
                let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap() > 2 {
                    line.clear();
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                stream.write_all(head.as_bytes()).unwrap();
                stream.write_all(&body).unwrap();
            }
        });
        format!("http://{addr}/clip/models/x/RN50.pt")
    }

    #[test]
    fn downloads_checks_and_reuses() {
        let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let sha = hex(&Sha256::digest(&body));
        let url = serve(body.clone(), 1);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("cache/RN50.pt");
        assert_eq!(
            fetch_to(&url, &sha, &dest, false).unwrap(),
            Fetched::Downloaded(dest.clone())
        );
        assert_eq!(std::fs::read(&dest).unwrap(), body);
        // Present with the right checksum: no second request (the server is gone).
        assert_eq!(
            fetch_to(&url, &sha, &dest, false).unwrap(),
            Fetched::AlreadyPresent(dest.clone())
        );
    }

    #[test]
    fn a_corrupt_download_never_takes_the_final_name() {
        let url = serve(b"not the model".to_vec(), 1);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("RN50.pt");
        let err = fetch_to(&url, &"0".repeat(64), &dest, false).unwrap_err();
        assert!(matches!(err, FetchError::Checksum { .. }), "{err}");
        assert!(err.to_string().contains("does not match"), "{err}");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "no partial file is left"
        );
    }

    #[test]
    fn unreachable_address_is_an_http_error() {
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/x.pt", listener.local_addr().unwrap());
        drop(listener);
        let err = fetch_to(&url, "00", &dir.path().join("x.pt"), false).unwrap_err();
        assert!(matches!(err, FetchError::Http { .. }), "{err}");
    }

    #[test]
    fn registry_knows_openais_checksums() {
        let e = BackboneEntry::get("ViT-B/16").unwrap();
        assert_eq!(
            e.sha256(),
            "5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f"
        );
        assert_eq!(e.file_name(), "ViT-B-16.pt");
    }
}
