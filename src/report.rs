//! Overfitting tables: results rows grouped by the swept axes, mean ± sd over seeds.
//!
//! Reads only [`RunRecord`]s, so it works the same on one file, on the shards of a SLURM array
//! and on a sweep resumed over several days. Accuracies stay fractions in the CSV output (for
//! pandas and spreadsheets) and are shown in percent in Markdown and LaTeX (for people).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::results::{read_records, ReadError, RunRecord, COLUMNS};

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

/// Which tables an output holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tables {
    Long,
    Pivot,
    Both,
}

/// The output formats of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Csv,
    Latex,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "md" | "markdown" => Ok(Format::Markdown),
            "csv" => Ok(Format::Csv),
            "latex" | "tex" => Ok(Format::Latex),
            _ => Err(format!("unknown format {s:?}: use md, csv or latex")),
        }
    }
}

const NOTE: &str = "mean ± sd over seeds, sd = sample standard deviation (n − 1), \
no ± for a single run. Train accuracy is the best reached during training; test accuracy is \
that same model's; gap = train − test in percentage points. Diverged runs are included with the \
figures they reached before their cost became NaN.";

fn pct(x: f64) -> String {
    format!("{:.1}", 100.0 * x)
}

fn pm_text(s: Stat) -> String {
    match s.sd {
        Some(sd) => format!("{} ± {}", pct(s.mean), pct(sd)),
        None => pct(s.mean),
    }
}

fn pm_latex(s: Stat) -> String {
    match s.sd {
        Some(sd) => format!("${} \\pm {}$", pct(s.mean), pct(sd)),
        None => format!("${}$", pct(s.mean)),
    }
}

