//! Prints the inferred schema, the DataFrame and the decode report of an NDJSON file.
//!
//! Usage: `cargo run -p truthound-example-ndjson-source --bin ndjson-snapshot -- FILE [MAX_MESSAGES]`

use std::process::ExitCode;

use truthound_example_ndjson_source::NdjsonFileSource;
use truthound_polars::PolarsSourceExt;
use truthound_streaming_core::{BaseStreamingDataSource, StreamingDataSourceConfig};

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: ndjson-snapshot FILE [MAX_MESSAGES]");
        return ExitCode::from(2);
    };
    let max_messages = match args.next().map(|m| m.parse::<usize>()) {
        None => 10_000,
        Some(Ok(m)) => m,
        Some(Err(e)) => {
            eprintln!("MAX_MESSAGES: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&path, max_messages).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(path: &str, max_messages: usize) -> Result<(), Box<dyn std::error::Error>> {
    let config = StreamingDataSourceConfig::default()
        .with_max_messages(max_messages)
        .with_include_metadata(true)
        .with_include_key(false);
    let mut source = NdjsonFileSource::new(path, config)?;
    println!("source: {}", source.name());
    println!("{}", source.get_schema().await?);
    let snapshot = source.to_polars_dataframe().await?;
    println!("{}", snapshot.frame);
    let report = &snapshot.report;
    println!(
        "{} rows, {} skipped, {} tombstones",
        report.rows,
        report.skipped.len(),
        report.tombstones
    );
    for skipped in report.skipped.iter().take(10) {
        println!("  line {}: {}", skipped.offset + 1, skipped.reason);
    }
    source.close().await?;
    Ok(())
}
