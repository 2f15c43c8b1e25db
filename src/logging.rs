//! Log output: `tracing` events written to stderr, never stdout.

use tracing::level_filters::LevelFilter;

/// Installs the stderr logger at `level`; called once, after configuration.
pub fn init(level: LevelFilter) {
    if level == LevelFilter::OFF {
        return;
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .without_time()
        .init();
}
