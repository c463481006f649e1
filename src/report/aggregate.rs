//! Grouping runs by the swept axes and taking mean ± sd over seeds: the numbers every exporter
//! and chart shows, decided here once.

use std::collections::BTreeMap;

use crate::results::RunRecord;

/// One axis a table can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupKey {
    Dataset,
    NTrain,
    Hidden,
    Eta,
    L2,
    Steps,
    ConfigHash,
}

impl GroupKey {
    /// Every key, in the order the automatic grouping uses (outermost first).
    pub const ALL: [GroupKey; 7] = [
        GroupKey::Dataset,
        GroupKey::NTrain,
        GroupKey::Hidden,
        GroupKey::Eta,
        GroupKey::L2,
        GroupKey::Steps,
        GroupKey::ConfigHash,
    ];

    /// The CSV column name, also what `--by` accepts.
    pub fn name(self) -> &'static str {
        match self {
            GroupKey::Dataset => "dataset",
            GroupKey::NTrain => "n_train",
            GroupKey::Hidden => "hidden",
            GroupKey::Eta => "eta",
            GroupKey::L2 => "l2",
            GroupKey::Steps => "steps",
            GroupKey::ConfigHash => "config_hash",
        }
    }

    fn value(self, r: &RunRecord) -> KeyValue {
        match self {
            GroupKey::Dataset => KeyValue::Text(r.dataset.clone()),
            GroupKey::NTrain => KeyValue::Int(r.n_train as u64),
            GroupKey::Hidden => KeyValue::Hidden(HiddenSize::parse(&r.hidden)),
            GroupKey::Eta => KeyValue::Float(OrdF64(r.eta)),
            GroupKey::L2 => KeyValue::Float(OrdF64(r.l2)),
            GroupKey::Steps => KeyValue::Int(r.steps as u64),
            GroupKey::ConfigHash => KeyValue::Text(r.config_hash.clone()),
        }
    }

    /// The grouping used when none is asked: hidden and eta always (the overfitting picture),
    /// plus every other axis that takes more than one value, so no table silently pools runs
    /// that were trained differently.
    pub fn varying(records: &[RunRecord]) -> Vec<GroupKey> {
        GroupKey::ALL
            .into_iter()
            .filter(|&k| {
                matches!(k, GroupKey::Hidden | GroupKey::Eta) || {
                    let mut values = records.iter().map(|r| k.value(r));
                    match values.next() {
                        Some(first) => values.any(|v| v != first),
                        None => false,
                    }
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
            return Err("empty list: name at least one of hidden, eta, l2, steps, n_train, dataset, config_hash".into());
        }
        Ok(keys)
    }
}

impl std::str::FromStr for GroupKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        GroupKey::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown grouping key {s:?}: use hidden, eta, l2, steps, n_train, dataset or config_hash"
                )
            })
    }
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
    Int(u64),
    Text(String),
}

