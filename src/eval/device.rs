//! Verdicts where the model runs: with the tch engine (CUDA / MPS, or the CPU on request) the
//! embeddings stay on the model's device, the k-NN scores against every reference row are one
//! matrix product and `topk` there, and so is the nearest service prototype; only k
//! `(score, index)` pairs and one `(prototype, cosine)` per flow come back to the host, where the
//! vote is the host index's (`knn::vote_top`).
use super::knn::{vote_top, KnnIndex, KnnVote};
use super::matrix::Matrix;
use super::prototype::Prototypes;
use super::run::{to_matrix, Engine};
use crate::error::{Error, Result};
use crate::train::checkpoint::EmbeddingMatrix;
use tch::{Device, Kind, Tensor};

/// A cosine k-NN index and the service prototypes, as tensors on one device.
pub struct DeviceVerdicts {
    /// Reference rows transposed, `[dim, n]`.
    refs_t: Tensor,
    labels: Vec<u32>,
    n_labels: usize,
    /// Prototype rows transposed, `[dim, prototypes]`.
    protos_t: Tensor,
    proto_labels: Vec<u32>,
}

/// A host matrix as a `[rows, cols]` tensor on `device`.
fn upload(m: &Matrix, device: Device) -> Tensor {
    Tensor::from_slice(&m.data).view([m.rows as i64, m.cols as i64]).to_device(device)
}

impl DeviceVerdicts {
    /// `refs` rows L2-normalised (as `KnnIndex::cosine` takes them), `labels` their label ids.
    pub fn new(refs: &Matrix, labels: &[u32], n_labels: usize, protos: &Prototypes, device: Device) -> Self {
        DeviceVerdicts {
            refs_t: upload(refs, device).tr().contiguous(),
            labels: labels.to_vec(),
            n_labels,
            protos_t: upload(&protos.matrix, device).tr().contiguous(),
            proto_labels: protos.labels.clone(),
        }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// k-NN votes and `(label, cosine)` of the nearest prototype of each row of `z [n, dim]`
    /// (unit rows, on this index's device); `z` stays there (`RowVerdicts::z` is `None`).
    pub fn predict(&self, z: &Tensor, k: usize) -> Result<RowVerdicts> {
        let n = z.size().first().copied().unwrap_or(0) as usize;
        if n == 0 {
            return Ok(RowVerdicts { votes: Vec::new(), nearest: Vec::new(), z: None });
        }
        let _guard = tch::no_grad_guard();
        let z = z.to_kind(Kind::Float);
        let votes = if self.is_empty() || k == 0 {
            Vec::new()
        } else {
            let k = k.min(self.len());
            let (score, index) = z.matmul(&self.refs_t).topk(k as i64, 1, true, true);
            let score: Vec<f32> = to_host(&score)?;
            let index: Vec<i64> = to_host(&index)?;
            (0..n)
                .map(|r| {
                    let mut top: Vec<(f32, usize)> =
                        (r * k..(r + 1) * k).map(|j| (score[j], index[j] as usize)).collect();
                    // Equal scores in index order, as the host index ranks them.
                    top.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                    vote_top(&top, &self.labels, self.n_labels)
                })
                .collect()
        };
        let nearest = if self.proto_labels.is_empty() {
            vec![(0, f32::NAN); n]
        } else {
            let (best, which) = z.matmul(&self.protos_t).max_dim(1, false);
            let best: Vec<f32> = to_host(&best)?;
            let which: Vec<i64> = to_host(&which)?;
            which.iter().zip(best).map(|(&w, s)| (self.proto_labels[w as usize], s)).collect()
        };
        Ok(RowVerdicts { votes, nearest, z: None })
    }
}

/// k-NN votes and nearest prototypes of embedded rows, computed where the engine's embeddings
/// are: on the host for the host engine, on the model's device for tch.
pub enum Verdicts {
    Host { index: KnnIndex, protos: Prototypes },
    Device(DeviceVerdicts),
}

/// What `Verdicts::of_rows` gives for each row, in order.
pub struct RowVerdicts {
    pub votes: Vec<KnnVote>,
    /// `(label, cosine)` of the nearest prototype.
    pub nearest: Vec<(u32, f32)>,
    /// The unit `z_flow` rows on the host, when asked for.
    pub z: Option<Matrix>,
}

impl Verdicts {
    /// `refs` unit rows with their label ids; `protos` built from them or from training rows.
    pub fn new(engine: &Engine, refs: Matrix, labels: Vec<u32>, n_labels: usize, protos: Prototypes) -> Self {
        if engine.embeds_on_device() {
            Verdicts::Device(DeviceVerdicts::new(&refs, &labels, n_labels, &protos, engine.device))
        } else {
            Verdicts::Host { index: KnnIndex::cosine(refs, labels, n_labels), protos }
        }
    }

