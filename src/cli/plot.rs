//! `nnsweep plot`: charts from results, curves and model files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use nnsweep::model_file;
use nnsweep::plot::{self, PlotOptions};
use nnsweep::report::{self, GroupKey};

use super::BadInput;

#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Kind {
    /// Train (validation) and test accuracy against hidden size or --x AXIS, one colour per
    /// eta, ± sd over seeds.
    Accuracy,
    /// Heatmap of the mean gap, hidden sizes × etas, values printed in the cells.
    Gap,
    /// Train and test accuracy against the step, from the curves file ([train] log_every):
    /// mean ± sd band per group, seeds faint.
    Curves,
    /// Class regions of a saved 2-D model with its training points (dots) and test points
    /// (rings) ([output] save_models).
    Boundary,
}

#[derive(clap::Args)]
pub struct PlotArgs {
    /// Results files of `nnsweep run` (shards are merged, each run counted once). Not needed
    /// for --kind boundary with --model.
    #[arg(value_name = "RESULTS.csv")]
    files: Vec<PathBuf>,
    #[arg(long, value_enum)]
    kind: Kind,
    /// The chart file; .png or .svg chooses the format.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Width in pixels [default: 900; 800 for boundary].
    #[arg(long)]
    width: Option<u32>,
    /// Height in pixels [default: 600].
    #[arg(long)]
    height: Option<u32>,
    /// Pool results files from different configs (different config_hash).
    #[arg(long)]
    force: bool,
    /// Accuracy: the axis on the x axis (hidden, n_train, l2, dropout, eta, ...) [default:
    /// hidden]; numbers spanning more than 10× go on a log scale.
    #[arg(long, value_name = "AXIS")]
    x: Option<String>,
    /// Curves: the curves file [default: the sweep's, results/<name>/curves.csv].
    #[arg(long, value_name = "FILE")]
    curves: Option<PathBuf>,
    /// Curves: these run ids, comma-separated.
    #[arg(long, value_name = "IDS", conflicts_with = "group")]
    runs: Option<String>,
    /// Accuracy, gap and curves: only the runs with these values, e.g. n_train=500 when a
    /// sweep also varies the training size (other axes would be pooled). Named in the title.
    #[arg(long = "where", value_name = "KEY=VALUE,...")]
    where_: Option<String>,
    /// Curves: every run (seed) of one group, e.g. hidden=10,eta=0.005.
    #[arg(long, value_name = "KEY=VALUE,...")]
    group: Option<String>,
    /// Boundary: the model file to draw.
    #[arg(long, value_name = "FILE", conflicts_with = "run")]
    model: Option<PathBuf>,
    /// Boundary: the run whose saved model to draw, found under results/<name>/models/.
    #[arg(long, value_name = "ID")]
    run: Option<String>,
}

/// Refuses the flags that do not apply to the chosen kind, so a typo'd or misplaced flag is
/// never silently ignored.
fn check_flags(args: &PlotArgs) -> Result<(), BadInput> {
    let given: [(&str, bool, &[Kind]); 7] = [
        ("--x", args.x.is_some(), &[Kind::Accuracy]),
        (
            "--where",
            args.where_.is_some(),
            &[Kind::Accuracy, Kind::Gap, Kind::Curves],
        ),
        ("--curves", args.curves.is_some(), &[Kind::Curves]),
        ("--runs", args.runs.is_some(), &[Kind::Curves]),
        ("--group", args.group.is_some(), &[Kind::Curves]),
        ("--model", args.model.is_some(), &[Kind::Boundary]),
        ("--run", args.run.is_some(), &[Kind::Boundary]),
    ];
    for (flag, present, kinds) in given {
        if present && !kinds.contains(&args.kind) {
            let names: Vec<&str> = kinds.iter().map(|k| kind_name(*k)).collect();
            return Err(BadInput(format!(
                "{flag} does not apply to --kind {}: it is for --kind {}",
                kind_name(args.kind),
                names.join(" or ")
            )));
        }
    }
    Ok(())
}

