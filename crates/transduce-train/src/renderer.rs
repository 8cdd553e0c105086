//! A metrics renderer for runs whose stdout is not a terminal (CI logs, pipes): one line per
//! epoch with the epoch's train and validation metrics. burn-train's own plain renderer prints
//! progress but no metric values; on a terminal the TUI dashboard is used instead.

use std::collections::HashMap;
use std::io::Write;
use std::time::Instant;

use burn::train::LearnerSummary;
use burn::train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn::train::metric::{MetricDefinition, MetricId, MetricName, NumericEntry};
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};

/// Prints `epoch 3/10 | train Loss 0.412 Accuracy 93.1 | valid Loss 0.398 ... | 12.3s`.
pub struct EpochLineRenderer {
    names: HashMap<MetricId, MetricName>,
    total_epochs: usize,
    train: Vec<(MetricName, f64)>,
    valid: Vec<(MetricName, f64)>,
    started: Instant,
}

impl Default for EpochLineRenderer {
    fn default() -> Self {
        EpochLineRenderer {
            names: HashMap::new(),
            total_epochs: 0,
            train: Vec::new(),
            valid: Vec::new(),
            started: Instant::now(),
        }
    }
}

impl EpochLineRenderer {
    /// The epoch value of a numeric metric: only sent once per split, at its end.
    fn final_value(&self, state: MetricState) -> Option<(MetricName, f64)> {
        match state {
            MetricState::Numeric(entry, Some(NumericEntry::Final(value))) => {
                let name = self
                    .names
                    .get(&entry.metric_id)
                    .cloned()
                    .unwrap_or_default();
                Some((name, value))
            }
            _ => None,
        }
    }

    fn format(values: &[(MetricName, f64)]) -> String {
        values
            .iter()
            .map(|(name, v)| format!("{name} {v:.4}"))
            .collect::<Vec<_>>()
            .join("  ")
    }

    fn print(&mut self, what: &str) {
        let line = format!(
            "{what} | train {} | valid {} | {:.1}s",
            Self::format(&self.train),
            Self::format(&self.valid),
            self.started.elapsed().as_secs_f64()
        );
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
        self.train.clear();
        self.valid.clear();
    }
}

impl MetricsRendererTraining for EpochLineRenderer {
    fn update_train(&mut self, state: MetricState) {
        if let Some(v) = self.final_value(state) {
            self.train.push(v);
        }
    }

    fn update_valid(&mut self, state: MetricState) {
        if let Some(v) = self.final_value(state) {
            self.valid.push(v);
        }
    }

    fn on_train_end(
        &mut self,
        _summary: Option<LearnerSummary>,
    ) -> Result<(), Box<dyn std::error::Error>> {
        Ok(())
    }
}

impl TrainingProgressLogger for EpochLineRenderer {
    fn start(
        &mut self,
        total_epochs: usize,
        starting_epoch: usize,
        _items: Option<usize>,
        _label: Option<&str>,
    ) {
        self.total_epochs = total_epochs;
        self.started = Instant::now();
        if starting_epoch > 1 {
            println!("resuming at epoch {starting_epoch}/{total_epochs}");
        }
    }

    fn update_epoch(&mut self, epoch: usize) {
        let what = format!("epoch {epoch}/{}", self.total_epochs);
        self.print(&what);
    }

    fn start_split(&mut self, _split: &str, _total_items: usize) {}

    fn update_split(&mut self, _items_processed: usize) {}

    fn end_split(&mut self) {}

    fn end(&mut self) {
        if !self.train.is_empty() || !self.valid.is_empty() {
            self.print("interrupted epoch");
        }
    }

    fn log_event_training(&mut self, _event: String) {}
}

impl EvaluationProgressLogger for EpochLineRenderer {
    fn start_global_progress(&mut self, _total_tests: usize) {}
    fn start_test(&mut self, _name: &str, _total_items: usize) {}
    fn update_test_progress(&mut self, _items_processed: usize) {}
    fn end_test(&mut self) {}
    fn end_global_progress(&mut self) {}
    fn log_event_evaluation(&mut self, _event: String) {}
}

impl MetricsRendererEvaluation for EpochLineRenderer {
    fn update_test(&mut self, _name: EvaluationName, _state: MetricState) {}
}

impl MetricsRenderer for EpochLineRenderer {
    fn manual_close(&mut self) {}

    fn register_metric(&mut self, definition: MetricDefinition) {
        self.names
            .insert(definition.metric_id.clone(), definition.name.clone());
    }
}
