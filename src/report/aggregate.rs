//! Grouping runs by the swept axes and taking mean ± sd over seeds: the numbers every exporter
//! and chart shows, decided here once.

use std::collections::BTreeMap;

use super::axes::{fields, optional, GroupKey, KeyValue};
use crate::results::RunRecord;

/// Mean and sample standard deviation of one metric over the runs of a group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    pub mean: f64,
    /// Sample standard deviation (divisor n − 1); `None` for a single run, where it is undefined.
    pub sd: Option<f64>,
}

impl Stat {
    pub fn of(values: &[f64]) -> Stat {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let sd = (values.len() > 1).then(|| {
            let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
            (ss / (n - 1.0)).sqrt()
        });
        Stat { mean, sd }
    }
}

/// The metric shown in a pivot table or a heatmap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Gap,
    TestAcc,
    TrainAcc,
    /// Validation accuracy of the kept model; only in sweeps with validation data.
    ValAcc,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::Gap => "gap",
            Metric::TestAcc => "test_acc",
            Metric::TrainAcc => "train_acc",
            Metric::ValAcc => "val_acc",
        }
    }

    /// How the metric is titled where it is shown in percent.
    pub fn title(self) -> &'static str {
        match self {
            Metric::Gap => "gap = train − test (percentage points)",
            Metric::TestAcc => "test accuracy (%)",
            Metric::TrainAcc => "train accuracy (%)",
            Metric::ValAcc => "validation accuracy (%)",
        }
    }

    /// A short column heading: `train acc (%)`, `gap (pp)`.
    pub fn heading(self) -> &'static str {
        match self {
            Metric::Gap => "gap (pp)",
            Metric::TestAcc => "test acc (%)",
            Metric::TrainAcc => "train acc (%)",
            Metric::ValAcc => "val acc (%)",
        }
    }

    /// The metric of a group; `None` for validation accuracy in a group without any.
    pub fn of(self, g: &Group) -> Option<Stat> {
        match self {
            Metric::Gap => Some(g.gap),
            Metric::TestAcc => Some(g.test_acc),
            Metric::TrainAcc => Some(g.train_acc),
            Metric::ValAcc => g.val_acc,
        }
    }
}

impl std::str::FromStr for Metric {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "gap" => Ok(Metric::Gap),
            "test_acc" => Ok(Metric::TestAcc),
            "train_acc" => Ok(Metric::TrainAcc),
            "val_acc" => Ok(Metric::ValAcc),
            _ => Err(format!(
                "unknown metric {s:?}: use gap, test_acc, train_acc or val_acc"
            )),
        }
    }
}

/// The runs sharing one value on every grouping key.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// One value per key of [`Summary::keys`], in that order.
    pub key: Vec<KeyValue>,
    pub runs: usize,
    /// Runs whose cost became NaN or infinite. They stay in the means with the figures they
    /// reached before diverging (what the results file holds); the count says how many.
    pub diverged: usize,
    pub train_acc: Stat,
    /// Validation accuracy of the kept model, over the runs that have one; `None` when the
    /// results file has no `val_acc` column or the sweep no validation data.
    pub val_acc: Option<Stat>,
    pub test_acc: Stat,
    pub gap: Stat,
}

/// An overfitting table: one row per group, sorted by the keys in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub keys: Vec<GroupKey>,
    pub groups: Vec<Group>,
    /// The axes of the pivot tables: rows and columns (hidden × eta unless asked otherwise).
    pub pivot_axes: (GroupKey, GroupKey),
}

