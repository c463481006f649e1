//! The CSV exporter: fractions, not percent, so that it reads straight into pandas.

use super::{Exporter, Tables};
use crate::report::{GroupKey, Metric, OrdF64, Summary};

/// The CSV exporter.
pub struct Csv;

impl Exporter for Csv {
    fn extension(&self) -> &'static str {
        "csv"
    }
    fn export(&self, summary: &Summary, metric: Metric, tables: Tables) -> Result<String, String> {
        to_csv(summary, metric, tables)
    }
}

/// CSV of one table: fractions (not percent) so that it reads straight into pandas. A CSV file
/// holds one table, so `tables` must be `Long` or `Pivot`; several pivots (other keys varying)
/// are stacked with those keys as leading columns.
pub fn to_csv(summary: &Summary, metric: Metric, tables: Tables) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let opt = |x: Option<f64>| x.map_or(String::new(), |v| v.to_string());
    match tables {
        Tables::Both => {
            return Err(
                "a CSV file holds one table: choose --table long or --table pivot".to_string(),
            )
        }
        Tables::Long => {
            let mut header: Vec<String> =
                summary.keys.iter().map(|k| k.name().to_string()).collect();
            header.extend(
                [
                    "runs",
                    "diverged",
                    "train_acc_mean",
                    "train_acc_sd",
                    "test_acc_mean",
                    "test_acc_sd",
                    "gap_mean",
                    "gap_sd",
                ]
                .map(String::from),
            );
            w.write_record(&header).map_err(|e| e.to_string())?;
            for g in &summary.groups {
                let mut row: Vec<String> = g.key.iter().map(|v| v.to_string()).collect();
                row.push(g.runs.to_string());
                row.push(g.diverged.to_string());
                for s in [g.train_acc, g.test_acc, g.gap] {
                    row.push(s.mean.to_string());
                    row.push(opt(s.sd));
                }
                w.write_record(&row).map_err(|e| e.to_string())?;
            }
        }
        Tables::Pivot => {
            let pivots = summary.pivots(metric);
            let mut etas: Vec<OrdF64> = pivots
                .iter()
                .flat_map(|p| p.etas.iter().map(|&e| OrdF64(e)))
                .collect();
            etas.sort();
            etas.dedup();
            let fixed_keys: Vec<GroupKey> = pivots
                .first()
                .map(|p| p.fixed.iter().map(|(k, _)| *k).collect())
                .unwrap_or_default();
            let mut header: Vec<String> = fixed_keys.iter().map(|k| k.name().to_string()).collect();
            header.push("hidden".into());
            for e in &etas {
                header.push(format!("{}_mean@eta={}", metric.name(), e.0));
                header.push(format!("{}_sd@eta={}", metric.name(), e.0));
            }
            w.write_record(&header).map_err(|e| e.to_string())?;
            for p in &pivots {
                for (h, row) in p.hidden.iter().zip(&p.cells) {
                    let mut rec: Vec<String> = p.fixed.iter().map(|(_, v)| v.to_string()).collect();
                    rec.push(h.label.clone());
                    for e in &etas {
                        let cell = p
                            .etas
                            .iter()
                            .position(|&x| OrdF64(x) == *e)
                            .and_then(|c| row[c]);
                        rec.push(opt(cell.map(|s| s.mean)));
                        rec.push(opt(cell.and_then(|s| s.sd)));
                    }
                    w.write_record(&rec).map_err(|e| e.to_string())?;
                }
            }
        }
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}