    /// Reference rows of the index.
    pub fn len(&self) -> usize {
        match self {
            Verdicts::Host { index, .. } => index.len(),
            Verdicts::Device(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows → features → model → k-NN votes and nearest prototypes (`batch` rows per forward
    /// pass); `want_z` also brings the embeddings to the host.
    pub fn of_rows(
        &self,
        engine: &Engine,
        rows: &[&crate::features::FlowRow],
        batch: usize,
        k: usize,
        want_z: bool,
    ) -> Result<RowVerdicts> {
        match self {
            Verdicts::Host { index, protos } => {
                let z = engine.z_flow(rows, batch)?;
                Ok(RowVerdicts { votes: index.predict(&z, k), nearest: protos.nearest(&z), z: want_z.then_some(z) })
            }
            Verdicts::Device(d) => {
                let z = engine
                    .z_flow_tensor(rows, batch)
                    .ok_or_else(|| Error::Config("device verdicts need the tch engine".into()))?;
                let mut r = d.predict(&z, k)?;
                if want_z {
                    r.z = Some(to_matrix(EmbeddingMatrix::from_tensor(&z)?)?);
                }
                Ok(r)
            }
        }
    }
}

/// A tensor's values on the host, flattened in row order.
fn to_host<T>(t: &Tensor) -> Result<Vec<T>>
where
    for<'a> Vec<T>: TryFrom<&'a Tensor, Error = tch::TchError>,
{
    Vec::<T>::try_from(&t.to_device(Device::Cpu).contiguous().view([-1])).map_err(Error::Torch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_verdicts_match_the_host_index() {
        // 40 unit references of 3 labels and 9 queries: distinct deterministic directions in 4-D
        // (no two scores tie, so both sides must pick the same neighbours).
        let vecs = |n: usize, seed: u64| -> Matrix {
            let mut rng = crate::dataset::rng::SplitMix::new(seed, &[]);
            let rows: Vec<Vec<f32>> = (0..n).map(|_| (0..4).map(|_| rng.uniform() as f32 - 0.5).collect()).collect();
            Matrix::from_rows(&rows).unwrap().normalized()
        };
        let (refs, q) = (vecs(40, 5), vecs(9, 3));
        let labels: Vec<u32> = (0..40).map(|i| (i % 3) as u32).collect();
        let protos = Prototypes::build(&refs, &labels, 3, None);
        let dev = DeviceVerdicts::new(&refs, &labels, 3, &protos, Device::Cpu);
        let host = KnnIndex::cosine(refs.clone(), labels.clone(), 3);
        let zq = upload(&q, Device::Cpu);
        for k in [1, 3, 5, 40, 60] {
            let RowVerdicts { votes, nearest: near, .. } = dev.predict(&zq, k).unwrap();
            let want = host.predict(&q, k);
            assert_eq!(
                votes.iter().map(|v| (v.label, v.nearest)).collect::<Vec<_>>(),
                want.iter().map(|v| (v.label, v.nearest)).collect::<Vec<_>>(),
                "k {k}"
            );
            for (a, b) in votes.iter().zip(&want) {
                assert!((a.top_score - b.top_score).abs() < 1e-5);
            }
            for (a, b) in near.iter().zip(protos.nearest(&q)) {
                assert!(a.0 == b.0 && (a.1 - b.1).abs() < 1e-5, "{a:?} vs {b:?}");
            }
        }
        let empty = dev.predict(&Tensor::zeros([0, 4], (Kind::Float, Device::Cpu)), 5).unwrap();
        assert!(empty.votes.is_empty() && empty.nearest.is_empty());
    }
}
