//! Row-major f32 matrices of embeddings (L2-normalised rows) and string labels encoded as ids.
//! Similarities are matrix products (ndarray's GEMM), never per-pair loops.
use crate::error::{Error, Result};
use ndarray::{ArrayView2, Axis};
use std::collections::BTreeMap;

/// `rows × cols` f32 values, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

impl Matrix {
    pub fn new(rows: usize, cols: usize, data: Vec<f32>) -> Result<Self> {
        if data.len() != rows * cols {
            return Err(Error::Config(format!(
                "matrix {rows}x{cols} needs {} values, got {}",
                rows * cols,
                data.len()
            )));
        }
        Ok(Matrix { rows, cols, data })
    }

    pub fn zeros(rows: usize, cols: usize) -> Self {
        Matrix { rows, cols, data: vec![0.0; rows * cols] }
    }

    /// From equal-length rows (an empty list gives a 0×0 matrix).
    pub fn from_rows(rows: &[Vec<f32>]) -> Result<Self> {
        let cols = rows.first().map_or(0, Vec::len);
        let mut data = Vec::with_capacity(rows.len() * cols);
        for (i, r) in rows.iter().enumerate() {
            if r.len() != cols {
                return Err(Error::Config(format!("row {i} has {} values, expected {cols}", r.len())));
            }
            data.extend_from_slice(r);
        }
        Ok(Matrix { rows: rows.len(), cols, data })
    }

    #[inline]
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    pub fn view(&self) -> ArrayView2<'_, f32> {
        // Shape always matches data.len() by construction.
        ArrayView2::from_shape((self.rows, self.cols), &self.data).unwrap_or_else(|_| unreachable!())
    }

    /// Rows scaled to unit length; all-zero rows stay zero (no direction to keep).
    pub fn normalized(mut self) -> Self {
        if self.cols > 0 {
            for r in self.data.chunks_mut(self.cols) {
                let n = r.iter().map(|v| v * v).sum::<f32>().sqrt();
                if n > 1e-12 {
                    r.iter_mut().for_each(|v| *v /= n);
                }
            }
        }
        self
    }

    /// Subset of rows, in the given order.
    pub fn select(&self, idx: &[usize]) -> Self {
        let mut data = Vec::with_capacity(idx.len() * self.cols);
        for &i in idx {
            data.extend_from_slice(self.row(i));
        }
        Matrix { rows: idx.len(), cols: self.cols, data }
    }

    /// `self · otherᵀ` as a `self.rows × other.rows` matrix.
    pub fn dot_t(&self, other: &Matrix) -> Matrix {
        let p = self.view().dot(&other.view().t());
        let data = p.as_standard_layout().iter().copied().collect();
        Matrix { rows: self.rows, cols: other.rows, data }
    }

    /// Column sums of the rows whose label is `c`, for every label id: `n_labels × cols`.
    pub fn label_sums(&self, labels: &[u32], n_labels: usize) -> Matrix {
        let mut out = Matrix::zeros(n_labels, self.cols);
        for (i, &l) in labels.iter().enumerate() {
            let dst = &mut out.data[l as usize * self.cols..(l as usize + 1) * self.cols];
            dst.iter_mut().zip(self.row(i)).for_each(|(d, v)| *d += v);
        }
        out
    }

    /// Mean of all rows (length `cols`).
    pub fn column_means(&self) -> Vec<f32> {
        if self.rows == 0 {
            return vec![0.0; self.cols];
        }
        self.view().mean_axis(Axis(0)).map(|m| m.to_vec()).unwrap_or_else(|| vec![0.0; self.cols])
    }
}

/// String labels as dense ids `0..names.len()`, names sorted so ids do not depend on row order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LabelSet {
    pub names: Vec<String>,
    index: BTreeMap<String, u32>,
}

impl LabelSet {
    pub fn from_names<I: IntoIterator<Item = S>, S: AsRef<str>>(names: I) -> Self {
        let mut v: Vec<String> = names.into_iter().map(|s| s.as_ref().to_string()).collect();
        v.sort();
        v.dedup();
        let index = v.iter().enumerate().map(|(i, n)| (n.clone(), i as u32)).collect();
        LabelSet { names: v, index }
    }

    pub fn id(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map(String::as_str).unwrap_or("")
    }

    /// Ids of `labels`; a name not in the set is an error naming it.
    pub fn encode<S: AsRef<str>>(&self, labels: &[S]) -> Result<Vec<u32>> {
        labels
            .iter()
            .map(|l| self.id(l.as_ref()).ok_or_else(|| Error::Config(format!("unknown label `{}`", l.as_ref()))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_multiplies() {
        let m = Matrix::from_rows(&[vec![3.0, 4.0], vec![0.0, 2.0], vec![0.0, 0.0]]).unwrap().normalized();
        assert_eq!(m.row(0), &[0.6, 0.8]);
        assert_eq!(m.row(2), &[0.0, 0.0]);
        let s = m.dot_t(&m);
        assert_eq!((s.rows, s.cols), (3, 3));
        assert!((s.data[1] - 0.8).abs() < 1e-6);
        assert!((s.data[0] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn label_sums_and_set() {
        let m = Matrix::from_rows(&[vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 1.0]]).unwrap();
        let s = m.label_sums(&[1, 0, 1], 2);
        assert_eq!(s.data, vec![0.0, 1.0, 2.0, 1.0]);
        let ls = LabelSet::from_names(["b", "a", "b"]);
        assert_eq!(ls.names, vec!["a", "b"]);
        assert_eq!(ls.encode(&["b", "a"]).unwrap(), vec![1, 0]);
        assert!(ls.encode(&["c"]).is_err());
        assert!(Matrix::from_rows(&[vec![1.0], vec![1.0, 2.0]]).is_err());
    }
}
