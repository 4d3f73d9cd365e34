//! Per-class memory bank of past (detached) embeddings for SupCon, and prototypes from it.
use tch::{Device, Kind, Tensor};

pub struct MemoryBank {
    per_class: usize,
    classes: usize,
    dim: usize,
    /// `[classes · per_class, dim]`
    z: Tensor,
    /// `[classes · per_class]`, -1 = empty slot.
    labels: Tensor,
    next: Vec<usize>,
}

impl MemoryBank {
    pub fn new(classes: usize, per_class: usize, dim: usize, device: Device) -> Self {
        let n = (classes * per_class) as i64;
        MemoryBank {
            per_class,
            classes,
            dim,
            z: Tensor::zeros([n, dim as i64], (Kind::Float, device)),
            labels: Tensor::full([n], -1, (Kind::Int64, device)),
            next: vec![0; classes],
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.per_class > 0
    }

    /// Push a batch (`z [B, D]`, class ids); each class keeps its latest `per_class` entries.
    pub fn push(&mut self, z: &Tensor, labels: &[i64]) {
        if self.per_class == 0 {
            return;
        }
        let mut slot_row: Vec<Option<i64>> = vec![None; self.classes * self.per_class];
        for (row, &c) in labels.iter().enumerate() {
            if c < 0 || c as usize >= self.classes {
                continue;
            }
            let c = c as usize;
            slot_row[c * self.per_class + self.next[c]] = Some(row as i64);
            self.next[c] = (self.next[c] + 1) % self.per_class;
        }
        let (slots, rows): (Vec<i64>, Vec<i64>) =
            slot_row.iter().enumerate().filter_map(|(s, r)| r.map(|r| (s as i64, r))).unzip();
        if slots.is_empty() {
            return;
        }
        let dev = self.z.device();
        let slots = Tensor::from_slice(&slots).to(dev);
        let rows_t = Tensor::from_slice(&rows).to(dev);
        let lab: Vec<i64> = rows.iter().map(|&r| labels[r as usize]).collect();
        let _ = self.z.index_copy_(0, &slots, &z.detach().index_select(0, &rows_t));
        let _ = self.labels.index_copy_(0, &slots, &Tensor::from_slice(&lab).to(dev));
    }

    /// The whole bank (empty slots carry label -1, which the losses ignore).
    pub fn contents(&self) -> (&Tensor, &Tensor) {
        (&self.z, &self.labels)
    }

    /// Per-class mean of the stored embeddings, L2-normalised, and whether a class has any.
    pub fn prototypes(&self) -> (Tensor, Tensor) {
        let (c, m, d) = (self.classes as i64, self.per_class.max(1) as i64, self.dim as i64);
        if self.per_class == 0 {
            let dev = self.z.device();
            return (Tensor::zeros([c, d], (Kind::Float, dev)), Tensor::zeros([c], (Kind::Bool, dev)));
        }
        let filled = self.labels.ge(0).to_kind(Kind::Float).view([c, m, 1]);
        let sum = (self.z.view([c, m, d]) * &filled).sum_dim_intlist(1, false, Kind::Float);
        let count = filled.sum_dim_intlist(1, false, Kind::Float);
        let mean = sum / count.clamp_min(1.0);
        let protos = crate::model::pooling::l2_normalize(&mean);
        (protos, count.view([c]).gt(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_keeps_latest_per_class_and_prototypes_average() {
        let mut bank = MemoryBank::new(2, 2, 2, Device::Cpu);
        let z = Tensor::from_slice(&[1.0f32, 0.0, 0.0, 1.0, 1.0, 1.0]).view([3, 2]);
        bank.push(&z, &[0, 0, 0]);
        let (_, labels) = bank.contents();
        assert_eq!(Vec::<i64>::try_from(labels).unwrap(), vec![0, 0, -1, -1]);
        let (zb, _) = bank.contents();
        // third row overwrote slot 0
        assert_eq!(Vec::<f32>::try_from(&zb.view([-1])).unwrap(), vec![1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
        let (p, present) = bank.prototypes();
        assert_eq!(Vec::<bool>::try_from(&present).unwrap(), vec![true, false]);
        let p0 = Vec::<f32>::try_from(&p.get(0)).unwrap();
        // mean (0.5, 1) normalised
        let n = (0.25f32 + 1.0).sqrt();
        assert!((p0[0] - 0.5 / n).abs() < 1e-6 && (p0[1] - 1.0 / n).abs() < 1e-6);
    }
}