/// Groups runs by `by` (or by [`GroupKey::varying`] when `by` is empty) and takes mean ± sample
/// sd of best train accuracy, its model's validation and test accuracy and the gap.
///
/// Each (run_id, config_hash) counts once, the first row kept, so a file that holds a run twice
/// cannot weigh it double; [`load`](super::load) says when such rows disagree.
pub fn summarize(records: &[RunRecord], by: &[GroupKey]) -> Summary {
    let keys = if by.is_empty() {
        GroupKey::varying(records)
    } else {
        by.to_vec()
    };
    let mut seen = std::collections::HashSet::new();
    let mut grouped: BTreeMap<Vec<KeyValue>, Vec<(&RunRecord, Option<f64>)>> = BTreeMap::new();
    for r in records {
        if seen.insert((r.run_id.as_str(), r.config_hash.as_str())) {
            let fields = fields(r);
            let key = keys.iter().map(|k| k.value_in(&fields)).collect();
            let val = optional(&fields, "val_acc");
            grouped.entry(key).or_default().push((r, val));
        }
    }
    let groups = grouped
        .into_iter()
        .map(|(key, rs)| {
            let stat = |f: fn(&RunRecord) -> f64| {
                Stat::of(&rs.iter().map(|(r, _)| f(r)).collect::<Vec<_>>())
            };
            let vals: Vec<f64> = rs.iter().filter_map(|(_, v)| *v).collect();
            Group {
                key,
                runs: rs.len(),
                diverged: rs.iter().filter(|(r, _)| r.diverged).count(),
                train_acc: stat(|r| r.train_acc),
                val_acc: (!vals.is_empty()).then(|| Stat::of(&vals)),
                test_acc: stat(|r| r.test_acc),
                gap: stat(|r| r.gap),
            }
        })
        .collect();
    Summary {
        keys,
        groups,
        pivot_axes: (GroupKey::HIDDEN, GroupKey::ETA),
    }
}

/// One metric laid out with one axis as rows and another as columns (hidden sizes × etas by
/// default), for one combination of the other grouping keys (one pivot per l2 value, say, so
/// that no cell pools different recipes).
#[derive(Debug, Clone, PartialEq)]
pub struct Pivot {
    pub metric: Metric,
    /// The axes of the rows and of the columns.
    pub axes: (GroupKey, GroupKey),
    /// The other keys and the value they hold in this pivot; empty when only the two axes vary.
    pub fixed: Vec<(GroupKey, KeyValue)>,
    pub rows: Vec<KeyValue>,
    pub cols: Vec<KeyValue>,
    /// `cells[row][col]`: the metric for `(rows[row], cols[col])`; `None` where no run was made.
    pub cells: Vec<Vec<Option<Stat>>>,
}

impl Summary {
    /// The summary with its pivots on `rows` × `cols`; the caller groups by both (see
    /// [`Summary::pivots`]).
    pub fn with_pivot(mut self, rows: GroupKey, cols: GroupKey) -> Summary {
        self.pivot_axes = (rows, cols);
        self
    }

    /// The outcome columns of the long table, in order: train, validation when the sweep has
    /// it, test, gap. Every exporter shows these, decided here once.
    pub fn metrics(&self) -> Vec<Metric> {
        let mut m = vec![Metric::TrainAcc];
        if self.has_validation() {
            m.push(Metric::ValAcc);
        }
        m.extend([Metric::TestAcc, Metric::Gap]);
        m
    }

    /// True when some group has a validation accuracy: the tables then show it.
    pub fn has_validation(&self) -> bool {
        self.groups.iter().any(|g| g.val_acc.is_some())
    }

