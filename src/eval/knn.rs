//! k-nearest neighbours as a batched matrix product: queries in blocks × the reference matrix
//! (packed once at construction, so a single query pays no per-call packing of the whole
//! reference set), then a top-k pass per query row (rayon over blocks). Majority vote; a tie in votes goes to
//! the label whose neighbours have the larger summed score, then to the smaller label id.
use super::matrix::Matrix;
use crate::infer::matmul::Packed;
use rayon::prelude::*;

/// Queries per block: a `BLOCK × n_ref` score buffer (~190 KB for 1,500 references) stays in
/// L2 between the product and the votes, and a batch of 256 verdicts spreads over 8 rayon tasks.
const BLOCK: usize = 32;

thread_local! {
    /// Per-thread score buffer, reused across blocks and calls.
    static SCORES: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Reference rows with their labels. Scores are `q · r + bias_r`: cosine on unit vectors
/// (bias 0), or minus half the squared Euclidean distance up to a per-query constant
/// (bias −|r|²/2), so one kernel serves both.
pub struct KnnIndex {
    /// Reference rows, transposed into matmul panels; every query row is scored the same way
    /// whatever its block.
    packed: Packed,
    labels: Vec<u32>,
    bias: Option<Vec<f32>>,
    n_labels: usize,
}

/// One query's verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KnnVote {
    pub label: u32,
    /// Index (into the reference rows) of the single most similar row.
    pub nearest: usize,
    /// Score of that row (the cosine for a cosine index).
    pub top_score: f32,
}

impl KnnIndex {
    /// Cosine index: `refs` rows must be L2-normalised.
    pub fn cosine(refs: Matrix, labels: Vec<u32>, n_labels: usize) -> Self {
        KnnIndex { packed: pack(&refs), labels, bias: None, n_labels }
    }

    /// Euclidean index (for raw, standardised feature vectors).
    pub fn euclidean(refs: Matrix, labels: Vec<u32>, n_labels: usize) -> Self {
        let bias = (0..refs.rows).map(|i| -0.5 * refs.row(i).iter().map(|v| v * v).sum::<f32>()).collect();
        KnnIndex { packed: pack(&refs), labels, bias: Some(bias), n_labels }
    }

    pub fn len(&self) -> usize {
        self.packed.n
    }

    pub fn is_empty(&self) -> bool {
        self.packed.n == 0
    }

    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// Votes of every query row (empty index → empty result).
    pub fn predict(&self, queries: &Matrix, k: usize) -> Vec<KnnVote> {
        if self.is_empty() || k == 0 {
            return Vec::new();
        }
        let n = self.packed.n;
        let block = |s: usize, e: usize| -> Vec<KnnVote> {
            SCORES.with(|buf| {
                // The thread's score buffer, grown once: the product overwrites every value.
                let mut buf = buf.borrow_mut();
                if buf.len() < (e - s) * n {
                    buf.resize((e - s) * n, 0.0);
                }
                let scores = &mut buf[..(e - s) * n];
                let q = &queries.data[s * queries.cols..e * queries.cols];
                self.packed.matmul_into(q, queries.cols, e - s, None, scores, n);
                scores.chunks_exact(n).map(|row| self.vote(row, k)).collect()
            })
        };
        if queries.rows <= BLOCK {
            // One block (e.g. a single flow): no thread hand-off.
            return block(0, queries.rows);
        }
        let blocks: Vec<(usize, usize)> =
            (0..queries.rows).step_by(BLOCK).map(|s| (s, (s + BLOCK).min(queries.rows))).collect();
        let parts: Vec<Vec<KnnVote>> = blocks.par_iter().map(|&(s, e)| block(s, e)).collect();
        parts.into_iter().flatten().collect()
    }

    /// Vote of one query from its scores against every reference row.
    pub fn vote(&self, scores: &[f32], k: usize) -> KnnVote {
        vote_top(&top_k(scores, self.bias.as_deref(), k), &self.labels, self.n_labels)
    }
}

