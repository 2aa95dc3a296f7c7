//! A small static file server (std only) for the playground: `/` is `index.html`, and only
//! `index.html`, `pkg/` and `examples/` are served. One thread per connection, GET and HEAD,
//! `Connection: close`, no caching (a rebuilt `pkg/` is picked up on reload).

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

/// Serves `root` on `addr` until the process is killed.
pub fn serve_forever(addr: &str, root: &Path) -> Result<()> {
    let listener = TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr()?;
    eprintln!("xtask serve: the playground is on http://{local}/ (Ctrl-C to stop)");
    accept(listener, root.to_path_buf());
    Ok(())
}

/// Serves `root` on `addr` (port 0: any free port) from a background thread; returns the
/// address. The thread ends with the process.
pub fn spawn(addr: &str, root: &Path) -> Result<SocketAddr> {
    let listener = TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr()?;
    let root = root.to_path_buf();
    std::thread::spawn(move || accept(listener, root));
    Ok(local)
}

fn accept(listener: TcpListener, root: PathBuf) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let root = root.clone();
        std::thread::spawn(move || {
            let _ = handle(stream, &root);
        });
    }
}

fn handle(mut stream: TcpStream, root: &Path) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Skip the headers (bounded).
    for _ in 0..100 {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("/");
    if method != "GET" && method != "HEAD" {
        return respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            b"GET only\n",
            true,
        );
    }
    let Some(path) = resolve(root, target) else {
        return respond(
            &mut stream,
            "404 Not Found",
            "text/plain",
            b"not found\n",
            method == "GET",
        );
    };
    match std::fs::read(&path) {
        Ok(body) => respond(&mut stream, "200 OK", mime(&path), &body, method == "GET"),
        Err(_) => respond(
            &mut stream,
            "404 Not Found",
            "text/plain",
            b"not found\n",
            method == "GET",
        ),
    }
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    mime: &str,
    body: &[u8],
    with_body: bool,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {mime}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if with_body {
        stream.write_all(body)?;
    }
    stream.flush()
}

/// The file for a request target, if it may be served.
fn resolve(root: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let path = percent_decode(path)?;
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "index.html" } else { rel };
    let rel_path = Path::new(rel);
    if !rel_path
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return None;
    }
    let allowed = rel == "index.html" || rel.starts_with("pkg/") || rel.starts_with("examples/");
    if !allowed {
        return None;
    }
    let full = root.join(rel_path);
    if full.is_dir() {
        let index = full.join("index.html");
        return index.is_file().then_some(index);
    }
    full.is_file().then_some(full)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn mime(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "json" => "application/json",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ts" | "yaml" | "yml" | "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_page_pkg_and_examples_are_served() {
        let root = crate::root();
        assert_eq!(
            resolve(&root, "/"),
            root.join("index.html")
                .is_file()
                .then(|| root.join("index.html"))
        );
        assert!(resolve(&root, "/examples/deployment.yaml?x=1").is_some());
        assert_eq!(resolve(&root, "/Cargo.toml"), None);
        assert_eq!(resolve(&root, "/examples/../Cargo.toml"), None);
        assert_eq!(resolve(&root, "/examples/%2e%2e/Cargo.toml"), None);
        assert_eq!(resolve(&root, "/.git/config"), None);
    }

    #[test]
    fn a_request_is_answered() {
        use std::io::Read;
        let addr = spawn("127.0.0.1:0", &crate::root()).expect("bind");
        let mut s = TcpStream::connect(addr).expect("connect");
        s.write_all(b"GET /examples/deployment.yaml HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read");
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
        assert!(out.contains("kind: Deployment"));
        let mut s = TcpStream::connect(addr).expect("connect");
        s.write_all(b"GET /Cargo.lock HTTP/1.1\r\n\r\n")
            .expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read");
        assert!(out.starts_with("HTTP/1.1 404"), "{out}");
    }
}
