//! Precompressed copies of the built widget: next to each script, WASM module,
//! stylesheet and page `X` in `widget/dist`, `X.br` (brotli, quality 11) and
//! `X.gz` (gzip, best), which the server sends to browsers that accept them.
//! Compressing once at build time lets the slowest, smallest settings pay off.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::steps::Failure;

const STEP: &str = "precompress widget";

/// What gets compressed: everything text or WASM that a browser downloads.
const EXTENSIONS: [&str; 4] = ["js", "wasm", "css", "html"];

/// One file and the sizes of its two compressed copies, in bytes.
pub struct Compressed {
    /// Relative to the directory compressed, with `/` between components.
    pub name: String,
    pub raw: u64,
    pub br: u64,
    pub gz: u64,
}

/// Writes `X.br` and `X.gz` for each file to compress under `dir`, removes
/// copies whose original is gone, and returns the sizes, by name.
pub fn precompress(dir: &Path) -> Result<Vec<Compressed>, Failure> {
    println!("\n==> {STEP}: {}", dir.display());
    let mut done = Vec::new();
    for path in files(dir)? {
        let Some(ext) = path.extension().and_then(|e| e.to_str()) else { continue };
        if matches!(ext, "br" | "gz") {
            let original = path.with_extension("");
            if !original.exists() {
                std::fs::remove_file(&path).map_err(|e| io(&path, &e))?;
            }
            continue;
        }
        if !EXTENSIONS.contains(&ext) {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| io(&path, &e))?;
        let (br, gz) = (brotli(&bytes)?, gzip(&bytes)?);
        for (suffix, data) in [("br", &br), ("gz", &gz)] {
            let target = sibling(&path, suffix);
            std::fs::write(&target, data).map_err(|e| io(&target, &e))?;
        }
        let name = path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().replace('\\', "/");
        done.push(Compressed { name, raw: len(&bytes), br: len(&br), gz: len(&gz) });
    }
    done.sort_by(|a, b| a.name.cmp(&b.name));
    for c in &done {
        println!("  {:<48} {:>9} B  br {:>8} B  gz {:>8} B", c.name, c.raw, c.br, c.gz);
    }
    Ok(done)
}

/// Brotli at quality 11 with the largest standard window (what `brotli -q 11` does).
pub fn brotli(bytes: &[u8]) -> Result<Vec<u8>, Failure> {
    let params =
        ::brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 24, size_hint: bytes.len(), ..Default::default() };
    let mut out = Vec::new();
    ::brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)
        .map_err(|e| Failure::new(STEP, format!("brotli: {e}")))?;
    Ok(out)
}

/// Gzip at its best compression; the header carries no time or name, so the
/// same input always gives the same bytes.
pub fn gzip(bytes: &[u8]) -> Result<Vec<u8>, Failure> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).and_then(|()| encoder.finish()).map_err(|e| Failure::new(STEP, format!("gzip: {e}")))
}

/// `X.suffix` next to `X` (`a.js` → `a.js.br`).
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// Every file under `dir`, in subdirectories too.
fn files(dir: &Path) -> Result<Vec<PathBuf>, Failure> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| io(&dir, &e))? {
            let path = entry.map_err(|e| io(&dir, &e))?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    Ok(found)
}

fn len(bytes: &[u8]) -> u64 {
    u64::try_from(bytes.len()).unwrap_or(u64::MAX)
}

fn io(path: &Path, e: &std::io::Error) -> Failure {
    Failure::new(STEP, format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    const TEXT: &[u8] = b"function mount(el) { return el; } function mount(el) { return el; } // again and again";

    #[test]
    fn brotli_and_gzip_give_back_the_original() {
        let br = brotli(TEXT).unwrap();
        let mut back = Vec::new();
        ::brotli::Decompressor::new(&br[..], 4096).read_to_end(&mut back).unwrap();
        assert_eq!(back, TEXT);
        assert!(br.len() < TEXT.len());

        let gz = gzip(TEXT).unwrap();
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut back).unwrap();
        assert_eq!(back, TEXT);
        assert_eq!(gzip(TEXT).unwrap(), gz, "the same bytes every time");
    }

    #[test]
    fn writes_siblings_for_assets_only_and_drops_stale_copies() {
        let dir = std::env::temp_dir().join(format!("xtask-precompress-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("snippets/x")).unwrap();
        for name in ["app-0123456789abcdef.js", "app_bg.wasm", "index.html", "snippets/x/inline0.js", "logo.png"] {
            std::fs::write(dir.join(name), TEXT).unwrap();
        }
        std::fs::write(dir.join("old-0123456789abcdef.js.br"), b"stale").unwrap();

        let done = precompress(&dir).unwrap();
        let names: Vec<&str> = done.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["app-0123456789abcdef.js", "app_bg.wasm", "index.html", "snippets/x/inline0.js"]);
        assert!(dir.join("snippets/x/inline0.js.br").exists() && dir.join("app_bg.wasm.gz").exists());
        assert!(!dir.join("logo.png.br").exists());
        assert!(!dir.join("old-0123456789abcdef.js.br").exists());
        let br = std::fs::read(dir.join("index.html.br")).unwrap();
        assert_eq!(done[2].br, u64::try_from(br.len()).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