/// Majority vote of a query's best `(score, reference index)` pairs, best first: a tie in votes
/// goes to the label with the larger summed score, then to the smaller label id.
pub fn vote_top(top: &[(f32, usize)], labels: &[u32], n_labels: usize) -> KnnVote {
    let mut votes = vec![0u32; n_labels];
    let mut sums = vec![0f64; n_labels];
    for &(s, i) in top {
        let l = labels[i] as usize;
        votes[l] += 1;
        sums[l] += s as f64;
    }
    let mut best = 0usize;
    for l in 1..n_labels {
        if (votes[l], sums[l]) > (votes[best], sums[best]) {
            best = l;
        }
    }
    let (top_score, nearest) = top.first().copied().unwrap_or((f32::NAN, 0));
    KnnVote { label: best as u32, nearest, top_score }
}

fn pack(refs: &Matrix) -> Packed {
    Packed::new(&crate::infer::ops::transpose(&refs.data, refs.rows, refs.cols), refs.cols, refs.rows)
}

/// The `k` best `(score, index)` pairs, best first; equal scores keep the smaller index first.
pub fn top_k(scores: &[f32], bias: Option<&[f32]>, k: usize) -> Vec<(f32, usize)> {
    match bias {
        None => top_k_plain(scores, k),
        Some(b) => top_k_plain(&scores.iter().zip(b).map(|(s, b)| s + b).collect::<Vec<_>>(), k),
    }
}

fn top_k_plain(scores: &[f32], k: usize) -> Vec<(f32, usize)> {
    let mut top: Vec<(f32, usize)> = Vec::with_capacity(k);
    if k == 0 {
        return top;
    }
    // The first k scores that are not NaN fill the list.
    let mut next = 0;
    while top.len() < k && next < scores.len() {
        if !scores[next].is_nan() {
            top.push((scores[next], next));
            let last = top.len() - 1;
            sift_up(&mut top, last);
        }
        next += 1;
    }
    if top.len() < k {
        return top;
    }
    // From then on only a score above the k-th best (`floor`) is a candidate: a vector compare
    // of 8 scores gives a bit per candidate (NaN never compares above), and only those bits are
    // visited. Scores of one class come in long runs of near-equal values, so candidates are
    // not rare; each costs a shift of at most k entries.
    let mut floor = top[k - 1].0;
    let rest = &scores[next..];
    let (chunks, tail) = rest.as_chunks::<8>();
    let offer = |s: f32, i: usize, top: &mut Vec<(f32, usize)>, floor: &mut f32| {
        if s > *floor {
            top[k - 1] = (s, i);
            sift_up(top, k - 1);
            *floor = top[k - 1].0;
        }
    };
    for (c, chunk) in chunks.iter().enumerate() {
        let mut bits = above(chunk, floor);
        while bits != 0 {
            let j = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            offer(chunk[j], next + c * 8 + j, &mut top, &mut floor);
        }
    }
    let tail_start = next + chunks.len() * 8;
    for (j, &s) in tail.iter().enumerate() {
        offer(s, tail_start + j, &mut top, &mut floor);
    }
    top
}

/// Move `top[i]` up past the entries it beats (strictly: an equal score stays behind, so equal
/// scores keep index order).
fn sift_up(top: &mut [(f32, usize)], mut i: usize) {
    let v = top[i];
    while i > 0 && v.0 > top[i - 1].0 {
        top[i] = top[i - 1];
        i -= 1;
    }
    top[i] = v;
}