fn fixed_caption(p: &Pivot) -> String {
    p.fixed
        .iter()
        .map(|(k, v)| format!("{} = {v}", k.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Markdown: the long table and/or one pivot per combination of the other keys.
pub fn to_markdown(summary: &Summary, metric: Metric, tables: Tables) -> String {
    let mut out = String::new();
    let (runs, diverged) = summary.totals();
    let _ = writeln!(
        out,
        "Overfitting over {runs} runs ({diverged} diverged): {NOTE}\n"
    );
    if tables != Tables::Pivot {
        let mut header: Vec<String> = summary.keys.iter().map(|k| k.name().to_string()).collect();
        header.extend(
            [
                "runs",
                "diverged",
                "train acc (%)",
                "test acc (%)",
                "gap (pp)",
            ]
            .map(String::from),
        );
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let _ = writeln!(out, "|{}", "---:|".repeat(header.len()));
        for g in &summary.groups {
            let mut row: Vec<String> = g.key.iter().map(|v| md_escape(&v.to_string())).collect();
            row.push(g.runs.to_string());
            row.push(g.diverged.to_string());
            row.push(pm_text(g.train_acc));
            row.push(pm_text(g.test_acc));
            row.push(pm_text(g.gap));
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        out.push('\n');
    }
    if tables != Tables::Long {
        for p in summary.pivots(metric) {
            let fixed = fixed_caption(&p);
            let _ = write!(
                out,
                "{}: hidden (rows) × eta (columns)",
                capitalize(metric.title())
            );
            if !fixed.is_empty() {
                let _ = write!(out, ", {fixed}");
            }
            out.push_str("\n\n");
            let _ = write!(out, "| hidden \\ eta |");
            for e in &p.etas {
                let _ = write!(out, " {e} |");
            }
            out.push('\n');
            let _ = writeln!(out, "|---:|{}", "---:|".repeat(p.etas.len()));
            for (h, row) in p.hidden.iter().zip(&p.cells) {
                let _ = write!(out, "| {} |", md_escape(&h.label));
                for c in row {
                    let _ = write!(out, " {} |", c.map_or("–".to_string(), pm_text));
                }
                out.push('\n');
            }
            out.push('\n');
        }
    }
    out
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
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

fn tex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            _ => out.push(c),
        }
    }
    out
}

fn tex_key(v: &KeyValue) -> String {
    match v {
        // "30x30" reads as 30×30 on a slide.
        KeyValue::Hidden(h) if h.layers.is_some() => h.label.replace('x', "$\\times$"),
        other => tex_escape(&other.to_string()),
    }
}

/// LaTeX `tabular`s with booktabs rules (`\usepackage{booktabs}`), without a float around them so
/// they can be `\input` into a `table` or straight onto a Beamer frame.
pub fn to_latex(summary: &Summary, metric: Metric, tables: Tables) -> String {
    let mut out = String::new();
    let (runs, diverged) = summary.totals();
    let _ = writeln!(
        out,
        "% nnsweep report over {runs} runs ({diverged} diverged); needs \\usepackage{{booktabs}}."
    );
    let _ = writeln!(out, "% {}", NOTE.replace('±', "+-").replace('−', "-"));
    if tables != Tables::Pivot {
        let n_keys = summary.keys.len();
        let _ = writeln!(out, "\\begin{{tabular}}{{{}rrccc}}", "r".repeat(n_keys));
        out.push_str("\\toprule\n");
        let mut header: Vec<String> = summary
            .keys
            .iter()
            .map(|k| match k {
                GroupKey::Eta => "$\\eta$".to_string(),
                GroupKey::L2 => "$\\lambda$".to_string(),
                other => tex_escape(other.name()),
            })
            .collect();
        header.extend(
            [
                "runs",
                "div.",
                "train acc (\\%)",
                "test acc (\\%)",
                "gap (pp)",
            ]
            .map(String::from),
        );
        let _ = writeln!(out, "{} \\\\", header.join(" & "));
        out.push_str("\\midrule\n");
        for g in &summary.groups {
            let mut row: Vec<String> = g.key.iter().map(tex_key).collect();
            row.push(g.runs.to_string());
            row.push(g.diverged.to_string());
            row.push(pm_latex(g.train_acc));
            row.push(pm_latex(g.test_acc));
            row.push(pm_latex(g.gap));
            let _ = writeln!(out, "{} \\\\", row.join(" & "));
        }
        out.push_str("\\bottomrule\n\\end{tabular}\n");
    }
    if tables != Tables::Long {
        for p in summary.pivots(metric) {
            let fixed = fixed_caption(&p);
            let _ = writeln!(
                out,
                "\n% {}: hidden (rows) x eta (columns){}",
                metric.title().replace('−', "-"),
                if fixed.is_empty() {
                    String::new()
                } else {
                    format!(", {fixed}")
                }
            );
            let _ = writeln!(out, "\\begin{{tabular}}{{r{}}}", "c".repeat(p.etas.len()));
            out.push_str("\\toprule\n");
            let _ = writeln!(
                out,
                " & \\multicolumn{{{}}}{{c}}{{$\\eta$}} \\\\",
                p.etas.len()
            );
            let _ = writeln!(out, "\\cmidrule(lr){{2-{}}}", p.etas.len() + 1);
            let etas: Vec<String> = p.etas.iter().map(|e| format!("{e}")).collect();
            let _ = writeln!(out, "hidden & {} \\\\", etas.join(" & "));
            out.push_str("\\midrule\n");
            for (h, row) in p.hidden.iter().zip(&p.cells) {
                let cells: Vec<String> = row
                    .iter()
                    .map(|c| c.map_or("--".to_string(), pm_latex))
                    .collect();
                let _ = writeln!(
                    out,
                    "{} & {} \\\\",
                    tex_key(&KeyValue::Hidden(h.clone())),
                    cells.join(" & ")
                );
            }
            out.push_str("\\bottomrule\n\\end{tabular}\n");
        }
    }
    out
}

/// Renders a summary in one format.
pub fn render(
    summary: &Summary,
    format: Format,
    metric: Metric,
    tables: Tables,
) -> Result<String, String> {
    match format {
        Format::Markdown => Ok(to_markdown(summary, metric, tables)),
        Format::Csv => to_csv(summary, metric, tables),
        Format::Latex => Ok(to_latex(summary, metric, tables)),
    }
}

/// Why results files could not be turned into a report. Every variant is the user's input
/// (exit code 2 in the CLI).
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("cannot write {path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path} is not a results file of `nnsweep run`: {why}")]
    NotResults { path: PathBuf, why: String },
    #[error("no finished run in {files}: nothing to report")]
    Empty { files: String },
    #[error(
        "the files come from different configs (config_hash differs):\n{listing}\n\
         Their runs were trained with different data or recipes. Report them separately, \
         or pass --force to pool them anyway."
    )]
    MixedConfigs { listing: String },
}

