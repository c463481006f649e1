//! Grouping runs by the swept axes and taking mean ± sd over seeds: the numbers every exporter
//! and chart shows, decided here once.

use std::collections::BTreeMap;

use crate::results::{RunRecord, COLUMNS};

/// One axis column of the results file: a setting of the run (hidden, eta, l2, n_train, and
/// whatever axis the results file gains, such as dropout), as opposed to what the run measured.
///
/// Generic over the columns of [`COLUMNS`], so an axis added to the results file groups,
/// filters and pivots with no change here. Which columns are not axes is decided once, in
/// [`GroupKey::is_axis`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey(&'static str);

/// Columns that are not axes: the run's identity, its seed (what the tables average over),
/// sizes that follow from the axes, and outcomes. Columns ending in `_acc` or starting with
/// `final_` are outcomes too.
const NOT_AXES: &[&str] = &[
    "run_id",
    "n_test",
    "n_val",
    "n_params",
    "seed",
    "best_step",
    "stopped_step",
    "gap",
    "diverged",
    "seconds",
];

impl GroupKey {
    /// Hidden-layer sizes: the rows of the default pivot.
    pub const HIDDEN: GroupKey = GroupKey("hidden");
    /// The learning rate: the columns of the default pivot.
    pub const ETA: GroupKey = GroupKey("eta");

    /// True when `column` of the results file is a setting of the run.
    pub fn is_axis(column: &str) -> bool {
        !NOT_AXES.contains(&column) && !column.ends_with("_acc") && !column.starts_with("final_")
    }

    /// Every axis of the results file, in its column order (outermost first when grouping).
    pub fn all() -> Vec<GroupKey> {
        COLUMNS
            .iter()
            .copied()
            .filter(|c| GroupKey::is_axis(c))
            .map(GroupKey)
            .collect()
    }

    /// The CSV column name, also what `--by`, `--rows`, `--cols` and `--where` accept.
    pub fn name(self) -> &'static str {
        self.0
    }

    fn index(self) -> usize {
        COLUMNS
            .iter()
            .position(|c| *c == self.0)
            .expect("a GroupKey is made from COLUMNS only")
    }

    /// The value of this axis in one run.
    pub fn value(self, r: &RunRecord) -> KeyValue {
        KeyValue::of(self, &fields(r)[self.index()])
    }

    fn value_in(self, fields: &[String]) -> KeyValue {
        KeyValue::of(self, &fields[self.index()])
    }

    /// The grouping used when none is asked: hidden and eta always (the overfitting picture),
    /// plus every other axis that takes more than one value, so no table silently pools runs
    /// that were trained differently.
    pub fn varying(records: &[RunRecord]) -> Vec<GroupKey> {
        let rows: Vec<Vec<String>> = records.iter().map(fields).collect();
        GroupKey::all()
            .into_iter()
            .filter(|&k| {
                k == GroupKey::HIDDEN || k == GroupKey::ETA || {
                    let i = k.index();
                    rows.iter().any(|r| r[i] != rows[0][i])
                }
            })
            .collect()
    }

    /// Parses a comma-separated `--by` list such as `hidden,eta,l2`.
    pub fn parse_list(s: &str) -> Result<Vec<GroupKey>, String> {
        let mut keys = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let key: GroupKey = part.parse()?;
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        if keys.is_empty() {
            return Err(format!("empty list: name at least one of {}", axis_names()));
        }
        Ok(keys)
    }
}

fn axis_names() -> String {
    GroupKey::all()
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl std::str::FromStr for GroupKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        GroupKey::all()
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown axis {s:?}: use one of {}", axis_names()))
    }
}

/// A run's values as the results file writes them, in [`COLUMNS`] order: how axes and optional
/// columns are read by name without this module naming every field of [`RunRecord`].
pub(crate) fn fields(r: &RunRecord) -> Vec<String> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    let row = w
        .serialize(r)
        .ok()
        .and_then(|_| w.into_inner().ok())
        .and_then(|bytes| {
            csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(bytes.as_slice())
                .records()
                .next()
                .and_then(Result::ok)
        });
    let mut out: Vec<String> = row
        .map(|r| r.iter().map(String::from).collect())
        .unwrap_or_default();
    out.resize(COLUMNS.len(), String::new());
    out
}

/// The value of an optional column (e.g. `val_acc`) in `fields`, when the results file has that
/// column and the run a number in it.
fn optional(fields: &[String], column: &str) -> Option<f64> {
    let i = COLUMNS.iter().position(|c| *c == column)?;
    fields[i].parse::<f64>().ok().filter(|v| v.is_finite())
}

/// An f64 with a total order, so that group keys can be sorted and compared.
#[derive(Debug, Clone, Copy)]
pub struct OrdF64(pub f64);