/// Bit j set when `chunk[j] > floor`.
#[inline(always)]
fn above(chunk: &[f32; 8], floor: f32) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE is part of x86-64; unaligned loads of 2 × 4 in-bounds floats.
        unsafe {
            let f = _mm_set1_ps(floor);
            let lo = _mm_movemask_ps(_mm_cmpgt_ps(_mm_loadu_ps(chunk.as_ptr()), f)) as u32;
            let hi = _mm_movemask_ps(_mm_cmpgt_ps(_mm_loadu_ps(chunk.as_ptr().add(4)), f)) as u32;
            lo | hi << 4
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        chunk.iter().enumerate().fold(0u32, |bits, (j, &s)| bits | ((s > floor) as u32) << j)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(rows: &[[f32; 2]]) -> Matrix {
        Matrix::from_rows(&rows.iter().map(|r| r.to_vec()).collect::<Vec<_>>()).unwrap().normalized()
    }

    #[test]
    fn majority_vote() {
        // Two refs of label 0 near the x axis, one of label 1 exactly on it.
        let refs = unit(&[[1.0, 0.1], [1.0, 0.2], [1.0, 0.0], [0.0, 1.0]]);
        let idx = KnnIndex::cosine(refs, vec![0, 0, 1, 1], 2);
        let q = unit(&[[1.0, 0.0], [0.0, 1.0]]);
        let v = idx.predict(&q, 3);
        assert_eq!(v[0].label, 0); // 2 votes for 0 beat the single closest label-1 row
        assert_eq!(v[0].nearest, 2);
        assert!((v[0].top_score - 1.0).abs() < 1e-6);
        assert_eq!(idx.predict(&q, 1)[0].label, 1);
        assert_eq!(v[1].label, 0); // neighbours: [0,1] (1.0), then the two label-0 rows
    }

    #[test]
    fn tie_broken_by_summed_similarity() {
        // k = 2: one vote each; label 1's neighbour is closer.
        let refs = unit(&[[1.0, 1.0], [1.0, 0.1]]);
        let idx = KnnIndex::cosine(refs, vec![0, 1], 2);
        let v = idx.predict(&unit(&[[1.0, 0.0]]), 2);
        assert_eq!(v[0].label, 1);
        // Reverse the labels: still the closer row's label wins.
        let refs = unit(&[[1.0, 1.0], [1.0, 0.1]]);
        let idx = KnnIndex::cosine(refs, vec![1, 0], 2);
        assert_eq!(idx.predict(&unit(&[[1.0, 0.0]]), 2)[0].label, 0);
    }

    #[test]
    fn euclidean_ranks_by_distance() {
        // Cosine would call (10,0) and (1,0) equal; Euclidean picks the near one.
        let refs = Matrix::from_rows(&[vec![10.0, 0.0], vec![1.0, 0.0], vec![0.0, 2.0]]).unwrap();
        let idx = KnnIndex::euclidean(refs, vec![0, 1, 2], 3);
        let q = Matrix::from_rows(&[vec![1.2, 0.0], vec![9.0, 0.0], vec![0.0, 1.5]]).unwrap();
        let v: Vec<u32> = idx.predict(&q, 1).iter().map(|v| v.label).collect();
        assert_eq!(v, vec![1, 0, 2]);
    }

    #[test]
    fn many_queries_span_blocks() {
        let refs = unit(&[[1.0, 0.0], [0.0, 1.0]]);
        let idx = KnnIndex::cosine(refs, vec![0, 1], 2);
        let rows: Vec<[f32; 2]> = (0..600).map(|i| if i % 2 == 0 { [1.0, 0.2] } else { [0.1, 1.0] }).collect();
        let v = idx.predict(&unit(&rows), 1);
        assert_eq!(v.len(), 600);
        assert!(v.iter().enumerate().all(|(i, v)| v.label == (i % 2) as u32));
    }

    #[test]
    fn top_k_order_and_ties() {
        let t = top_k(&[0.5, 0.9, 0.5, 0.1], None, 3);
        assert_eq!(t, vec![(0.9, 1), (0.5, 0), (0.5, 2)]);
    }

    #[test]
    fn top_k_equals_a_full_sort() {
        // Scores on a coarse grid (many ties), some NaN, with and without a bias; lengths that
        // are and are not multiples of the 8-score chunk.
        let mut state = 12345u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as u32
        };
        for n in [0usize, 3, 8, 13, 64, 301] {
            let scores: Vec<f32> =
                (0..n).map(|_| if next() % 17 == 0 { f32::NAN } else { (next() % 21) as f32 / 10.0 - 1.0 }).collect();
            let bias: Vec<f32> = (0..n).map(|_| (next() % 5) as f32 / -10.0).collect();
            for b in [None, Some(&bias[..])] {
                for k in [1usize, 5, 9] {
                    let mut want: Vec<(f32, usize)> =
                        (0..n).map(|i| (scores[i] + b.map_or(0.0, |b| b[i]), i)).filter(|(s, _)| !s.is_nan()).collect();
                    want.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
                    want.truncate(k);
                    assert_eq!(top_k(&scores, b, k), want, "n {n}, k {k}, bias {}", b.is_some());
                }
            }
        }
    }
}