/// Records from one or several results files, each run once, with what was noticed on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub records: Vec<RunRecord>,
    /// Things the reader should know but that do not stop the report (disagreeing duplicates).
    pub warnings: Vec<String>,
}

/// Reads results files (the shards of one sweep, or one sweep resumed) and merges them.
///
/// Refuses files from different configs unless `force`; the same run_id in two rows counts once
/// (the first), with a warning when the rows differ in more than the machine-dependent
/// `seconds`, since a deterministic run should give the same numbers twice.
pub fn load(paths: &[PathBuf], force: bool) -> Result<Loaded, ReportError> {
    let mut sets = Vec::new();
    for path in paths {
        check_header(path)?;
        sets.push((path.clone(), read_records(path)?));
    }
    merge(sets, force)
}

fn check_header(path: &Path) -> Result<(), ReportError> {
    let text = std::fs::read(path).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let first = text.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let first = String::from_utf8_lossy(first);
    let have: Vec<&str> = first
        .trim_end_matches('\r')
        .split(',')
        .map(str::trim)
        .collect();
    let missing: Vec<&str> = COLUMNS
        .iter()
        .copied()
        .filter(|c| !have.contains(c))
        .collect();
    let why = if missing.is_empty() {
        return Ok(());
    } else if have == ["run_id", "step", "train_acc", "test_acc", "cost"] {
        "it is a learning-curves file (plot it with `nnsweep plot RESULTS.csv --kind curves`)"
            .to_string()
    } else if missing.len() <= 3 {
        format!("its header lacks the column(s) {}", missing.join(", "))
    } else {
        format!(
            "its first line lacks {} of the {} columns (run_id, dataset, n_train, ...)",
            missing.len(),
            COLUMNS.len()
        )
    };
    Err(ReportError::NotResults {
        path: path.to_path_buf(),
        why,
    })
}

/// Merges already-read record sets; see [`load`].
pub fn merge(sets: Vec<(PathBuf, Vec<RunRecord>)>, force: bool) -> Result<Loaded, ReportError> {
    let files = sets
        .iter()
        .map(|(p, _)| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    // config_hash -> (files holding it, runs)
    let mut hashes: BTreeMap<&str, (Vec<String>, usize)> = BTreeMap::new();
    for (path, records) in &sets {
        for r in records {
            let e = hashes.entry(r.config_hash.as_str()).or_default();
            let name = path.display().to_string();
            if !e.0.contains(&name) {
                e.0.push(name);
            }
            e.1 += 1;
        }
    }
    if hashes.len() > 1 && !force {
        let listing = hashes
            .iter()
            .map(|(h, (files, n))| format!("  config_hash {h}: {n} rows in {}", files.join(", ")))
            .collect::<Vec<_>>()
            .join("\n");
        return Err(ReportError::MixedConfigs { listing });
    }
    let mut warnings = Vec::new();
    let mut first_seen: std::collections::HashMap<(String, String), (usize, String)> =
        std::collections::HashMap::new();
    let mut records: Vec<RunRecord> = Vec::new();
    for (path, set) in sets {
        for r in set {
            let id = (r.run_id.clone(), r.config_hash.clone());
            match first_seen.get(&id) {
                None => {
                    first_seen.insert(id, (records.len(), path.display().to_string()));
                    records.push(r);
                }
                Some((i, first_path)) => {
                    let diffs = differing_fields(&records[*i], &r);
                    if !diffs.is_empty() {
                        warnings.push(format!(
                            "run {} appears in {first_path} and in {} with different {}; \
                             the first row is kept",
                            r.run_id,
                            path.display(),
                            diffs.join(", ")
                        ));
                    }
                }
            }
        }
    }
    if records.is_empty() {
        return Err(ReportError::Empty { files });
    }
    Ok(Loaded { records, warnings })
}

/// The columns in which two rows of the same run disagree, ignoring `seconds` (wall-clock time
/// is the one column allowed to change from one machine to another).
fn differing_fields(a: &RunRecord, b: &RunRecord) -> Vec<&'static str> {
    fn same(x: f64, y: f64) -> bool {
        x == y || (x.is_nan() && y.is_nan())
    }
    let mut d = Vec::new();
    macro_rules! cmp_eq {
        ($($f:ident),*) => { $( if a.$f != b.$f { d.push(stringify!($f)); } )* };
    }
    macro_rules! cmp_f {
        ($($f:ident),*) => { $( if !same(a.$f, b.$f) { d.push(stringify!($f)); } )* };
    }
    cmp_eq!(dataset, n_train, n_test, hidden, n_params, seed, steps, best_step, diverged);
    cmp_f!(
        eta,
        l2,
        train_acc,
        test_acc,
        gap,
        final_train_acc,
        final_test_acc,
        final_cost
    );
    d
}

