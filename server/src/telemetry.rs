//! Logging: `tracing` to stderr, as text or JSON lines, with any card number
//! that reaches a log line masked on the way out.

use std::io::{self, Write};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the global subscriber. `RUST_LOG` overrides the default filter.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(Scrubbed(io::stderr));
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// A log destination that masks card numbers (all but the last four digits)
/// in each line. The card-data guard keeps them out of requests; this is the
/// last net for one that reaches a log line some other way.
#[derive(Clone, Copy)]
pub struct Scrubbed<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Scrubbed<M> {
    type Writer = LineScrubber<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        LineScrubber { inner: self.0.make_writer(), line: Vec::new() }
    }
}

/// Collects one event's output (the formatter writes an event through one
/// writer) and writes it masked when done.
pub struct LineScrubber<W: Write> {
    inner: W,
    line: Vec<u8>,
}

impl<W: Write> Write for LineScrubber<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.line.is_empty() {
            let masked = paylet_card::mask_card_numbers(&String::from_utf8_lossy(&self.line));
            self.inner.write_all(masked.as_bytes())?;
            self.line.clear();
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for LineScrubber<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().map_err(|_| io::Error::other("poisoned"))?.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_card_number_in_a_log_line_is_masked_and_the_rest_kept() {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber =
            tracing_subscriber::fmt().with_writer(Scrubbed(move || sink.clone())).with_ansi(false).finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(note = "4242 4242 4242 4242", order = "ord_1", "a shopper typed 5555-5555-5555-4444 here");
        });
        let out = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(out.contains("**** **** **** 4242"), "{out}");
        assert!(out.contains("****-****-****-4444"), "{out}");
        assert!(out.contains("ord_1") && out.contains("a shopper typed"), "{out}");
        assert!(paylet_card::find_card_numbers(&out).is_empty(), "{out}");
    }
}