impl PartialEq for OrdF64 {
    fn eq(&self, other: &Self) -> bool {
        self.0.total_cmp(&other.0).is_eq()
    }
}
impl Eq for OrdF64 {}
impl PartialOrd for OrdF64 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OrdF64 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// A hidden-layer description ("30", "30x30") ordered as a person expects: one-layer networks
/// by size ("2" < "10" < "100"), then two-layer ones, and so on. A plain string order would put
/// "10" before "2".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiddenSize {
    /// The text as written in the results file.
    pub label: String,
    /// Layer sizes, or `None` when the text is not sizes joined by "x" (sorted last, by text).
    pub layers: Option<Vec<u64>>,
}

impl HiddenSize {
    pub fn parse(label: &str) -> Self {
        let layers = if label.trim().is_empty() {
            Some(Vec::new())
        } else {
            label
                .split('x')
                .map(|p| p.trim().parse::<u64>().ok())
                .collect::<Option<Vec<u64>>>()
        };
        HiddenSize {
            label: label.to_string(),
            layers,
        }
    }

    /// The size of a one-hidden-layer network, which the accuracy chart can put on a log axis.
    pub fn single(&self) -> Option<u64> {
        match self.layers.as_deref() {
            Some([n]) => Some(*n),
            _ => None,
        }
    }
}

impl PartialOrd for HiddenSize {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for HiddenSize {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (&self.layers, &other.layers) {
            (Some(a), Some(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then_with(|| self.label.cmp(&other.label))
    }
}

/// The value one group takes on one key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyValue {
    Hidden(HiddenSize),
    Float(OrdF64),
    Text(String),
}

impl KeyValue {
    /// Reads `text`, the column `key` of a results row: hidden sizes by their layers, numbers
    /// as numbers (so 0.0005 sorts before 0.001, and 500 before 1000), anything else as text.
    pub fn of(key: GroupKey, text: &str) -> KeyValue {
        if key == GroupKey::HIDDEN {
            return KeyValue::Hidden(HiddenSize::parse(text));
        }
        match text.trim().parse::<f64>() {
            Ok(x) if !text.trim().is_empty() => KeyValue::Float(OrdF64(x)),
            _ => KeyValue::Text(text.to_string()),
        }
    }

    /// The number this value stands for on a chart's axis: a float, or a one-layer size.
    pub fn number(&self) -> Option<f64> {
        match self {
            KeyValue::Float(x) => Some(x.0),
            KeyValue::Hidden(h) => h.single().map(|n| n as f64),
            KeyValue::Text(_) => None,
        }
    }

    /// True when `text` (from a `--where` or `--group` filter) names this value: numbers
    /// compare as numbers (`eta=0.010` matches 0.01), everything else as written.
    pub fn matches(&self, text: &str) -> bool {
        match (self, text.trim().parse::<f64>()) {
            (KeyValue::Float(x), Ok(want)) => x.0 == want,
            _ => self.to_string() == text.trim(),
        }
    }
}

impl std::fmt::Display for KeyValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyValue::Hidden(h) => f.write_str(&h.label),
            // Rust's shortest round-trip form: 0.005, 0.0005, 1e-7.
            KeyValue::Float(x) => write!(f, "{}", x.0),
            KeyValue::Text(s) => f.write_str(s),
        }
    }
}

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
    /// `cells[row][col]`: the metric for (rows[row], cols[col]); `None` where no run was made.
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

/// The records whose axes match `filter` (`key=value` pairs, e.g. `n_train=500,l2=0`): one
/// slice of a sweep that varies more axes than a table or chart shows. `flag` names the option
/// in messages (`--where`, `--group`).
pub fn filter(records: &[RunRecord], filter: &str, flag: &str) -> Result<Vec<RunRecord>, String> {
    let conds = parse_filter(filter, flag)?;
    let selected: Vec<RunRecord> = records
        .iter()
        .filter(|r| {
            let fields = fields(r);
            conds.iter().all(|(k, v)| k.value_in(&fields).matches(v))
        })
        .cloned()
        .collect();
    if selected.is_empty() {
        return Err(format!("no run in the results matches {flag} {filter}"));
    }
    Ok(selected)
}

/// `key=value,...` as (axis, value) pairs; the one reading of a filter, so titles and
/// selection agree.
pub fn parse_filter(filter: &str, flag: &str) -> Result<Vec<(GroupKey, String)>, String> {
    let mut conds = Vec::new();
    for part in filter.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').ok_or_else(|| {
            format!("{flag} {filter:?}: write key=value pairs, e.g. hidden=10,eta=0.005")
        })?;
        let key: GroupKey = k.trim().parse().map_err(|e| format!("{flag}: {e}"))?;
        conds.push((key, v.trim().to_string()));
    }
    if conds.is_empty() {
        return Err(format!(
            "{flag} is empty: write key=value pairs, e.g. n_train=500"
        ));
    }
    Ok(conds)
}

/// A filter as a title says it: `hidden = 50, η = 0.02, n_train = 40`.
pub fn describe_filter(conds: &[(GroupKey, String)]) -> String {
    conds
        .iter()
        .map(|(k, v)| format!("{} = {v}", axis_title(*k)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How an axis is named in titles and legends: η for eta, λ (l2) for l2, else the column.
pub fn axis_title(k: GroupKey) -> &'static str {
    match k.name() {
        "eta" => "η",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
                "config_hash"
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
}