pub fn plot(args: PlotArgs) -> Result<ExitCode> {
    check_flags(&args)?;
    let slice = match &args.where_ {
        Some(w) => Some(report::parse_filter(w, "--where").map_err(BadInput)?),
        None => None,
    };
    // The boundary chart is square plus a legend: narrower by default, no empty band.
    let default_width = if args.kind == Kind::Boundary {
        800
    } else {
        900
    };
    let opts = PlotOptions {
        out: args.out.clone(),
        width: args.width.unwrap_or(default_width),
        height: args.height.unwrap_or(600),
        slice: slice.as_deref().map(report::describe_filter),
        svg_sink: None,
    };
    let records = || -> Result<Vec<nnsweep::results::RunRecord>> {
        if args.files.is_empty() {
            return Err(BadInput(format!(
                "--kind {} needs a results file: nnsweep plot results/<name>.csv --kind ...",
                kind_name(args.kind)
            ))
            .into());
        }
        let loaded = report::load(&args.files, args.force)?;
        for w in &loaded.warnings {
            eprintln!("warning: {w}");
        }
        Ok(loaded.records)
    };
    match args.kind {
        Kind::Accuracy | Kind::Gap => {
            let mut records = records()?;
            if let Some(filter) = &args.where_ {
                records = plot::select(&records, filter, "--where")?;
            }
            let x: GroupKey = match &args.x {
                Some(x) => x.parse().map_err(|e| BadInput(format!("--x: {e}")))?,
                None => GroupKey::HIDDEN,
            };
            let drawn = if args.kind == Kind::Accuracy {
                [
                    x,
                    if x == GroupKey::ETA {
                        GroupKey::HIDDEN
                    } else {
                        GroupKey::ETA
                    },
                ]
            } else {
                [GroupKey::HIDDEN, GroupKey::ETA]
            };
            let pooled: Vec<&str> = GroupKey::varying(&records)
                .into_iter()
                .filter(|k| !drawn.contains(k))
                .map(GroupKey::name)
                .collect();
            if !pooled.is_empty() {
                eprintln!(
                    "warning: {} also vary; the chart pools them. Draw one slice with --where \
                     (e.g. --where {}=...), or tabulate them apart with `nnsweep report --by`",
                    pooled.join(", "),
                    pooled[0]
                );
            }
            if args.kind == Kind::Accuracy {
                plot::accuracy_chart(&records, x, &opts)?;
            } else {
                plot::gap_heatmap(&records, &opts)?;
            }
        }
        Kind::Curves => {
            let curves_path = match (&args.curves, args.files.first()) {
                (Some(p), _) => p.clone(),
                (None, Some(results)) => plot::curves_path_for(results),
                (None, None) => {
                    return Err(BadInput(
                        "--kind curves needs a results file or --curves FILE".into(),
                    )
                    .into())
                }
            };
            let rows =
                nnsweep::results::read_curves(&curves_path).map_err(|e| BadInput(e.to_string()))?;
            let mut filter = slice.clone().unwrap_or_default();
            let runs: Vec<String> = if let Some(ids) = &args.runs {
                ids.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            } else if let Some(group) = &args.group {
                filter.extend(report::parse_filter(group, "--group").map_err(BadInput)?);
                let mut rs = records()?;
                if let Some(w) = &args.where_ {
                    rs = plot::select(&rs, w, "--where")?;
                }
                plot::runs_matching(&rs, group)?
            } else if let Some(w) = &args.where_ {
                plot::runs_matching(&records()?, w)?
            } else {
                let mut ids: Vec<String> = Vec::new();
                for r in &rows {
                    if !ids.contains(&r.run_id) {
                        ids.push(r.run_id.clone());
                    }
                }
                if ids.len() > plot::MAX_CURVES {
                    return Err(BadInput(format!(
                        "{} holds the curves of {} runs: choose some with --runs ID,ID or \
                         --group hidden=...,eta=... (e.g. --runs {})",
                        curves_path.display(),
                        ids.len(),
                        ids[..2].join(",")
                    ))
                    .into());
                }
                ids
            };
            let names = if args.files.is_empty() {
                plot::describe_runs(&[], &runs, &filter)
            } else {
                plot::describe_runs(&records()?, &runs, &filter)
            };
            // The filter is named in the title by describe_runs, not appended a second time.
            let opts = PlotOptions {
                slice: None,
                ..opts.clone()
            };
            plot::curves_chart(&rows, &runs, &names, &opts)?;
        }
        Kind::Boundary => {
            let path = match (&args.model, &args.run, args.files.first()) {
                (Some(m), _, _) => m.clone(),
                (None, Some(id), Some(results)) => {
                    nnsweep::layout::SweepFiles::of_results(results).model(id)
                }
                _ => {
                    return Err(BadInput(
                        "--kind boundary needs --model FILE, or a results file and --run ID \
                         (models are saved by `nnsweep run` with [output] save_models = true)"
                            .into(),
                    )
                    .into())
                }
            };
            let model = model_file::load(&path)?;
            let record = if args.files.is_empty() {
                None
            } else {
                records()?.into_iter().find(|r| r.run_id == model.run_id)
            };
            plot::boundary_chart(&model, record.as_ref(), &opts)?;
        }
    }
    eprintln!(
        "wrote {} ({}x{} pixels)",
        opts.out.display(),
        opts.width,
        opts.height
    );
    Ok(ExitCode::SUCCESS)
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Accuracy => "accuracy",
        Kind::Gap => "gap",
        Kind::Curves => "curves",
        Kind::Boundary => "boundary",
    }
}