impl std::fmt::Display for KeyValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyValue::Hidden(h) => f.write_str(&h.label),
            // Rust's shortest round-trip form: 0.005, 0.0005, 1e-7.
            KeyValue::Float(x) => write!(f, "{}", x.0),
            KeyValue::Int(n) => write!(f, "{n}"),
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
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::Gap => "gap",
            Metric::TestAcc => "test_acc",
            Metric::TrainAcc => "train_acc",
        }
    }

    /// How the metric is titled where it is shown in percent.
    pub fn title(self) -> &'static str {
        match self {
            Metric::Gap => "gap = train − test (percentage points)",
            Metric::TestAcc => "test accuracy (%)",
            Metric::TrainAcc => "train accuracy (%)",
        }
    }

    fn of(self, g: &Group) -> Stat {
        match self {
            Metric::Gap => g.gap,
            Metric::TestAcc => g.test_acc,
            Metric::TrainAcc => g.train_acc,
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
            _ => Err(format!(
                "unknown metric {s:?}: use gap, test_acc or train_acc"
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
    pub test_acc: Stat,
    pub gap: Stat,
}

/// An overfitting table: one row per group, sorted by the keys in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub keys: Vec<GroupKey>,
    pub groups: Vec<Group>,
}

/// Groups runs by `by` (or by [`GroupKey::varying`] when `by` is empty) and takes mean ± sample
/// sd of best train accuracy, its model's test accuracy and their gap.
///
/// Each (run_id, config_hash) counts once, the first row kept, so a file that holds a run twice
/// cannot weigh it double; [`load`] says when such rows disagree.
pub fn summarize(records: &[RunRecord], by: &[GroupKey]) -> Summary {
    let keys = if by.is_empty() {
        GroupKey::varying(records)
    } else {
        by.to_vec()
    };
    let mut seen = std::collections::HashSet::new();
    let mut grouped: BTreeMap<Vec<KeyValue>, Vec<&RunRecord>> = BTreeMap::new();
    for r in records {
        if seen.insert((r.run_id.as_str(), r.config_hash.as_str())) {
            let key = keys.iter().map(|k| k.value(r)).collect();
            grouped.entry(key).or_default().push(r);
        }
    }
    let groups = grouped
        .into_iter()
        .map(|(key, rs)| {
            let stat =
                |f: fn(&RunRecord) -> f64| Stat::of(&rs.iter().map(|r| f(r)).collect::<Vec<_>>());
            Group {
                key,
                runs: rs.len(),
                diverged: rs.iter().filter(|r| r.diverged).count(),
                train_acc: stat(|r| r.train_acc),
                test_acc: stat(|r| r.test_acc),
                gap: stat(|r| r.gap),
            }
        })
        .collect();
    Summary { keys, groups }
}

/// One metric laid out with hidden sizes as rows and etas as columns, for one combination of the
/// other grouping keys (one pivot per l2 value, say, so that no cell pools different recipes).
#[derive(Debug, Clone, PartialEq)]
pub struct Pivot {
    pub metric: Metric,
    /// The other keys and the value they hold in this pivot; empty when only hidden and eta vary.
    pub fixed: Vec<(GroupKey, KeyValue)>,
    pub hidden: Vec<HiddenSize>,
    pub etas: Vec<f64>,
    /// `cells[row][col]`: the metric for (hidden[row], etas[col]); `None` where no run was made.
    pub cells: Vec<Vec<Option<Stat>>>,
}

impl Summary {
    /// The pivots of `metric`, or none when the summary is not grouped by both hidden and eta.
    pub fn pivots(&self, metric: Metric) -> Vec<Pivot> {
        let (Some(hi), Some(ei)) = (
            self.keys.iter().position(|&k| k == GroupKey::Hidden),
            self.keys.iter().position(|&k| k == GroupKey::Eta),
        ) else {
            return Vec::new();
        };
        let mut by_rest: BTreeMap<Vec<KeyValue>, Vec<&Group>> = BTreeMap::new();
        for g in &self.groups {
            let rest = g
                .key
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != hi && *i != ei)
                .map(|(_, v)| v.clone())
                .collect();
            by_rest.entry(rest).or_default().push(g);
        }
        let rest_keys: Vec<GroupKey> = self
            .keys
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != hi && *i != ei)
            .map(|(_, &k)| k)
            .collect();
        by_rest
            .into_iter()
            .map(|(rest, groups)| {
                let hidden_of = |g: &Group| match &g.key[hi] {
                    KeyValue::Hidden(h) => h.clone(),
                    other => unreachable!("hidden key holds {other:?}"),
                };
                let eta_of = |g: &Group| match &g.key[ei] {
                    KeyValue::Float(x) => *x,
                    other => unreachable!("eta key holds {other:?}"),
                };
                let mut hidden: Vec<HiddenSize> = groups.iter().map(|g| hidden_of(g)).collect();
                hidden.sort();
                hidden.dedup();
                let mut etas: Vec<OrdF64> = groups.iter().map(|g| eta_of(g)).collect();
                etas.sort();
                etas.dedup();
                let mut cells = vec![vec![None; etas.len()]; hidden.len()];
                for g in groups {
                    let row = hidden
                        .binary_search(&hidden_of(g))
                        .expect("collected above");
                    let col = etas.binary_search(&eta_of(g)).expect("collected above");
                    cells[row][col] = Some(metric.of(g));
                }
                Pivot {
                    metric,
                    fixed: rest_keys.iter().copied().zip(rest).collect(),
                    hidden,
                    etas: etas.into_iter().map(|e| e.0).collect(),
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
            [GroupKey::Hidden, GroupKey::Eta]
        );
        a.l2 = 0.01;
        assert_eq!(
            GroupKey::varying(&[a, b]),
            [GroupKey::Hidden, GroupKey::Eta, GroupKey::L2]
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
        assert_eq!(p.etas, [0.05, 0.5]);
        assert_eq!(p.hidden[0].label, "2");
        assert!((p.cells[0][0].unwrap().mean - 0.2).abs() < 1e-12);
        assert_eq!(p.cells[1][0], None);
    }
}
