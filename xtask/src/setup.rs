//! `cargo xtask setup`: installs each missing tool from a package registry
//! (rustup, crates.io, Debian, npm) and never downloads a prebuilt binary or
//! browser. Safe to run again: every step first checks what is there.

use std::net::{TcpStream, ToSocketAddrs};
use std::process::Command;
use std::time::Duration;

use crate::steps::{Failure, describe, output, run_step, workspace_root};

const TRUNK_VERSION: &str = "0.21.14";

pub fn run(for_tests: bool) -> Result<(), Failure> {
    println!("==> set-up{}", if for_tests { " (with test tools)" } else { "" });
    wasm_target()?;
    trunk()?;
    let bindgen = wasm_bindgen_version()?;
    wasm_bindgen_cli(&bindgen)?;
    node()?;
    npm_packages("widget", "wasm-opt (binaryen)")?;
    if for_tests {
        chromium()?;
        openssl()?;
        npm_packages("e2e", "e2e test packages")?;
    }
    Ok(())
}

fn ok(what: &str, detail: &str) {
    println!("  ok  {what}: {detail}");
}

fn wasm_target() -> Result<(), Failure> {
    const STEP: &str = "wasm32 target";
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))
        .ok_or_else(|| Failure::new(STEP, "`rustup` is not available; install Rust with rustup"))?;
    if installed.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        ok(STEP, "installed");
        return Ok(());
    }
    run_step("install wasm32 target (rustup)", Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

fn trunk() -> Result<(), Failure> {
    const STEP: &str = "trunk";
    let current = output(Command::new("trunk").arg("--version")).unwrap_or_default();
    // 0.22 needs a newer rustc than 1.95; any 0.21 release reads our Trunk.toml.
    if current.trim().starts_with("trunk 0.21.") {
        ok(STEP, current.trim());
        return Ok(());
    }
    run_step(
        &format!("install trunk {TRUNK_VERSION} (cargo install, several minutes)"),
        Command::new("cargo").args(["install", &format!("trunk@{TRUNK_VERSION}"), "--locked"]),
    )
}

/// The `wasm-bindgen` version in Cargo.lock, which the CLI must equal exactly,
/// checked against the pin in Trunk.toml that keeps Trunk from downloading.
fn wasm_bindgen_version() -> Result<String, Failure> {
    const STEP: &str = "wasm-bindgen version";
    let root = workspace_root();
    let lock = std::fs::read_to_string(root.join("Cargo.lock"))
        .map_err(|e| Failure::new(STEP, format!("cannot read Cargo.lock: {e}")))?;
    let version = lock_version(&lock, "wasm-bindgen")
        .ok_or_else(|| Failure::new(STEP, "Cargo.lock has no wasm-bindgen package"))?;
    let trunk_toml = std::fs::read_to_string(root.join("Trunk.toml"))
        .map_err(|e| Failure::new(STEP, format!("cannot read Trunk.toml: {e}")))?;
    let pinned = trunk_toml
        .lines()
        .find_map(|l| l.trim().strip_prefix("wasm_bindgen = ")?.trim().strip_prefix('"')?.strip_suffix('"'));
    if pinned != Some(version.as_str()) {
        return Err(Failure::new(
            STEP,
            format!(
                "Trunk.toml pins wasm_bindgen = {pinned:?} but Cargo.lock has {version}; set `wasm_bindgen = \"{version}\"` in Trunk.toml"
            ),
        ));
    }
    Ok(version)
}

fn lock_version(lock: &str, package: &str) -> Option<String> {
    let mut lines = lock.lines();
    let name_line = format!("name = \"{package}\"");
    lines.find(|l| *l == name_line)?;
    let version = lines.next()?.strip_prefix("version = \"")?.strip_suffix('"')?;
    Some(version.to_owned())
}

fn wasm_bindgen_cli(version: &str) -> Result<(), Failure> {
    const STEP: &str = "wasm-bindgen-cli";
    let current = output(Command::new("wasm-bindgen").arg("--version")).unwrap_or_default();
    if current.split_whitespace().nth(1) == Some(version) {
        ok(STEP, current.trim());
        return Ok(());
    }
    // Without --locked: the CLI's lock file can name versions the registry mirror lacks.
    run_step(
        &format!("install wasm-bindgen-cli {version} (cargo install, several minutes)"),
        Command::new("cargo").args(["install", &format!("wasm-bindgen-cli@{version}")]),
    )
}

fn node() -> Result<(), Failure> {
    match output(Command::new("node").arg("--version")) {
        Some(v) => {
            ok("node", v.trim());
            Ok(())
        }
        None => apt_install("nodejs npm", &["nodejs", "npm"]),
    }
}

/// `npm ci` in `dir` unless the installed packages already match its lock file.
fn npm_packages(dir: &str, what: &str) -> Result<(), Failure> {
    let dir = workspace_root().join(dir);
    let lock = std::fs::read(dir.join("package-lock.json"))
        .map_err(|e| Failure::new(what, format!("cannot read {}/package-lock.json: {e}", dir.display())))?;
    let stamp = dir.join("node_modules/.paylet-installed-lock");
    if std::fs::read(&stamp).is_ok_and(|installed| installed == lock) {
        ok(what, "installed");
        return Ok(());
    }
    run_step(
        &format!("install {what} (npm ci)"),
        Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir),
    )?;
    std::fs::write(&stamp, lock).map_err(|e| Failure::new(what, format!("cannot write {}: {e}", stamp.display())))
}

