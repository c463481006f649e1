//! The next lecture's engine, tested: the Gram engine stays exact for every cost × output ×
//! activation and for mini-batches, a mini-batch update is a gradient step on its batch, a
//! batch of the whole set is the full-batch descent, and evaluation follows `eval_every`.

use std::sync::atomic::AtomicBool;

use ndarray::Array2;

use super::backprop::cost_and_gradient;
use super::engine::Engine;
use super::functions::{Activation, Cost, Functions, Init, Output};
use super::network::Network;
use super::recipe::{Recipe, RecipeParams};
use super::test_data::{linear_rule_data as data, relative};
use super::train::{train, train_alone_final, TrainData};

/// The final network of `params` trained with `engine` on 16-input samples (12 training).
fn final_network(params: &RecipeParams, engine: Engine) -> (super::train::Outcome, Network) {
    let (x, labels) = data(16, 12, 3, 21);
    let (tx, tl) = data(16, 9, 3, 23);
    let d = TrainData {
        x: x.view(),
        labels: &labels,
        validation: None,
        test_x: tx.view(),
        test_labels: &tl,
    };
    let r = params.clone().engine(engine).check(12, 9).unwrap();
    assert_eq!(r.engine(), engine);
    train_alone_final(&r, d, &AtomicBool::new(false)).unwrap()
}

fn assert_engines_agree(params: &RecipeParams, name: &str) {
    let (direct, direct_net) = final_network(params, Engine::Direct);
    let (gram, gram_net) = final_network(params, Engine::Gram);
    let start = super::init::initial_network(&params.clone().check(12, 9).unwrap());
    assert!(
        relative(&direct_net.weights[0], &start.weights[0]) > 1e-4,
        "{name}: it trained"
    );
    for l in 0..direct_net.weights.len() {
        let w = relative(&gram_net.weights[l], &direct_net.weights[l]);
        assert!(w < 1e-8, "{name}, layer {l}: weights differ by {w}");
        let b = (&gram_net.biases[l] - &direct_net.biases[l])
            .mapv(f64::abs)
            .sum()
            / direct_net.biases[l].mapv(f64::abs).sum().max(1e-300);
        assert!(b < 1e-8, "{name}, layer {l}: biases differ by {b}");
    }
    let c = (gram.final_cost - direct.final_cost).abs() / direct.final_cost.abs();
    assert!(
        c < 1e-8,
        "{name}: costs {} and {}",
        gram.final_cost,
        direct.final_cost
    );
}