/// Writes `summary.md`, `summary.csv` (long table) and `summary.tex` into the sweep's folder
/// (see [`crate::layout`]), grouped automatically, pivot on the gap: what `nnsweep run` leaves at the end of a sweep.
pub fn write_summaries(results_csv: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let loaded = load(&[results_csv.to_path_buf()], false)?;
    let summary = summarize(&loaded.records, &[]);
    let files = crate::layout::SweepFiles::of_results(results_csv);
    std::fs::create_dir_all(files.dir()).map_err(|error| ReportError::Write {
        path: files.dir().to_path_buf(),
        error,
    })?;
    let mut written = Vec::new();
    for (ext, text) in [
        ("md", to_markdown(&summary, Metric::Gap, Tables::Both)),
        (
            "csv",
            to_csv(&summary, Metric::Gap, Tables::Long).expect("long table is one table"),
        ),
        ("tex", to_latex(&summary, Metric::Gap, Tables::Both)),
    ] {
        let path = files.summary(ext);
        std::fs::write(&path, text).map_err(|error| ReportError::Write {
            path: path.clone(),
            error,
        })?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(run_id: &str, hidden: &str, eta: f64, seed: u64, train: f64, test: f64) -> RunRecord {
        RunRecord {
            run_id: run_id.into(),
            dataset: "circles".into(),
            n_train: 400,
            n_test: 100,
            hidden: hidden.into(),
            n_params: 0,
            eta,
            l2: 0.0,
            seed,
            steps: 100,
            best_step: 50,
            train_acc: train,
            test_acc: test,
            gap: train - test,
            final_train_acc: train,
            final_test_acc: test,
            final_cost: 1.0,
            diverged: false,
            seconds: 0.5,
            config_hash: "h".into(),
            n_val: None,
            dropout: 0.0,
            augment: "none".into(),
            select: "train".into(),
            patience: None,
            val_acc: None,
            final_val_acc: None,
            stopped_step: None,
        }
    }

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
    fn merge_warns_on_disagreeing_duplicates_but_not_on_seconds() {
        let a = rec("a", "10", 0.1, 1, 0.9, 0.8);
        let mut a_slower = a.clone();
        a_slower.seconds = 9.0;
        let mut a_other = a.clone();
        a_other.test_acc = 0.5;
        let loaded = merge(
            vec![
                ("one.csv".into(), vec![a.clone()]),
                ("two.csv".into(), vec![a_slower]),
                ("three.csv".into(), vec![a_other]),
            ],
            false,
        )
        .unwrap();
        assert_eq!(loaded.records, vec![a]);
        assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
        assert!(loaded.warnings[0].contains("test_acc"));
        assert!(loaded.warnings[0].contains("three.csv"));
    }

    #[test]
    fn mixed_config_hashes_need_force() {
        let a = rec("a", "10", 0.1, 1, 0.9, 0.8);
        let mut b = rec("b", "10", 0.1, 2, 0.9, 0.8);
        b.config_hash = "other".into();
        let sets = vec![("x.csv".into(), vec![a]), ("y.csv".into(), vec![b])];
        let err = merge(sets.clone(), false).unwrap_err().to_string();
        assert!(err.contains("--force") && err.contains("y.csv"), "{err}");
        assert_eq!(merge(sets, true).unwrap().records.len(), 2);
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
