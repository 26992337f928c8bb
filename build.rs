//! Builds the web console and widget (web/, with npm) and embeds web/dist in the binary, so
//! the server is one file. Set SWITCHBOARD_SKIP_WEB_BUILD=1 to embed web/dist as it is
//! (e.g. while working on the web code with Vite's dev server).

// A build script reports failure by panicking, with the message cargo shows.
#![allow(clippy::expect_used)]
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let web = root.join("web");
    for p in [
        "console",
        "widget",
        "shared",
        "package.json",
        "package-lock.json",
        "vite.console.config.ts",
        "vite.widget.config.ts",
        "tsconfig.json",
        "scripts",
    ] {
        println!("cargo:rerun-if-changed=web/{p}");
    }
    println!("cargo:rerun-if-env-changed=SWITCHBOARD_SKIP_WEB_BUILD");

    if std::env::var_os("SWITCHBOARD_SKIP_WEB_BUILD").is_none() {
        build_web(&web);
    }
    let dist = web.join("dist");
    let mut files = Vec::new();
    if dist.is_dir() {
        collect(&dist, &dist, &mut files);
    } else {
        println!("cargo:warning=web/dist is missing: the console and widget are not embedded");
    }
    files.sort();
    let mut out = String::from("pub static ASSETS: &[Asset] = &[\n");
    for (url, path) in files {
        let _ = writeln!(
            out,
            "    Asset {{ path: {url:?}, mime: {:?}, body: include_bytes!({:?}) }},",
            mime(&path),
            path.display().to_string()
        );
    }
    out.push_str("];\n");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out_dir.join("assets.rs"), out).expect("write assets.rs");
}

/// A pulled change to web/package-lock.json (a new dependency) reinstalls: npm records the
/// installed tree in node_modules/.package-lock.json, which is then older than the lockfile.
fn lockfile_changed(web: &Path) -> bool {
    let modified = |p: PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (
        modified(web.join("package-lock.json")),
        modified(web.join("node_modules/.package-lock.json")),
    ) {
        (Some(lock), Some(installed)) => lock > installed,
        (Some(_), None) => true,
        _ => false,
    }
}

fn build_web(web: &Path) {
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    if !web.join("node_modules").is_dir() || lockfile_changed(web) {
        let install = if web.join("package-lock.json").is_file() {
            "ci"
        } else {
            "install"
        };
        run(
            Command::new(npm)
                .args([install, "--no-audit", "--no-fund"])
                .current_dir(web),
            "npm install (web/)",
        );
    }
    run(
        Command::new(npm).args(["run", "build"]).current_dir(web),
        "npm run build (web/)",
    );
}

fn run(cmd: &mut Command, what: &str) {
    match cmd.status() {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("{what} failed ({s}); install Node.js and npm, or set SWITCHBOARD_SKIP_WEB_BUILD=1 to embed web/dist as it is"),
        Err(e) => panic!("{what} could not start ({e}); install Node.js and npm, or set SWITCHBOARD_SKIP_WEB_BUILD=1"),
    }
}

/// (url path, file) for every file; dist/console/* is served from "/", the rest as it lies.
fn collect(dist: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            collect(dist, &path, out);
        } else if let Ok(rel) = path.strip_prefix(dist) {
            let rel = rel.to_string_lossy().replace('\\', "/");
            let url = match rel.strip_prefix("console/") {
                Some(r) => format!("/{r}"),
                None => format!("/{rel}"),
            };
            out.push((url, path));
        }
    }
}

fn mime(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}
