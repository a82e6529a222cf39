//! What the logs contain, captured.

use std::sync::Arc;

/// A `tracing` writer that keeps everything written, for tests of what the logs contain.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<std::sync::Mutex<Vec<u8>>>);

impl LogCapture {
    /// Installs the functions' own JSON subscriber (at `level`) on this thread, writing here.
    pub fn install(&self, level: &str) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber =
            smv_shared::telemetry::json_subscriber(level.parse().unwrap(), move || writer.clone());
        tracing::subscriber::set_default(subscriber)
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
