//! Tests of the config reader: values, defaults, errors with their lines, and the hash.

use super::*;
use crate::data::mnist::Subset;
use crate::data::synthetic::Shape;

const GOOD: &str = r#"
name = "circles"
[data]
kind = "circles"
samples = 500
noise = 0.1
[train]
steps = 100
[grid]
hidden = [10, [30, 30]]
eta = [5e-3, 1e-2]
seed = [0, 1]
"#;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("sweep.toml"))
}

fn error(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn a_good_config_gets_its_values_and_defaults() {
    let c = parse(GOOD).unwrap();
    assert_eq!(c.name, "circles");
    assert_eq!(c.grid.hidden, vec![vec![10], vec![30, 30]]);
    assert_eq!(c.grid.eta, vec![5e-3, 1e-2]);
    assert_eq!(c.train.log_every, 1000);
    assert_eq!(c.train.l2, 0.0);
    let DataSource::Synthetic(spec) = &c.data else {
        panic!("{:?}", c.data)
    };
    assert_eq!(spec.shape, Shape::Circles { factor: 0.8 });
    assert_eq!(spec.test_fraction, 0.2);
}

#[test]
fn the_hash_follows_the_settings_not_the_grid_or_the_logging() {
    let base = parse(GOOD).unwrap().settings_hash;
    let more_seeds = GOOD.replace("seed = [0, 1]", "seed = [0, 1, 2]");
    assert_eq!(parse(&more_seeds).unwrap().settings_hash, base);
    let logging = GOOD.replace("steps = 100", "steps = 100\nlog_every = 10");
    assert_eq!(parse(&logging).unwrap().settings_hash, base);
    let noisier = GOOD.replace("noise = 0.1", "noise = 0.2");
    assert_ne!(parse(&noisier).unwrap().settings_hash, base);
    let explicit_default = GOOD.replace("noise = 0.1", "noise = 0.1\nfactor = 0.8");
    assert_eq!(parse(&explicit_default).unwrap().settings_hash, base);
}

#[test]
fn errors_name_the_file_the_line_and_the_key() {
    let e = error(&GOOD.replace("eta = [5e-3, 1e-2]", "eta = [5e-3, 0.0]"));
    assert!(e.starts_with("sweep.toml: "), "{e}");
    assert!(e.contains("line 11"), "{e}");
    assert!(e.contains("learning rate must be a number > 0"), "{e}");

    let e = error(&GOOD.replace("noise = 0.1", "noize = 0.1"));
    assert!(
        e.contains("unknown field `noize`") && e.contains("line 6"),
        "{e}"
    );

    let e = error(&GOOD.replace("hidden = [10, [30, 30]]", "hidden = [10, [30, 0]]"));
    assert!(e.contains("line 10") && e.contains("at least 1"), "{e}");

    let e = error(&GOOD.replace("seed = [0, 1]", "seed = []"));
    assert!(e.contains("line 12") && e.contains("empty"), "{e}");

    let e = error(&GOOD.replace("steps = 100", "steps = 0"));
    assert!(e.contains("line 8") && e.contains("at least 1"), "{e}");
}

#[test]
fn checks_across_keys_point_at_the_key() {
    let e = error(&GOOD.replace("eta = [5e-3, 1e-2]", "eta = [5e-3, 5e-3]"));
    assert!(
        e.contains("sweep.toml:11: `grid.eta`") && e.contains("twice"),
        "{e}"
    );

    let e = error(&GOOD.replace("kind = \"circles\"", "kind = \"moons\"\nfactor = 0.5"));
    assert!(e.contains("`data.factor`") && e.contains("moons"), "{e}");

    let e = error(&GOOD.replace("steps = 100\n", ""));
    assert!(e.contains("train.steps") && e.contains("missing"), "{e}");

    let e = error(&GOOD.replace("samples = 500", "samples = 1"));
    assert!(e.contains("sweep.toml:5: `data.samples`"), "{e}");
}

#[test]
fn train_sizes_beyond_the_data_are_refused_with_their_line() {
    let c = parse(&GOOD.replace("seed = [0, 1]", "seed = [0]\ntrain_size = [100, 500]")).unwrap();
    assert!(c.check_against_data(500).is_ok());
    let e = c.check_against_data(400).unwrap_err().to_string();
    assert!(
        e.contains("sweep.toml:13: `grid.train_size`") && e.contains("only 400"),
        "{e}"
    );
}

#[test]
fn engine_and_precision_are_read_checked_and_hashed() {
    let c = parse(GOOD).unwrap();
    assert_eq!(
        (c.train.engine, c.train.precision),
        (Engine::Auto, Precision::F64)
    );
    let set = |text: &str| GOOD.replace("steps = 100", &format!("steps = 100\n{text}"));
    let c = parse(&set("engine = \"gram\"\nprecision = \"f32\"")).unwrap();
    assert_eq!(
        (c.train.engine, c.train.precision),
        (Engine::Gram, Precision::F32)
    );
    let base = parse(GOOD).unwrap().settings_hash;
    let defaults = set("engine = \"auto\"\nprecision = \"f64\"");
    assert_eq!(parse(&defaults).unwrap().settings_hash, base);
    assert_ne!(
        parse(&set("precision = \"f32\"")).unwrap().settings_hash,
        base
    );
    assert_ne!(
        parse(&set("engine = \"direct\"")).unwrap().settings_hash,
        base
    );
    let e = error(&set("precision = \"f16\""));
    assert!(
        e.contains("f64") && e.contains("f32") && e.contains("precision"),
        "{e}"
    );
    let e = error(&set("engine = \"fast\""));
    assert!(e.contains("gram"), "{e}");
}

#[test]
fn the_next_lectures_keys_are_read_hashed_when_not_default_and_unknown_values_refused() {
    use crate::nn::{Activation, Cost, Init, Output};
    let c = parse(&GOOD.replace(
        "steps = 100",
        "steps = 100\ncost = \"cross_entropy\"\noutput = \"softmax\"\nactivation = \"relu\"\n\
         init = \"he\"\nbatch_size = 10\neval_every = 40",
    ))
    .unwrap();
    assert_eq!(
        (
            c.train.cost,
            c.train.output,
            c.train.activation,
            c.train.init
        ),
        (
            Cost::CrossEntropy,
            Output::Softmax,
            Activation::Relu,
            Init::He
        )
    );
    assert_eq!(
        (c.train.batch_size, c.train.eval_every),
        (Some(10), Some(40))
    );
    let text = hash::canonical_text(&c.data, &c.train);
    assert!(
        text.ends_with(
            "\ncost=cross_entropy\noutput=softmax\nactivation=relu\ninit=he\nbatch_size=10\neval_every=40"
        ),
        "{text}"
    );
    // The defaults written out are the lecture's: same hash as not writing them.
    let explicit = parse(&GOOD.replace(
        "steps = 100",
        "steps = 100\ncost = \"quadratic\"\noutput = \"sigmoid\"\nactivation = \"sigmoid\"\ninit = \"normal\"",
    ))
    .unwrap();
    assert_eq!(explicit.settings_hash, parse(GOOD).unwrap().settings_hash);
    // Axes of [grid] and [[variant]].
    let g = parse(&GOOD.replace(
        "seed = [0, 1]",
        "seed = [0, 1]\ncost = [\"quadratic\", \"cross_entropy\"]\nactivation = [\"tanh\"]\n\
         batch_size = [10, 50]\n[[variant]]\noutput = [\"softmax\"]\ninit = [\"scaled\"]",
    ))
    .unwrap();
    assert_eq!(g.grid.cost, Some(vec![Cost::Quadratic, Cost::CrossEntropy]));
    assert_eq!(g.grid.batch_size, Some(vec![10, 50]));
    assert_eq!(g.variants[0].output, Some(vec![Output::Softmax]));
    assert_eq!(g.variants[0].activation, Some(vec![Activation::Tanh]));
    for (line, key) in [
        ("cost = \"hinge\"", "cost"),
        ("output = \"linear\"", "output"),
        ("activation = \"gelu\"", "activation"),
        ("init = \"xavier\"", "init"),
        ("batch_size = 0", "batch_size"),
        ("eval_every = -1", "eval_every"),
    ] {
        let e = error(&GOOD.replace("steps = 100", &format!("steps = 100\n{line}")));
        assert!(e.contains(key), "{line}: {e}");
    }
    let e = error(&GOOD.replace(
        "seed = [0, 1]",
        "seed = [0, 1]\ncost = [\"quadratic\", \"quadratic\"]",
    ));
    assert!(e.contains("grid.cost") && e.contains("twice"), "{e}");
}

const MNIST: &str = r#"
name = "mnist"
[data]
kind = "mnist"
path = "mnist.pkl.gz"
train = 500
test = 100
[train]
steps = 100
[grid]
hidden = [30]
eta = [5e-4]
seed = [0]
"#;

#[test]
fn mnist_paths_are_read_from_the_config_files_folder() {
    let c = Config::parse(MNIST, Path::new("configs/sweep.toml")).unwrap();
    let DataSource::Mnist(spec) = &c.data else {
        panic!("{:?}", c.data)
    };
    assert_eq!(spec.path, Path::new("configs/mnist.pkl.gz"));
    assert_eq!(
        (spec.train, spec.test, spec.validation),
        (Some(500), Some(100), None)
    );
    assert_eq!((spec.subset, spec.seed), (Subset::First, 0));
    let abs = MNIST.replace("\"mnist.pkl.gz\"", "\"/data/mnist.pkl.gz\"");
    let c = Config::parse(&abs, Path::new("configs/sweep.toml")).unwrap();
    let DataSource::Mnist(spec) = &c.data else {
        panic!("{:?}", c.data)
    };
    assert_eq!(spec.path, Path::new("/data/mnist.pkl.gz"));
    let random = MNIST.replace("test = 100", "test = 100\nsubset = \"random\"\nseed = 3");
    let DataSource::Mnist(spec) = parse(&random).unwrap().data else {
        panic!()
    };
    assert_eq!((spec.subset, spec.seed), (Subset::Random, 3));
}

#[test]
fn mnist_and_csv_keys_are_checked_against_the_kind() {
    let e = error(&MNIST.replace("path = \"mnist.pkl.gz\"\n", ""));
    assert!(
        e.contains("sweep.toml:4: `data.path`") && e.contains("mnist-small.pkl.gz"),
        "{e}"
    );
    let e = error(&MNIST.replace("train = 500", "train = 500\nnoise = 0.1"));
    assert!(
        e.contains("`data.noise`") && e.contains("kind = \"mnist\""),
        "{e}"
    );
    // Validation images now come beside the test set, not instead of it.
    parse(&MNIST.replace("test = 100", "test = 100\nvalidation = 50")).unwrap();
    let e = error(&MNIST.replace("test = 100", "subset = \"sometimes\""));
    assert!(e.contains("first") && e.contains("random"), "{e}");
    let e = error(&GOOD.replace("noise = 0.1", "noise = 0.1\npath = \"x.csv\""));
    assert!(e.contains("`data.path`") && e.contains("circles"), "{e}");

    let csv = MNIST
        .replace("kind = \"mnist\"", "kind = \"csv\"")
        .replace("train = 500\ntest = 100\n", "");
    let e = error(&csv);
    assert!(
        e.contains("`data.label_column`") && e.contains("missing"),
        "{e}"
    );
    let c = parse(&csv.replace("[train]", "label_column = \"y\"\n[train]")).unwrap();
    let DataSource::Csv(spec) = &c.data else {
        panic!("{:?}", c.data)
    };
    assert_eq!((spec.label_column.as_str(), spec.test_fraction), ("y", 0.2));
    let e = error(&csv.replace(
        "[train]",
        "label_column = \"y\"\ntest_path = \"t.csv\"\ntest_fraction = 0.3\n[train]",
    ));
    assert!(
        e.contains("`data.test_fraction`") && e.contains("test_path"),
        "{e}"
    );
    let e = error(&csv.replace("[train]", "label_column = \"y\"\ntrain = 5\n[train]"));
    assert!(e.contains("`data.train`") && e.contains("csv"), "{e}");
}

#[test]
fn names_must_be_usable_in_file_names() {
    let e = error(&GOOD.replace("name = \"circles\"", "name = \"../etc\""));
    assert!(e.contains("file names"), "{e}");
}

/// The hashes nnsweep 0.1 computed for these configs (by its `Debug`-based text): the
/// canonical text must reproduce them, so results files written by 0.1 still resume. A change
/// here means every existing results file of such a sweep is refused: do it only on purpose.
#[test]
fn the_hash_of_known_configs_is_pinned() {
    let grid = "[grid]\nhidden = [10]\neta = [5e-3]\nseed = [0]\n";
    let cases = [
        ("72d24da20b7d2050", format!("name = \"c\"\n[data]\nkind = \"circles\"\nsamples = 500\nnoise = 0.1\n[train]\nsteps = 100\n{grid}")),
        ("538c7f6b9db188ca", format!("name = \"c\"\n[data]\nkind = \"moons\"\nsamples = 300\nnoise = 0.25\ntest_fraction = 0.3\nseed = 7\n[train]\nsteps = 50\nl2 = 1e-4\n{grid}")),
        ("5d08f9bdad2007f6", format!("name = \"m\"\n[data]\nkind = \"mnist\"\npath = \"x.pkl.gz\"\ntrain = 500\ntest = 100\n[train]\nsteps = 100\nengine = \"gram\"\nprecision = \"f32\"\n{grid}")),
        ("1a1c6eb1105cde55", "name = \"m\"\n[data]\nkind = \"mnist\"\npath = \"x.pkl.gz\"\nvalidation = 50\nsubset = \"random\"\nseed = 3\n[grid]\nhidden = [30]\neta = [5e-4]\nseed = [0]\nsteps = [10, 20]\n".to_string()),
        ("0d7eb93fe16979cf", format!("name = \"t\"\n[data]\nkind = \"csv\"\npath = \"a.csv\"\nlabel_column = \"y\\\"q\"\ntest_path = \"b.csv\"\n[train]\nsteps = 10\n{grid}")),
        ("2978993c9b824b98", format!("name = \"t\"\n[data]\nkind = \"csv\"\npath = \"a.csv\"\nlabel_column = \"label\"\ntest_fraction = 0.25\nseed = 9\n[train]\nsteps = 10\nengine = \"direct\"\n{grid}")),
    ];
    for (want, text) in cases {
        let c = parse(&text).unwrap();
        assert_eq!(c.settings_hash, want, "{text}");
    }
}

#[test]
fn the_canonical_text_is_spelled_out_and_leaves_new_defaults_out() {
    let c = parse(GOOD).unwrap();
    let text = hash::canonical_text(&c.data, &c.train);
    assert_eq!(
        text,
        "nnsweep-results-v1\n\
         data=Synthetic(SyntheticSpec { shape: Circles { factor: 0.8 }, samples: 500, \
         noise: 0.1, test_fraction: 0.2, seed: 0 })\n\
         steps=100\nl2=0.0\ncost=quadratic\nactivation=sigmoid"
    );
    let f32 = parse(&GOOD.replace("steps = 100", "steps = 100\nprecision = \"f32\"")).unwrap();
    let text = hash::canonical_text(&f32.data, &f32.train);
    assert!(
        text.ends_with("\nactivation=sigmoid\nprecision=F32"),
        "{text}"
    );
}

#[test]
fn duplicate_checks_are_linear_and_treat_minus_zero_as_zero() {
    let seeds: Vec<String> = (0..200_000).map(|s| s.to_string()).collect();
    let text = GOOD.replace("seed = [0, 1]", &format!("seed = [{}]", seeds.join(", ")));
    let started = std::time::Instant::now();
    assert_eq!(parse(&text).unwrap().grid.seed.len(), 200_000);
    assert!(
        started.elapsed().as_secs_f64() < 2.0,
        "{:?}",
        started.elapsed()
    );
    let e = error(&GOOD.replace("seed = [0, 1]", "seed = [0]\nl2 = [0.0, -0.0]"));
    assert!(e.contains("`grid.l2`") && e.contains("twice"), "{e}");
    let e = error(&GOOD.replace(
        "hidden = [10, [30, 30]]",
        "hidden = [[30, 30], 10, [30, 30]]",
    ));
    assert!(e.contains("`grid.hidden`") && e.contains("twice"), "{e}");
}

#[test]
fn rng_keys_are_read_checked_and_hashed_only_when_not_default() {
    use crate::data::synthetic::DataRng;
    use crate::nn::WeightRng;
    let base = parse(GOOD).unwrap();
    let train = |t: &str| GOOD.replace("steps = 100", &format!("steps = 100\n{t}"));
    let data = |t: &str| GOOD.replace("noise = 0.1", &format!("noise = 0.1\n{t}"));
    let rng_of = |c: &Config| match &c.data {
        DataSource::Synthetic(spec) => spec.rng,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (base.train.rng, rng_of(&base)),
        (WeightRng::Chacha, DataRng::Nnsweep)
    );
    // The defaults spelled out change nothing.
    for same in [train("rng = \"chacha\""), data("rng = \"nnsweep\"")] {
        assert_eq!(parse(&same).unwrap().settings_hash, base.settings_hash);
    }
    // The other streams: read, and a line of their own in the hashed text.
    let numpy = parse(&train("rng = \"numpy\"")).unwrap();
    assert_eq!(numpy.train.rng, WeightRng::Numpy);
    assert!(hash::canonical_text(&numpy.data, &numpy.train).ends_with("\nrng=numpy"));
    let sklearn = parse(&data("rng = \"sklearn\"")).unwrap();
    assert_eq!(rng_of(&sklearn), DataRng::Sklearn);
    assert!(hash::canonical_text(&sklearn.data, &sklearn.train).ends_with("\ndata.rng=sklearn"));
    let hashes = [&base, &numpy, &sklearn].map(|c| c.settings_hash.clone());
    assert!(hashes[0] != hashes[1] && hashes[0] != hashes[2] && hashes[1] != hashes[2]);
    // NumPy's seeds are 32-bit: a bigger one is refused on its line, with the way out.
    let too_big = train("rng = \"numpy\"").replace("seed = [0, 1]", "seed = [0, 4294967296]");
    let e = error(&too_big);
    assert!(
        e.contains(":13:") && e.contains("grid.seed") && e.contains("4294967295"),
        "{e}"
    );
    assert!(parse(&GOOD.replace("seed = [0, 1]", "seed = [4294967296]")).is_ok());
    let e = error(&data("rng = \"sklearn\"\nseed = 4294967296"));
    assert!(e.contains("data.seed") && e.contains("4294967295"), "{e}");
    // Only the generated datasets have a stream to replace; unknown streams are named.
    let e = error(&MNIST.replace("test = 100", "test = 100\nrng = \"sklearn\""));
    assert!(e.contains("data.rng") && e.contains("mnist"), "{e}");
    let e = error(&train("rng = \"mt19937\""));
    assert!(e.contains("chacha") && e.contains("numpy"), "{e}");
    let e = error(&data("rng = \"numpy\""));
    assert!(e.contains("nnsweep") && e.contains("sklearn"), "{e}");
}

/// The hash of every config shipped in `configs/`, as it was before `validation_fraction`
/// existed: a new `[data]` key must leave configs that do not use it with their hash (their
/// results files still resume). A config added to `configs/` must be pinned here too.
#[test]
fn the_hash_of_every_shipped_config_is_pinned() {
    let pinned: &[(&str, &str)] = &[
        ("circles.toml", "176e022e68a300a0"),
        ("circles_numpy.toml", "9ce26b098536f793"),
        ("circles_overfit.toml", "176e022e68a300a0"),
        ("circles_select.toml", "2ffab4f0298e246b"), // added with validation_fraction
        ("mixed_sizes_mnist.toml", "4fb63e33a848487e"),
        ("mnist_overfit.toml", "f9e6b3a278c36311"),
        ("mnist_small.toml", "a23b2187e499fbd7"),
        ("mnist_small_numpy.toml", "6bca5194e4f55e13"),
        ("more_data_mnist.toml", "f434fca076dd5da2"), // added with issue 14
        ("next_lecture_mnist.toml", "7403c9544149c69a"), // added with issue 10
        ("remedies_mnist.toml", "760f59d877ccf27a"),
        ("remedies_mnist_full.toml", "a1fad10371888396"),
    ];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut found: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| {
            let c = Config::load(&p).unwrap();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, c.settings_hash)
        })
        .collect();
    found.sort();
    let want: Vec<(String, String)> = pinned
        .iter()
        .map(|(n, h)| (n.to_string(), h.to_string()))
        .collect();
    assert_eq!(found, want);
}