    /// The pivots of `metric`, or none when the summary is not grouped by both pivot axes.
    pub fn pivots(&self, metric: Metric) -> Vec<Pivot> {
        let (rk, ck) = self.pivot_axes;
        let (Some(ri), Some(ci)) = (
            self.keys.iter().position(|&k| k == rk),
            self.keys.iter().position(|&k| k == ck),
        ) else {
            return Vec::new();
        };
        if ri == ci {
            return Vec::new();
        }
        let mut by_rest: BTreeMap<Vec<KeyValue>, Vec<&Group>> = BTreeMap::new();
        for g in &self.groups {
            let rest = g
                .key
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != ri && *i != ci)
                .map(|(_, v)| v.clone())
                .collect();
            by_rest.entry(rest).or_default().push(g);
        }
        let rest_keys: Vec<GroupKey> = self
            .keys
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != ri && *i != ci)
            .map(|(_, &k)| k)
            .collect();
        by_rest
            .into_iter()
            .map(|(rest, groups)| {
                let mut rows: Vec<KeyValue> = groups.iter().map(|g| g.key[ri].clone()).collect();
                rows.sort();
                rows.dedup();
                let mut cols: Vec<KeyValue> = groups.iter().map(|g| g.key[ci].clone()).collect();
                cols.sort();
                cols.dedup();
                let mut cells = vec![vec![None; cols.len()]; rows.len()];
                for g in groups {
                    let row = rows.binary_search(&g.key[ri]).expect("collected above");
                    let col = cols.binary_search(&g.key[ci]).expect("collected above");
                    cells[row][col] = metric.of(g);
                }
                Pivot {
                    metric,
                    axes: (rk, ck),
                    fixed: rest_keys.iter().copied().zip(rest).collect(),
                    rows,
                    cols,
                    cells,
                }
            })
            .collect()
    }

    /// Total runs and diverged runs over all groups.
    pub fn totals(&self) -> (usize, usize) {
        self.groups
            .iter()
            .fold((0, 0), |(r, d), g| (r + g.runs, d + g.diverged))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::axes::*;
    use crate::report::tests::rec;

    #[test]
    fn sample_sd_divides_by_n_minus_one_and_is_absent_for_one_run() {
        // 1, 2, 3, 4: mean 2.5, squared deviations 2.25+0.25+0.25+2.25 = 5, 5/3 = 1.6667.
        let s = Stat::of(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(s.mean, 2.5);
        assert!((s.sd.unwrap() - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(Stat::of(&[0.7]).sd, None);
    }

    #[test]
    fn hidden_sizes_sort_numerically_then_by_depth() {
        let mut v: Vec<HiddenSize> = ["30x30", "10", "100", "2", "5x5x5", "abc", "30"]
            .iter()
            .map(|s| HiddenSize::parse(s))
            .collect();
        v.sort();
        let labels: Vec<&str> = v.iter().map(|h| h.label.as_str()).collect();
        assert_eq!(labels, ["2", "10", "30", "100", "30x30", "5x5x5", "abc"]);
    }

    #[test]
    fn automatic_grouping_adds_only_the_axes_that_vary() {
        let mut a = rec("a", "10", 0.1, 1, 0.9, 0.8);
        let b = rec("b", "10", 0.1, 2, 0.9, 0.8);
        assert_eq!(
            GroupKey::varying(&[a.clone(), b.clone()]),
            [GroupKey::HIDDEN, GroupKey::ETA]
        );
        a.l2 = 0.01;
        assert_eq!(
            GroupKey::varying(&[a, b]),
            [GroupKey::HIDDEN, GroupKey::ETA, "l2".parse().unwrap()]
        );
    }

    #[test]
    fn axes_are_settings_and_outcomes_are_not() {
        // Today's axes, and those the engine is adding, group with no change here.
        for axis in [
            "hidden", "eta", "l2", "n_train", "steps", "dropout", "select", "augment",
        ] {
            assert!(GroupKey::is_axis(axis), "{axis}");
        }
        for outcome in [
            "run_id",
            "seed",
            "train_acc",
            "val_acc",
            "final_val_acc",
            "stopped_step",
            "gap",
            "seconds",
            "n_test",
        ] {
            assert!(!GroupKey::is_axis(outcome), "{outcome}");
        }
        let names: Vec<&str> = GroupKey::all().iter().map(|k| k.name()).collect();
        assert_eq!(
            names,
            [
                "dataset",
                "n_train",
                "hidden",
                "eta",
                "l2",
                "steps",
                "config_hash",
                "dropout",
                "augment",
                "select",
                "patience",
                "cost",
                "output",
                "activation",
                "init",
                "batch_size"
            ]
        );
    }

    #[test]
    fn filters_compare_numbers_as_numbers_and_name_bad_axes() {
        let rs = [
            rec("a", "10", 0.01, 1, 0.9, 0.8),
            rec("b", "2", 0.01, 1, 0.6, 0.6),
        ];
        assert_eq!(
            filter(&rs, "eta=0.010, hidden=10", "--where")
                .unwrap()
                .len(),
            1
        );
        let err = filter(&rs, "colour=red", "--where").unwrap_err();
        assert!(
            err.contains("unknown axis") && err.contains("hidden"),
            "{err}"
        );
        assert!(filter(&rs, "hidden=3", "--where")
            .unwrap_err()
            .contains("no run"));
        let conds = parse_filter("hidden=50,eta=0.02,l2=0,n_train=40", "--group").unwrap();
        assert_eq!(
            describe_filter(&conds),
            "hidden = 50, η = 0.02, l2 = 0, n_train = 40"
        );
    }

    #[test]
    fn a_run_listed_twice_counts_once() {
        let a = rec("a", "10", 0.1, 1, 0.9, 0.8);
        let s = summarize(
            &[a.clone(), a.clone(), rec("b", "10", 0.1, 2, 0.7, 0.6)],
            &[],
        );
        assert_eq!(s.groups.len(), 1);
        assert_eq!(s.groups[0].runs, 2);
    }

    #[test]
    fn pivot_puts_hidden_in_rows_and_eta_in_columns() {
        let rs = [
            rec("a", "10", 0.5, 1, 0.9, 0.8),
            rec("b", "2", 0.5, 1, 0.6, 0.6),
            rec("c", "2", 0.05, 1, 0.7, 0.5),
        ];
        let p = &summarize(&rs, &[]).pivots(Metric::Gap)[0];
        let cols: Vec<String> = p.cols.iter().map(|c| c.to_string()).collect();
        assert_eq!(cols, ["0.05", "0.5"]);
        assert_eq!(p.rows[0].to_string(), "2");
        assert!((p.cells[0][0].unwrap().mean - 0.2).abs() < 1e-12);
        assert_eq!(p.cells[1][0], None);
    }

    #[test]
    fn an_unset_axis_reads_none_in_titles_legends_and_filters_never_an_empty_value() {
        let unset = rec("a", "10", 0.1, 1, 0.9, 0.8);
        let mut fifty = rec("b", "10", 0.1, 1, 0.9, 0.7);
        fifty.patience = Some(50);
        let patience: GroupKey = "patience".parse().unwrap();
        assert_eq!(patience.value(&unset), KeyValue::Unset);
        assert_eq!(
            axis_value(patience, &patience.value(&unset)),
            "patience = none"
        );
        assert_eq!(
            axis_value(patience, &patience.value(&fifty)),
            "patience = 50"
        );
        // Unset sorts before any value, and is what `--where patience=none` (or `patience=`)
        // picks.
        assert!(patience.value(&unset) < patience.value(&fifty));
        let rs = [unset.clone(), fifty.clone()];
        for f in ["patience=none", "patience="] {
            let picked = filter(&rs, f, "--where").unwrap();
            assert_eq!(picked.len(), 1);
            assert_eq!(picked[0].run_id, "a");
        }
        let conds = parse_filter("patience=, eta=0.10", "--where").unwrap();
        assert_eq!(describe_filter(&conds), "patience = none, η = 0.1");
        // A chart's legend and title, from the runs' rows.
        let names = crate::plot::describe_runs(&rs, &["a".into(), "b".into()], &[]);
        assert_eq!(names.group_labels, ["patience = none", "patience = 50"]);
        assert!(!names.common.contains("= ,") && !names.common.ends_with("= "));
        let names = crate::plot::describe_runs(&rs, &["a".into()], &conds);
        assert!(names.common.contains("patience = none"), "{}", names.common);
    }
}
