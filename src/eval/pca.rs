//! 2-D PCA of embeddings for the report's scatter plot: covariance, then power iteration with
//! deflation (deterministic start; each axis's sign fixed so its largest component is positive).
use super::matrix::Matrix;

/// Coordinates of every row on the first two principal axes (`rows × 2`).
pub fn pca_2d(m: &Matrix) -> Vec<[f32; 2]> {
    let (n, d) = (m.rows, m.cols);
    if n == 0 || d == 0 {
        return vec![[0.0, 0.0]; n];
    }
    let mean: Vec<f64> = m.column_means().iter().map(|&v| v as f64).collect();
    let mut cov = vec![0f64; d * d];
    for i in 0..n {
        let c: Vec<f64> = m.row(i).iter().zip(&mean).map(|(&v, mu)| v as f64 - mu).collect();
        for a in 0..d {
            let ca = c[a];
            let row = &mut cov[a * d..(a + 1) * d];
            row.iter_mut().zip(&c).for_each(|(x, cb)| *x += ca * cb);
        }
    }
    let first = top_eigvec(&cov, d);
    let lambda = rayleigh(&cov, &first, d);
    // Deflate: remove the first axis' variance.
    for a in 0..d {
        for b in 0..d {
            cov[a * d + b] -= lambda * first[a] * first[b];
        }
    }
    let second = top_eigvec(&cov, d);
    (0..n)
        .map(|i| {
            let r = m.row(i);
            let p =
                |ax: &[f64]| r.iter().zip(&mean).zip(ax).map(|((&v, mu), a)| (v as f64 - mu) * a).sum::<f64>() as f32;
            [p(&first), p(&second)]
        })
        .collect()
}

fn matvec(a: &[f64], v: &[f64], d: usize) -> Vec<f64> {
    (0..d).map(|i| a[i * d..(i + 1) * d].iter().zip(v).map(|(x, y)| x * y).sum()).collect()
}

fn rayleigh(a: &[f64], v: &[f64], d: usize) -> f64 {
    matvec(a, v, d).iter().zip(v).map(|(x, y)| x * y).sum()
}

fn top_eigvec(a: &[f64], d: usize) -> Vec<f64> {
    // Start off every axis so a zero projection is unlikely.
    let mut v: Vec<f64> = (0..d).map(|i| 1.0 + (i as f64 * 0.618).fract()).collect();
    for _ in 0..500 {
        let w = matvec(a, &v, d);
        let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm < 1e-300 {
            return vec![0.0; d];
        }
        let w: Vec<f64> = w.iter().map(|x| x / norm).collect();
        let diff: f64 = w.iter().zip(&v).map(|(a, b)| (a - b).abs()).sum();
        v = w;
        if diff < 1e-12 {
            break;
        }
    }
    let big = v.iter().fold(0f64, |m, &x| if x.abs() > m.abs() { x } else { m });
    if big < 0.0 {
        v.iter_mut().for_each(|x| *x = -*x);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_spread_axes() {
        // Spread mostly along y, a little along z (uncorrelated with y), none along x.
        let rows: Vec<Vec<f32>> =
            (0..10).map(|i| vec![1.0, (i / 2) as f32 * 2.0, if i % 2 == 0 { 0.5 } else { -0.5 }]).collect();
        let m = Matrix::from_rows(&rows).unwrap();
        let p = pca_2d(&m);
        for (i, c) in p.iter().enumerate() {
            assert!((c[0] - ((i / 2) as f32 * 2.0 - 4.0)).abs() < 1e-4, "{c:?}");
            assert!((c[1].abs() - 0.5).abs() < 1e-4, "{c:?}");
        }
    }
}
