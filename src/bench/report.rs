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
    rows: Vec<Row>,
    /// With `--runs N`: the reports the medians were taken of.
    runs: Vec<Report>,
}

/// One figure: name, value, unit, and (in a median report) every run's value.
struct Row {
    name: String,
    value: Value,
    unit: &'static str,
    spread: Option<String>,
}

impl Report {
    /// An empty report titled `title`.
    pub fn new(title: impl Into<String>) -> Report {
        Report {
            title: title.into(),
            rows: Vec::new(),
            runs: Vec::new(),
        }
    }

    /// Adds a figure.
    pub fn add(&mut self, name: &str, value: impl Into<Value>, unit: &'static str) {
        self.rows.push(Row {
            name: name.to_string(),
            value: value.into(),
            unit,
            spread: None,
        });
    }

    /// Adds p50/p99/p99.9/max of a latency histogram, in microseconds.
    pub fn latency(&mut self, name: &str, l: &Latency) {
        for (label, q) in [("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999)] {
            self.add(&format!("{name} {label}"), round(l.quantile_us(q)), "µs");
        }
        self.add(&format!("{name} max"), round(l.max_us()), "µs");
    }

    /// The median of each figure over several runs of one scenario (the first run's rows, in
    /// its order; text figures are the first run's), each with every run's value beside it.
    pub fn median(runs: Vec<Report>) -> Report {
        let Some(first) = runs.first() else {
            return Report::new("no runs");
        };
        let mut report = Report::new(format!("{} (median of {} runs)", first.title, runs.len()));
        for row in &first.rows {
            let values: Vec<&Value> = runs
                .iter()
                .filter_map(|r| r.rows.iter().find(|x| x.name == row.name))
                .map(|x| &x.value)
                .collect();
            let numbers: Option<Vec<f64>> = values.iter().map(|v| v.as_f64()).collect();
            let value = match numbers {
                Some(numbers) if numbers.len() == runs.len() => median_value(&values, numbers),
                _ => row.value.clone(),
            };
            let spread = values.iter().map(|v| display(v)).collect::<Vec<_>>();
            report.rows.push(Row {
                name: row.name.clone(),
                value,
                unit: row.unit,
                spread: Some(spread.join(", ")),
            });
        }
        report.runs = runs;
        report
    }

    /// The figures as one JSON object (with `runs`, each run's object, in a median report).
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("scenario".into(), Value::from(self.title.clone()));
        for row in &self.rows {
            map.insert(row.name.clone(), row.value.clone());
        }
        if !self.runs.is_empty() {
            let runs = self.runs.iter().map(Report::to_json).collect();
            map.insert("runs".into(), Value::Array(runs));
        }
        Value::Object(map)
    }

    /// Prints an aligned table, or one JSON object when `json`.
    pub fn print(&self, json: bool) {
        if json {
            println!("{}", self.to_json());
            return;
        }
        let width = self.rows.iter().map(|r| r.name.len()).max().unwrap_or(0);
        println!("\n{}", self.title);
        println!("{}", "-".repeat(width + 24));
        for row in &self.rows {
            let (name, value, unit) = (&row.name, display(&row.value), row.unit);
            match &row.spread {
                Some(spread) => println!("{name:<width$}  {value:>14}  {unit:<9} ({spread})"),
                None => println!("{name:<width$}  {value:>14}  {unit}"),
            }
        }
    }
}

/// The median of `numbers` (the mean of the middle two for an even count); integers stay
/// integers when the median is one of them.
fn median_value(values: &[&Value], mut numbers: Vec<f64>) -> Value {
    numbers.sort_by(f64::total_cmp);
    let n = numbers.len();
    let m = if n % 2 == 1 {
        numbers[n / 2]
    } else {
        (numbers[n / 2 - 1] + numbers[n / 2]) / 2.0
    };
    if values.iter().all(|v| v.is_u64()) && m.fract() == 0.0 {
        Value::from(m as u64)
    } else {
        Value::from(round(m))
    }
}

fn display(v: &Value) -> String {
    match v {
        Value::Number(n) if n.is_f64() => format!("{:.2}", n.as_f64().unwrap_or_default()),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Bytes in MiB, rounded to two decimals.
pub fn mib(bytes: u64) -> f64 {
    round(bytes as f64 / 1048576.0)
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

    fn run(delivered: u64, p99: f64) -> Report {
        let mut r = Report::new("signal");
        r.add("delivered", delivered, "msgs");
        r.add("one-way latency p99", p99, "µs");
        r.add("mode", "window", "");
        r
    }

    #[test]
    fn median_takes_each_figure_over_the_runs() {
        let m = Report::median(vec![run(10, 3.0), run(30, 1.0), run(20, 2.5)]);
        let j = m.to_json();
        assert_eq!(j["delivered"], 20);
        assert_eq!(j["one-way latency p99"], 2.5);
        assert_eq!(j["mode"], "window");
        assert_eq!(j["runs"].as_array().unwrap().len(), 3);
        assert_eq!(j["runs"][1]["delivered"], 30);
        assert_eq!(m.rows[0].spread.as_deref(), Some("10, 30, 20"));
    }

    #[test]
    fn median_of_an_even_count_is_the_mean_of_the_middle_two() {
        let j = Report::median(vec![run(10, 1.0), run(21, 4.0)]).to_json();
        assert_eq!(j["delivered"], 15.5);
        assert_eq!(j["one-way latency p99"], 2.5);
    }
}
