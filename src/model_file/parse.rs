//! Reading a model file: line by line, every header checked against the sizes line, every
//! allocation bounded by the bytes present, every error naming its line (the caller adds the
//! file's name).

use ndarray::{Array1, Array2};

use super::{Points, SavedModel, MAGIC, TEST_POINTS_SINCE, VERSION};
use crate::nn::{Activation, Functions, Network, Output};

/// The file's lines, numbered from 1, remembering the last one read for errors at the end.
struct Lines<'a> {
    inner: std::iter::Peekable<std::iter::Enumerate<std::str::Lines<'a>>>,
    last: usize,
}

impl<'a> Lines<'a> {
    fn next(&mut self, what: &str) -> Result<(usize, &'a str), (usize, String)> {
        match self.inner.next() {
            Some((i, l)) => {
                self.last = i + 1;
                Ok((i + 1, l.trim()))
            }
            None => Err((
                self.last + 1,
                format!("the file ends where {what} was expected (truncated?)"),
            )),
        }
    }

    /// A header line `word a b …`: returns the numbers after `word`.
    fn header(&mut self, word: &str, count: usize) -> Result<(usize, Vec<usize>), (usize, String)> {
        let (n, line) = self.next(&format!("a \"{word}\" line"))?;
        let mut parts = line.split_whitespace();
        if parts.next() != Some(word) {
            return Err((
                n,
                format!("expected a line starting with \"{word}\", found {line:?}"),
            ));
        }
        let nums = parts
            .map(|p| p.parse::<usize>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                (
                    n,
                    format!("\"{word}\" must be followed by whole numbers: {line:?}"),
                )
            })?;
        if nums.len() != count {
            return Err((
                n,
                format!("\"{word}\" takes {count} numbers, found {line:?}"),
            ));
        }
        Ok((n, nums))
    }

    fn numbers(&mut self, count: usize, what: &str) -> Result<Vec<f64>, (usize, String)> {
        let (n, line) = self.next(what)?;
        let values = line
            .split_whitespace()
            .map(|p| {
                p.parse::<f64>()
                    .map_err(|_| (n, format!("{p:?} is not a number")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if values.len() != count {
            return Err((
                n,
                format!("{what}: expected {count} numbers, found {}", values.len()),
            ));
        }
        Ok(values)
    }
}

/// Checks, before allocating, that `rows × cols` numbers can be in the file at all: each takes
/// at least two bytes (a digit and a separator), so a header asking for more than the bytes
/// present is refused instead of allocating what it asks (a hand-edited `sizes 2 100000000000 2`).
fn fits(
    text: &str,
    rows: usize,
    cols: usize,
    line: usize,
    what: &str,
) -> Result<(), (usize, String)> {
    match rows.checked_mul(cols) {
        Some(cells) if cells <= text.len() / 2 + 1 => Ok(()),
        _ => Err((
            line,
            format!(
                "{what} of {rows} × {cols} numbers cannot be in a file of {} bytes: the sizes \
                 line is wrong (was the file edited or cut?)",
                text.len()
            ),
        )),
    }
}

pub(super) fn parse(text: &str) -> Result<SavedModel, (usize, String)> {
    let mut lines = Lines {
        inner: text.lines().enumerate().peekable(),
        last: 0,
    };
    let (n, first) = lines.next("the header")?;
    let mut parts = first.split_whitespace();
    if parts.next() != Some(MAGIC) {
        return Err((
            n,
            format!("not an nnsweep model file (it should start with \"{MAGIC}\")"),
        ));
    }
    let version = match parts.next().and_then(|v| v.parse::<u32>().ok()) {
        Some(v @ 1..=VERSION) => v,
        Some(v) => {
            return Err((
                n,
                format!(
                    "model format {v}, but this nnsweep reads formats 1 to {VERSION}: use the \
                     nnsweep that wrote it"
                ),
            ))
        }
        None => {
            return Err((
                n,
                "the format version is missing after the magic word".into(),
            ))
        }
    };
    let (n, line) = lines.next("the run_id line")?;
    let run_id = line
        .strip_prefix("run_id ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or((n, format!("expected \"run_id <id>\", found {line:?}")))?
        .to_string();
    let (n, line) = lines.next("the sizes line")?;
    let sizes = line
        .strip_prefix("sizes ")
        .and_then(|s| {
            s.split_whitespace()
                .map(|p| p.parse::<usize>().ok().filter(|&v| v > 0))
                .collect::<Option<Vec<_>>>()
        })
        .filter(|s| s.len() >= 2)
        .ok_or((
            n,
            format!("expected \"sizes\" and at least two positive layer sizes, found {line:?}"),
        ))?;
    let mut functions = Functions::default();
    let has_functions = lines
        .inner
        .peek()
        .is_some_and(|(_, l)| l.trim().starts_with("functions"));
    if has_functions {
        let (n, line) = lines.next("the functions line")?;
        functions = line
            .strip_prefix("functions ")
            .and_then(parse_functions)
            .ok_or((
                n,
                format!(
                    "expected \"functions <sigmoid|tanh|relu> <sigmoid|softmax>\", found {line:?}"
                ),
            ))?;
    }
    let mut weights = Vec::new();
    let mut biases = Vec::new();
    for (l, pair) in sizes.windows(2).enumerate() {
        let (rows, cols) = (pair[1], pair[0]);
        let (n, dims) = lines.header("weights", 3)?;
        if dims != [l + 1, rows, cols] {
            return Err((
                n,
                format!(
                    "expected \"weights {} {rows} {cols}\" (from the sizes line), found {dims:?}",
                    l + 1
                ),
            ));
        }
        fits(text, rows, cols, n, "weights")?;
        let mut w = Array2::zeros((rows, cols));
        for r in 0..rows {
            let values = lines.numbers(
                cols,
                &format!("row {} of the layer {} weights", r + 1, l + 1),
            )?;
            w.row_mut(r).assign(&Array1::from(values));
        }
        let (n, dims) = lines.header("biases", 2)?;
        if dims != [l + 1, rows] {
            return Err((
                n,
                format!("expected \"biases {} {rows}\", found {dims:?}", l + 1),
            ));
        }
        let b = lines.numbers(rows, &format!("the layer {} biases", l + 1))?;
        weights.push(w);
        biases.push(Array1::from(b));
    }
    // The optional sections, in this order, then "end".
    let mut sections: Vec<&str> = vec!["points"];
    if version >= TEST_POINTS_SINCE {
        sections.push("test_points");
    }
    let expected = |from: usize| {
        sections[from..]
            .iter()
            .map(|w| format!("\"{w} <n> <d>\""))
            .chain(std::iter::once("\"end\"".to_string()))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let mut found: [Option<Points>; 2] = [None, None];
    let mut next = 0;
    let (mut n, mut line) = lines.next(&expected(next))?;
    while line != "end" {
        let word = line.split_whitespace().next().unwrap_or("");
        let Some(k) = sections[next..].iter().position(|w| *w == word) else {
            let why = if word == "test_points" && version < TEST_POINTS_SINCE {
                format!(
                    " (test points came with format {TEST_POINTS_SINCE}; this file says \
                     format {version})"
                )
            } else {
                String::new()
            };
            return Err((
                n,
                format!("expected {}, found {line:?}{why}", expected(next)),
            ));
        };
        next += k;
        found[next] = Some(points_section(&mut lines, text, n, line, &sizes)?);
        next += 1;
        (n, line) = lines.next(&expected(next))?;
    }
    let [points, test_points] = found;
    Ok(SavedModel {
        run_id,
        network: Network {
            weights,
            biases,
            functions,
        },
        points,
        test_points,
    })
}

/// One points section whose header `line` (line `n`: `<word> <count> <d>`) was just read:
/// `count` lines of `d` coordinates and a label, checked against the network's `sizes`.
fn points_section(
    lines: &mut Lines<'_>,
    text: &str,
    n: usize,
    line: &str,
    sizes: &[usize],
) -> Result<Points, (usize, String)> {
    let mut parts = line.split_whitespace();
    let word = parts.next().unwrap_or("");
    let dims = parts
        .map(|p| p.parse::<usize>().ok())
        .collect::<Option<Vec<_>>>()
        .filter(|d| d.len() == 2)
        .ok_or((
            n,
            format!("expected \"{word} <n> <d>\" (two whole numbers), found {line:?}"),
        ))?;
    let (count, d) = (dims[0], dims[1]);
    if d != sizes[0] {
        return Err((
            n,
            format!("{word}: {d} coordinates but the network takes {}", sizes[0]),
        ));
    }
    fits(text, d.saturating_add(1), count, n, word)?;
    let mut x = Array2::zeros((d, count));
    let mut labels = Vec::with_capacity(count);
    let n_out = *sizes.last().expect("two sizes at least");
    for i in 0..count {
        let values = lines.numbers(
            d + 1,
            &format!("{word}: point {} (coordinates then label)", i + 1),
        )?;
        let label = values[d];
        if label.fract() != 0.0 || label < 0.0 || label >= n_out as f64 {
            return Err((
                lines.last,
                format!("{word}: label {label} is not a class of this {n_out}-output network"),
            ));
        }
        x.column_mut(i).assign(&Array1::from(values[..d].to_vec()));
        labels.push(label as u8);
    }
    Ok(Points { x, labels })
}

/// `tanh softmax` and the like: a hidden activation and an output function.
fn parse_functions(text: &str) -> Option<Functions> {
    let mut parts = text.split_whitespace();
    let (a, o) = (parts.next()?, parts.next()?);
    let activation = Activation::ALL.into_iter().find(|x| x.name() == a)?;
    let output = Output::ALL.into_iter().find(|x| x.name() == o)?;
    parts
        .next()
        .is_none()
        .then_some(Functions { activation, output })
}