#[test]
fn validation_fraction_is_read_checked_where_it_is_written_and_hashed_only_when_set() {
    let set = |f: &str| {
        GOOD.replace(
            "noise = 0.1",
            &format!("noise = 0.1\nvalidation_fraction = {f}"),
        )
    };
    let c = parse(&set("0.25")).unwrap();
    let DataSource::Synthetic(spec) = &c.data else {
        panic!("{:?}", c.data)
    };
    assert_eq!(spec.validation_fraction.map(|f| f.get()), Some(0.25));
    assert!(hash::canonical_text(&c.data, &c.train).ends_with("\ndata.validation_fraction=0.25"));
    assert_ne!(c.settings_hash, parse(GOOD).unwrap().settings_hash);
    // Outside (0, 1): refused at its line, by the value's own check.
    for bad in ["0", "1", "1.5", "-0.2"] {
        let e = error(&set(bad));
        assert!(
            e.contains("line 7") && e.contains("strictly between 0 and 1"),
            "{e}"
        );
    }
    // 500 samples, 100 test: 400 training, of which 0.001 is no sample at all.
    let e = error(&set("0.001"));
    assert!(
        e.contains("sweep.toml:7: `data.validation_fraction`") && e.contains("0 for validation"),
        "{e}"
    );
    // MNIST has its own validation images: refused, saying which key to use.
    let mnist = "name = \"m\"\n[data]\nkind = \"mnist\"\npath = \"x.pkl.gz\"\n\
                 validation_fraction = 0.2\n[train]\nsteps = 1\n\
                 [grid]\nhidden = [10]\neta = [5e-3]\nseed = [0]\n";
    let e = error(mnist);
    assert!(
        e.contains("`data.validation_fraction`") && e.contains("validation = N"),
        "{e}"
    );
    // csv: read, and checked against the rows when they are loaded (see data::validation).
    let csv = "name = \"t\"\n[data]\nkind = \"csv\"\npath = \"a.csv\"\nlabel_column = \"y\"\n\
               validation_fraction = 0.5\n[train]\nsteps = 1\n\
               [grid]\nhidden = [10]\neta = [5e-3]\nseed = [0]\n";
    let DataSource::Csv(spec) = parse(csv).unwrap().data else {
        panic!()
    };
    assert_eq!(spec.validation_fraction.map(|f| f.get()), Some(0.5));
}