#[test]
fn gram_and_direct_agree_to_1e8_after_100_steps_for_every_combination() {
    let mut checked = 0;
    for cost in Cost::ALL {
        for output in Output::ALL {
            for activation in Activation::ALL {
                let params = Recipe::params(&[16, 7, 3])
                    .eta(0.05)
                    .l2(0.01)
                    .steps(100)
                    .seed(4)
                    .cost(cost)
                    .output(output)
                    .activation(activation)
                    .init(Init::Scaled);
                assert_engines_agree(&params, &format!("{cost:?} {output:?} {activation:?}"));
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 12);
    // Two hidden layers, He's init: the first layer alone is the Gram engine's.
    let deep = Recipe::params(&[16, 6, 5, 3])
        .eta(0.05)
        .steps(100)
        .seed(2)
        .cost(Cost::CrossEntropy)
        .output(Output::Softmax)
        .activation(Activation::Relu)
        .init(Init::He);
    assert_engines_agree(&deep, "two hidden layers");
}

#[test]
fn gram_and_direct_agree_to_1e8_after_100_mini_batch_steps() {
    for (batch, l2, dropout) in [(4, 0.0, 0.0), (5, 0.01, 0.0), (3, 0.01, 0.3)] {
        let params = Recipe::params(&[16, 7, 3])
            .eta(0.1)
            .l2(l2)
            .dropout(dropout)
            .steps(100)
            .seed(9)
            .batch_size(Some(batch))
            .cost(Cost::CrossEntropy)
            .output(Output::Softmax)
            .activation(Activation::Tanh)
            .init(Init::Scaled);
        assert_engines_agree(
            &params,
            &format!("batch {batch}, l2 {l2}, dropout {dropout}"),
        );
        // And the lecture's network.
        let lecture = Recipe::params(&[16, 7, 3])
            .eta(0.5)
            .l2(l2)
            .steps(100)
            .seed(9)
            .batch_size(Some(batch));
        assert_engines_agree(&lecture, &format!("lecture, batch {batch}"));
    }
}

/// One mini-batch update is `w ← w − eta·∇C_B` on the batch the epoch's order starts with,
/// and a batch of the whole training set is the full-batch descent, to the bit.
#[test]
fn a_mini_batch_step_is_a_gradient_step_on_its_batch() {
    let (x, labels) = data(5, 10, 3, 3);
    let never = AtomicBool::new(false);
    let d = TrainData {
        x: x.view(),
        labels: &labels,
        validation: None,
        test_x: x.view(),
        test_labels: &labels,
    };
    let params = || {
        Recipe::params(&[5, 4, 3])
            .eta(0.3)
            .steps(1)
            .seed(6)
            .engine(Engine::Direct)
            .cost(Cost::CrossEntropy)
            .activation(Activation::Tanh)
    };
    let one = |p: RecipeParams| {
        train_alone_final(&p.check(10, 10).unwrap(), d, &never)
            .unwrap()
            .1
    };
    let stepped = one(params().batch_size(Some(4)));
    let mut order: Vec<usize> = (0..10).collect();
    super::batches::shuffle(&mut order, 6, 0);
    let batch = &order[..4];
    let xb = x.select(ndarray::Axis(1), batch);
    let lb: Vec<u8> = batch.iter().map(|&i| labels[i]).collect();
    let start = super::init::initial_network(&params().check(10, 10).unwrap());
    let (_, gw, gb) = cost_and_gradient(&start, xb.view(), &lb, Cost::CrossEntropy);
    for l in 0..2 {
        let expected = &start.weights[l] - &(&gw[l] * 0.3);
        assert!(
            relative(&stepped.weights[l], &expected) < 1e-14,
            "layer {l}"
        );
        let expected = &start.biases[l] - &(&gb[l] * 0.3);
        let diff = (&stepped.biases[l] - &expected).mapv(f64::abs).sum();
        assert!(diff < 1e-14, "layer {l} biases: {diff}");
    }
    // A batch of all ten samples (or more) is the full batch, bit for bit.
    for b in [10, 11] {
        let full = params().steps(20);
        let a = train(&full.clone().check(10, 10).unwrap(), d, &never).unwrap();
        let batched = full.batch_size(Some(b)).check(10, 10).unwrap();
        assert!(!batched.is_mini_batch());
        assert_eq!(train(&batched, d, &never).unwrap(), a);
    }
}

#[test]
fn evaluation_curves_and_patience_follow_eval_every() {
    let (x, labels) = data(5, 10, 3, 3);
    let never = AtomicBool::new(false);
    let d = TrainData {
        x: x.view(),
        labels: &labels,
        validation: None,
        test_x: x.view(),
        test_labels: &labels,
    };
    let params = Recipe::params(&[5, 4, 3])
        .eta(0.3)
        .steps(23)
        .seed(6)
        .log_every(1);
    // Mini-batches of 4 of 10 samples: an epoch is 3 updates, the default between evaluations.
    let r = params.clone().batch_size(Some(4)).check(10, 10).unwrap();
    assert_eq!(r.eval_every(), 3);
    let out = train(&r, d, &never).unwrap();
    let steps: Vec<usize> = out.curve.iter().map(|p| p.step).collect();
    assert_eq!(steps, [0, 3, 6, 9, 12, 15, 18, 21, 23]);
    assert!(out.best_step.is_multiple_of(3) || out.best_step == 23);
    // Full batches evaluated every 5 steps: the same updates as every step, fewer looks.
    let every = train(&params.clone().check(10, 10).unwrap(), d, &never).unwrap();
    let sparse = params.clone().eval_every(Some(5)).check(10, 10).unwrap();
    let sparse = train(&sparse, d, &never).unwrap();
    assert_eq!(sparse.final_cost, every.final_cost);
    assert_eq!(
        sparse.curve.iter().map(|p| p.step).collect::<Vec<_>>(),
        [0, 5, 10, 15, 20, 23]
    );
    for p in &sparse.curve {
        let same = every.curve.iter().find(|q| q.step == p.step).unwrap();
        assert_eq!(p, same);
    }
}

#[test]
fn auto_counts_the_evaluation_passes_of_mini_batches() {
    let p = || Recipe::params(&[784, 30, 10]).eta(0.1).steps(2000);
    // Full batch on 500 samples: Gram (fewer samples than inputs), as before.
    assert_eq!(p().check(500, 100).unwrap().engine(), Engine::Gram);
    // Batches of 10, evaluated every epoch: the Gram update costs m·n·10 against the direct
    // engine's 2·m·d·10, and 40 evaluations of m·n·n against m·d·n: Gram still.
    assert_eq!(
        p().batch_size(Some(10)).check(500, 100).unwrap().engine(),
        Engine::Gram
    );
    // Between d and 2·d samples, the Gram update is still cheaper but its evaluations
    // (m·n·n against m·d·n) are not: how often they come decides.
    // (Over 50 000 updates, so that the Gram engine's set-up, G, is paid back.)
    let batches = |every| {
        p().steps(50_000)
            .batch_size(Some(10))
            .eval_every(Some(every))
    };
    assert_eq!(
        batches(1).check(1200, 100).unwrap().engine(),
        Engine::Direct
    );
    assert_eq!(
        batches(1000).check(1200, 100).unwrap().engine(),
        Engine::Gram
    );
    // Many samples: direct.
    assert_eq!(
        p().batch_size(Some(10)).check(5000, 100).unwrap().engine(),
        Engine::Direct
    );
    let flops = |b: Option<usize>| p().batch_size(b).check(500, 100).unwrap().flops();
    assert!(flops(Some(10)) < flops(None) / 10.0);
}

/// A saved network predicts with its functions: a softmax network's predictions are those of
/// its training evaluation.
#[test]
fn a_networks_forward_pass_uses_its_functions() {
    let mut net = Network::init(&[3, 4, 2], 1);
    let x = Array2::from_shape_fn((3, 5), |(i, j)| (i as f64 - j as f64) * 0.3);
    let sigmoid = net.forward(x.view());
    net.functions = Functions {
        activation: Activation::Tanh,
        output: Output::Softmax,
    };
    let next = net.forward(x.view());
    assert_ne!(sigmoid, next);
    for col in next.columns() {
        assert!((col.sum() - 1.0).abs() < 1e-12, "softmax columns sum to 1");
    }
    let h = (net.weights[0].dot(&x)).mapv(f64::tanh);
    let z = net.weights[1].dot(&h);
    for j in 0..5 {
        let e0 = z[[0, j]].exp();
        let e1 = z[[1, j]].exp();
        assert!((next[[0, j]] - e0 / (e0 + e1)).abs() < 1e-12);
    }
}

/// The kept model of a next-lecture run predicts exactly the accuracies training measured.
#[test]
fn the_kept_model_reproduces_its_accuracies_with_its_functions() {
    let (x, labels) = data(16, 40, 3, 5);
    let (tx, tl) = data(16, 20, 3, 6);
    let d = TrainData {
        x: x.view(),
        labels: &labels,
        validation: None,
        test_x: tx.view(),
        test_labels: &tl,
    };
    let accuracy = |net: &Network, x: &Array2<f64>, l: &[u8]| {
        let p = net.predict(x.view());
        p.iter().zip(l).filter(|(a, b)| a == b).count() as f64 / l.len() as f64
    };
    for (activation, output) in [
        (Activation::Tanh, Output::Softmax),
        (Activation::Relu, Output::Sigmoid),
    ] {
        let r = Recipe::params(&[16, 8, 3])
            .eta(0.02)
            .steps(150)
            .seed(3)
            .engine(Engine::Direct)
            .cost(Cost::CrossEntropy)
            .output(output)
            .activation(activation)
            .init(Init::He)
            .batch_size(Some(8))
            .check(40, 20)
            .unwrap();
        let out = train(&r, d, &AtomicBool::new(false)).unwrap();
        assert_eq!(out.best.functions, r.functions());
        assert_eq!(accuracy(&out.best, &x, &labels), out.best_train_acc);
        assert_eq!(accuracy(&out.best, &tx, &tl), out.best_test_acc);
        assert!(
            out.best_train_acc > 0.6,
            "{activation:?}: {}",
            out.best_train_acc
        );
    }
}

/// In f32 the next lecture's network (its ln and softmax passes in f32) learns what it does in
/// f64, within two points.
#[test]
fn f32_runs_of_the_next_lecture_agree_with_f64() {
    let (x, labels) = data(40, 60, 4, 8);
    let (tx, tl) = data(40, 30, 4, 9);
    let d = TrainData {
        x: x.view(),
        labels: &labels,
        validation: None,
        test_x: tx.view(),
        test_labels: &tl,
    };
    for batch in [None, Some(12)] {
        let run = |precision| {
            let r = Recipe::params(&[40, 10, 4])
                .eta(0.01)
                .steps(400)
                .seed(2)
                .cost(Cost::CrossEntropy)
                .output(Output::Softmax)
                .activation(Activation::Tanh)
                .init(Init::Scaled)
                .batch_size(batch)
                .precision(precision)
                .check(60, 30)
                .unwrap();
            train(&r, d, &AtomicBool::new(false)).unwrap()
        };
        let (a, b) = (run(super::Precision::F64), run(super::Precision::F32));
        assert!(a.best_train_acc > 0.8, "it learns: {}", a.best_train_acc);
        assert!((a.best_train_acc - b.best_train_acc).abs() <= 0.02);
        assert!((a.final_test_acc - b.final_test_acc).abs() <= 0.04);
        assert!((a.final_cost - b.final_cost).abs() < 1e-3 * a.final_cost.abs().max(1.0));
    }
}
