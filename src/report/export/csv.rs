//! The CSV exporter: fractions, not percent, so that it reads straight into pandas.

use super::{Exporter, Tables};
use crate::report::{GroupKey, KeyValue, Metric, Summary};

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
    let opt = |x: Option<f64>| x.map_or(String::new(), rounded);
    match tables {
        Tables::Both => {
            return Err(
                "a CSV file holds one table: choose --table long or --table pivot".to_string(),
            )
        }
        Tables::Long => {
            let mut header: Vec<String> =
                summary.keys.iter().map(|k| k.name().to_string()).collect();
            header.extend(["runs", "diverged"].map(String::from));
            for m in summary.metrics() {
                header.push(format!("{}_mean", m.name()));
                header.push(format!("{}_sd", m.name()));
            }
            w.write_record(&header).map_err(|e| e.to_string())?;
            for g in &summary.groups {
                let mut row: Vec<String> = g.key.iter().map(|v| v.to_string()).collect();
                row.push(g.runs.to_string());
                row.push(g.diverged.to_string());
                for m in summary.metrics() {
                    let s = m.of(g);
                    row.push(opt(s.map(|s| s.mean)));
                    row.push(opt(s.and_then(|s| s.sd)));
                }
                w.write_record(&row).map_err(|e| e.to_string())?;
            }
        }
        Tables::Pivot => {
            let pivots = summary.pivots(metric);
            let mut cols: Vec<KeyValue> = pivots.iter().flat_map(|p| p.cols.clone()).collect();
            cols.sort();
            cols.dedup();
            let (rk, ck) = summary.pivot_axes;
            let fixed_keys: Vec<GroupKey> = pivots
                .first()
                .map(|p| p.fixed.iter().map(|(k, _)| *k).collect())
                .unwrap_or_default();
            let mut header: Vec<String> = fixed_keys.iter().map(|k| k.name().to_string()).collect();
            header.push(rk.name().into());
            for e in &cols {
                header.push(format!("{}_mean@{}={e}", metric.name(), ck.name()));
                header.push(format!("{}_sd@{}={e}", metric.name(), ck.name()));
            }
            w.write_record(&header).map_err(|e| e.to_string())?;
            for p in &pivots {
                for (h, row) in p.rows.iter().zip(&p.cells) {
                    let mut rec: Vec<String> = p.fixed.iter().map(|(_, v)| v.to_string()).collect();
                    rec.push(h.to_string());
                    for e in &cols {
                        let cell = p.cols.iter().position(|x| x == e).and_then(|c| row[c]);
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

/// A fraction as the CSV writes it: rounded to 6 decimals (a thousandth of a percentage point,
/// far below what a few seeds can tell apart), then in the shortest form that reads back to
/// that value, so `0.6399999999999999` is written `0.64`.
pub fn rounded(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    let r = (x * 1e6).round() / 1e6;
    // -0 would read as a sign where there is none.
    format!("{}", if r == 0.0 { 0.0 } else { r })
}

#[cfg(test)]
mod tests {
    use super::rounded;

    #[test]
    fn values_are_rounded_to_what_a_person_can_read() {
        assert_eq!(rounded(0.6399999999999999), "0.64");
        assert_eq!(rounded(0.853333333333), "0.853333");
        assert_eq!(rounded(-1e-12), "0");
        assert_eq!(rounded(1.0), "1");
        assert_eq!(rounded(f64::NAN), "NaN");
    }
}