fn chromium() -> Result<(), Failure> {
    if let Some(v) = output(Command::new("/usr/bin/chromium").arg("--version")) {
        ok("chromium", v.trim());
        return Ok(());
    }
    apt_install("chromium (Debian package)", &["chromium"])
}

/// openssl, which the HTTPS tests issue their certificates with.
fn openssl() -> Result<(), Failure> {
    if let Some(v) = output(Command::new("openssl").arg("version")) {
        ok("openssl", v.trim());
        return Ok(());
    }
    apt_install("openssl (Debian package)", &["openssl"])
}

/// wrk, the load generator `cargo xtask bench` uses.
pub fn wrk() -> Result<(), Failure> {
    if let Some(v) =
        output(Command::new("sh").args(["-c", "wrk --version 2>&1 | head -1"])).filter(|v| v.starts_with("wrk"))
    {
        ok("wrk", v.trim());
        return Ok(());
    }
    apt_install("wrk (Debian package)", &["wrk"])
}

/// Installs Debian packages, refreshing the package lists once if needed.
fn apt_install(what: &str, packages: &[&str]) -> Result<(), Failure> {
    let step = format!("install {what}");
    if output(Command::new("id").arg("-u")).as_deref().map(str::trim) != Some("0") {
        return Err(Failure::new(
            &step,
            format!("needs root; run `sudo apt-get install -y {}` and try again", packages.join(" ")),
        ));
    }
    let mut install = Command::new("apt-get");
    install.args(["install", "-y"]).args(packages).env("DEBIAN_FRONTEND", "noninteractive");
    if run_step(&step, &mut install).is_ok() {
        return Ok(());
    }
    run_step("refresh Debian package lists", Command::new("apt-get").arg("update"))?;
    run_step(&step, &mut install).map_err(|f| Failure::new(&step, format!("{} ({})", f.reason, describe(&install))))
}

/// Fails unless something accepts connections at the URL's host and port, so a
/// CI run that was promised Postgres cannot silently skip it.
pub fn check_postgres(url: &str) -> Result<(), Failure> {
    const STEP: &str = "postgres";
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = after_scheme.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let host_port = if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:5432") };
    let reachable = host_port
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(3)).is_ok());
    if reachable {
        ok(STEP, &format!("reachable at {host_port}"));
        Ok(())
    } else {
        Err(Failure::new(
            STEP,
            format!(
                "PAYLET_TEST_POSTGRES_URL is set but nothing answers at {host_port}; start it with \
                 `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_package_version_in_a_lock_file() {
        let lock = "[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\nsource = \"x\"\n";
        assert_eq!(lock_version(lock, "wasm-bindgen").as_deref(), Some("0.2.130"));
        assert_eq!(lock_version(lock, "wasm-bindgen-shared"), None);
    }
}
