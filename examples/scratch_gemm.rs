use ndarray::linalg::general_mat_mul;
use ndarray::Array2;
use std::time::Instant;
fn rate(m: usize, k: usize, n: usize, ta: bool, tb: bool) -> f64 {
    let a = if ta {
        Array2::<f64>::ones((k, m))
    } else {
        Array2::ones((m, k))
    };
    let b = if tb {
        Array2::<f64>::ones((n, k))
    } else {
        Array2::ones((k, n))
    };
    let mut c = Array2::<f64>::zeros((m, n));
    let mut ts = vec![];
    for _ in 0..7 {
        let t = Instant::now();
        for _ in 0..300 {
            match (ta, tb) {
                (false, false) => general_mat_mul(1.0, &a, &b, 0.0, &mut c),
                (true, false) => general_mat_mul(1.0, &a.t(), &b, 0.0, &mut c),
                (false, true) => general_mat_mul(1.0, &a, &b.t(), 0.0, &mut c),
                (true, true) => general_mat_mul(1.0, &a.t(), &b.t(), 0.0, &mut c),
            }
        }
        ts.push(t.elapsed().as_secs_f64());
    }
    ts.sort_by(f64::total_cmp);
    2.0 * (m * k * n) as f64 * 300.0 / ts[3] / 1e9
}
fn main() {
    nnsweep::blas::set_threads(1);
    for _ in 0..2 {
        println!(
            "A·G  30x500 * 500x500: {:.1}",
            rate(30, 500, 500, false, false)
        );
        println!(
            "G·At 500x500 * 500x30 (At stored): {:.1}",
            rate(500, 500, 30, false, false)
        );
        println!(
            "G·At 500x500 * (30x500)^T: {:.1}",
            rate(500, 500, 30, false, true)
        );
        println!(
            "A·G^T 30x500 * (500x500)^T: {:.1}",
            rate(30, 500, 500, false, true)
        );
        println!(
            "W1·X 30x784*784x500: {:.1}",
            rate(30, 784, 500, false, false)
        );
        println!(
            "d1·Xt 30x500*(784x500)^T: {:.1}",
            rate(30, 500, 784, false, true)
        );
    }
}
