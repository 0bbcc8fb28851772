//! `paylet integrity`: the release's script inventory, and the check of a
//! live page against it. Its own exit status: drift (1) is not a failure to
//! check (2).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use paylet::config::{Config, Layers};
use paylet::{Error, integrity};
use serde::Serialize;

use super::{WidgetArgs, public_url, serves_tls};

#[derive(Subcommand)]
pub enum IntegrityCommand {
    /// Print, as JSON, the manifest of the widget built in --widget-dir: every
    /// script its page runs (and embed.js) with its SHA-384 and size, and the
    /// page's Content-Security-Policy. Keep the one made from the release build
    /// to check live pages against.
    Manifest {
        #[command(flatten)]
        widget: WidgetArgs,
    },
    /// Fetch a live widget page, every script it runs and embed.js, as browsers
    /// get them, and report each difference from the release: scripts added,
    /// removed or changed, and headers missing or weakened. Exit status: 0 no
    /// drift, 1 drift, 2 the check could not be made.
    Check {
        /// The widget page as the store's shoppers load it, e.g.
        /// https://pay.example/widget/?store=st_…
        #[arg(long)]
        url: String,
        /// The expected manifest: a file, or an https:// URL, from `paylet
        /// integrity manifest`. Without it, the release built in --widget-dir is
        /// the expectation.
        #[arg(long, value_name = "FILE|URL")]
        manifest: Option<String>,
        /// The release build to expect when there is no --manifest [default: widget/dist].
        #[arg(long, conflicts_with = "manifest")]
        widget_dir: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: IntegrityCommand, layers: &Layers) -> ExitCode {
    outcome(command, layers).await.unwrap_or_else(|e| {
        // The causes too: "I/O error" alone does not say which file or host.
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        eprintln!("paylet: {message}");
        ExitCode::from(2)
    })
}

/// `check`'s own `--widget-dir`, over the settings' (it reads no variable).
#[derive(Serialize)]
struct CheckedBuild {
    #[serde(skip_serializing_if = "Option::is_none")]
    widget_dir: Option<PathBuf>,
}

async fn outcome(command: IntegrityCommand, layers: &Layers) -> Result<ExitCode, Error> {
    match command {
        IntegrityCommand::Manifest { widget } => {
            let config = layers.with(&widget).resolve()?;
            let manifest = integrity_manifest(&config.widget_dir, &public_url(&config, serves_tls(&config))).await?;
            println!("{}", serde_json::to_string_pretty(&manifest).unwrap_or_default());
            Ok(ExitCode::SUCCESS)
        }
        IntegrityCommand::Check { url, manifest, widget_dir, json } => {
            let config = layers.with(&CheckedBuild { widget_dir }).resolve()?;
            let report = integrity_check(&url, manifest.as_deref(), &config).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            } else {
                print!("{report}");
            }
            Ok(if report.clean { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
    }
}

async fn integrity_manifest(dir: &std::path::Path, public_url: &str) -> Result<integrity::Manifest, Error> {
    for card_fields in integrity::BUILDS {
        let page = dir.join(integrity::page_file(card_fields));
        if !page.is_file() {
            return Err(Error::Config(format!("{} is not there; run `cargo xtask widget`", page.display())));
        }
    }
    integrity::manifest(dir, public_url).await
}

/// The expectation is the release's own manifest, never what the checked
/// server says about itself: a tampered server would vouch for its tampering.
async fn integrity_check(url: &str, manifest: Option<&str>, config: &Config) -> Result<integrity::Report, Error> {
    let page = reqwest::Url::parse(url).map_err(|e| Error::Config(format!("--url `{url}`: {e}")))?;
    let expected = match manifest {
        Some(source) => integrity::load_manifest(source).await?,
        None => integrity_manifest(&config.widget_dir, &page.origin().ascii_serialization()).await?,
    };
    integrity::check(&page, &expected).await
}
