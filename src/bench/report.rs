//! Results of a benchmark run: latency histograms and a printed table (or one JSON object).

use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{Map, Value};

/// Latencies in nanoseconds, 1 ns to 60 s, 3 significant digits.
pub struct Latency(Histogram<u64>);

impl Default for Latency {
    fn default() -> Self {
        // unwrap: constant, valid bounds
        Latency(Histogram::new_with_bounds(1, 60_000_000_000, 3).unwrap())
    }
}

impl Latency {
    /// Records one latency.
    pub fn record(&mut self, d: Duration) {
        self.0.saturating_record(d.as_nanos().max(1) as u64);
    }

    /// Records one latency given in nanoseconds.
    pub fn record_ns(&mut self, ns: u64) {
        self.0.saturating_record(ns.max(1));
    }

    /// Adds another histogram's samples.
    pub fn merge(&mut self, other: &Latency) {
        // unwrap: same bounds on both sides
        self.0.add(&other.0).unwrap();
    }

    /// How many samples.
    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// The value at quantile `q` (0..=1), in microseconds.
    pub fn quantile_us(&self, q: f64) -> f64 {
        self.0.value_at_quantile(q) as f64 / 1000.0
    }

    /// The largest sample, in microseconds.
    pub fn max_us(&self) -> f64 {
        self.0.max() as f64 / 1000.0
    }
}

/// One scenario's figures, in the order they were added.
pub struct Report {
    title: String,
    rows: Vec<(String, Value, &'static str)>,
}

impl Report {
    /// An empty report titled `title`.
    pub fn new(title: impl Into<String>) -> Report {
        Report {
            title: title.into(),
            rows: Vec::new(),
        }
    }

    /// Adds a figure.
    pub fn add(&mut self, name: &str, value: impl Into<Value>, unit: &'static str) {
        self.rows.push((name.to_string(), value.into(), unit));
    }

    /// Adds p50/p99/p99.9/max of a latency histogram, in microseconds.
    pub fn latency(&mut self, name: &str, l: &Latency) {
        for (label, q) in [("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999)] {
            self.add(&format!("{name} {label}"), round(l.quantile_us(q)), "µs");
        }
        self.add(&format!("{name} max"), round(l.max_us()), "µs");
    }

    /// Prints an aligned table, or one JSON object when `json`.
    pub fn print(&self, json: bool) {
        if json {
            let mut map = Map::new();
            map.insert("scenario".into(), Value::from(self.title.clone()));
            for (name, value, _) in &self.rows {
                map.insert(name.clone(), value.clone());
            }
            println!("{}", Value::Object(map));
            return;
        }
        let width = self.rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        println!("\n{}", self.title);
        println!("{}", "-".repeat(width + 24));
        for (name, value, unit) in &self.rows {
            println!("{name:<width$}  {:>14}  {unit}", display(value));
        }
    }
}

fn display(v: &Value) -> String {
    match v {
        Value::Number(n) if n.is_f64() => format!("{:.2}", n.as_f64().unwrap_or_default()),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Rounds to two decimals for reporting.
pub fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_out_in_microseconds() {
        let mut l = Latency::default();
        for us in 1..=1000u64 {
            l.record(Duration::from_micros(us));
        }
        assert!((l.quantile_us(0.5) - 500.0).abs() < 1.0);
        assert!((l.max_us() - 1000.0).abs() < 1.0);
        assert_eq!(l.count(), 1000);
    }
}
