//! The axes of a sweep: which columns of the results file are settings of a run (and so can
//! group, pivot and filter), the values they take, and how a `key=value` filter is read and
//! said. Decided here once for tables, charts and the page.

use crate::results::{all_columns, RunRecord};

/// One axis column of the results file: a setting of the run (hidden, eta, l2, n_train, and
/// whatever axis the results file gains, such as dropout), as opposed to what the run measured.
///
/// Generic over the columns of [`all_columns`], so an axis added to the results file groups,
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
        all_columns()
            .filter(|c| GroupKey::is_axis(c))
            .map(GroupKey)
            .collect()
    }

    /// The CSV column name, also what `--by`, `--rows`, `--cols` and `--where` accept.
    pub fn name(self) -> &'static str {
        self.0
    }

    fn index(self) -> usize {
        all_columns()
            .position(|c| c == self.0)
            .expect("a GroupKey is made from the results columns only")
    }

    /// The value of this axis in one run.
    pub fn value(self, r: &RunRecord) -> KeyValue {
        KeyValue::of(self, &fields(r)[self.index()])
    }

    pub(crate) fn value_in(self, fields: &[String]) -> KeyValue {
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

/// A run's values as the results file writes them, in [`all_columns`] order: how axes and optional
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
    out.resize(all_columns().count(), String::new());
    out
}

/// The value of an optional column (e.g. `val_acc`) in `fields`, when the results file has that
/// column and the run a number in it.
pub(crate) fn optional(fields: &[String], column: &str) -> Option<f64> {
    let i = all_columns().position(|c| c == column)?;
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
    /// An empty cell: a setting the run did not use (`patience` unset: it never stopped
    /// early). Shown as "none", never as nothing after an `=`.
    Unset,
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
        if text.trim().is_empty() {
            return KeyValue::Unset;
        }
        match text.trim().parse::<f64>() {
            Ok(x) => KeyValue::Float(OrdF64(x)),
            _ => KeyValue::Text(text.to_string()),
        }
    }

    /// The number this value stands for on a chart's axis: a float, or a one-layer size.
    pub fn number(&self) -> Option<f64> {
        match self {
            KeyValue::Float(x) => Some(x.0),
            KeyValue::Hidden(h) => h.single().map(|n| n as f64),
            KeyValue::Text(_) | KeyValue::Unset => None,
        }
    }

    /// True when `text` (from a `--where` or `--group` filter) names this value: numbers
    /// compare as numbers (`eta=0.010` matches 0.01), everything else as written.
    pub fn matches(&self, text: &str) -> bool {
        match (self, text.trim().parse::<f64>()) {
            (KeyValue::Unset, _) => text.trim().is_empty() || text.trim() == UNSET,
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
            KeyValue::Unset => f.write_str(UNSET),
        }
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

/// How an unset value reads in titles, labels and filters (`--where patience=none`).
const UNSET: &str = "none";

/// A filter as a title says it: `hidden = 50, η = 0.02, n_train = 40`; values as the results
/// show them (`eta=0.010` reads 0.01, `patience=` reads none).
pub fn describe_filter(conds: &[(GroupKey, String)]) -> String {
    conds
        .iter()
        .map(|(k, v)| axis_value(*k, &KeyValue::of(*k, v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `η = 0.005`, `patience = none`: how every title, legend and caption names an axis and its
/// value, so that none of them prints a key with nothing after its `=`.
pub fn axis_value(k: GroupKey, v: &KeyValue) -> String {
    format!("{} = {v}", axis_title(k))
}

/// How an axis is named in titles and legends: η for eta, λ (l2) for l2, else the column.
pub fn axis_title(k: GroupKey) -> &'static str {
    match k.name() {
        "eta" => "η",
        other => other,
    }
}
