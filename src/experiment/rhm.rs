//! The random hierarchy model (Petrini, Cagnetta, Tomasini, Favero, Wyart 2023–24), generated
//! in-process from a seed.
//!
//! A grammar of depth L over a vocabulary of v symbols: each of the n_c classes (level 0) has m
//! productions, each a string of s level-1 symbols; each of the v symbols of level l ∈ 1..L−1 has
//! m productions of s level-(l+1) symbols. Within a level all productions are distinct s-tuples
//! (drawn without replacement from the v^s possible ones), so the grammar is unambiguous: every
//! string decodes to one class. A sample picks a class uniformly, then one of the m productions
//! uniformly at every node; the input is the one-hot encoding of its s^L symbols (s^L·v values).
//!
//! Assumptions: s ≥ 2, L ≥ 1, n_c ≥ 2, m ≥ 1, n_c·m ≤ v^s and (for L ≥ 2) v·m ≤ v^s.

use rand::Rng;
use rand::seq::SliceRandom;
use std::collections::HashMap;

/// Grammar sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RhmSizes {
    /// Vocabulary size v.
    pub v: usize,
    /// Multiplicity m (productions per symbol).
    pub m: usize,
    /// Depth L.
    pub depth: usize,
    /// Branching s (symbols per production).
    pub s: usize,
    /// Number of classes n_c.
    pub n_classes: usize,
}

impl RhmSizes {
    /// Check the assumptions of the module doc.
    ///
    /// # Errors
    /// The first violated one, with the fix.
    pub fn validate(&self) -> Result<(), String> {
        let RhmSizes {
            v,
            m,
            depth,
            s,
            n_classes,
        } = *self;
        if s < 2 || depth < 1 || n_classes < 2 || m < 1 || v < 1 {
            return Err(format!(
                "random hierarchy sizes v={v} m={m} L={depth} s={s} n_c={n_classes}: need s ≥ 2, L ≥ 1, n_c ≥ 2, m ≥ 1, v ≥ 1"
            ));
        }
        let tuples = (v as u64).checked_pow(s as u32).unwrap_or(u64::MAX);
        if (n_classes * m) as u64 > tuples || (depth >= 2 && (v * m) as u64 > tuples) {
            return Err(format!(
                "random hierarchy: {} productions per level do not fit in v^s = {tuples} distinct strings: lower m or n_c, or raise v or s",
                (n_classes.max(v)) * m
            ));
        }
        Ok(())
    }

    /// Length of a sample, s^L.
    pub fn length(&self) -> usize {
        self.s.pow(self.depth as u32)
    }

    /// Input dimension s^L·v (one-hot per position).
    pub fn input_dim(&self) -> usize {
        self.length() * self.v
    }
}

/// A sampled grammar.
#[derive(Debug, Clone)]
pub struct Rhm {
    sizes: RhmSizes,
    /// rules[l][symbol][k]: the k-th production (s symbols of level l+1) of `symbol` at level l.
    rules: Vec<Vec<Vec<Vec<usize>>>>,
}

impl Rhm {
    /// Draw a grammar (sizes validated by the caller with [`RhmSizes::validate`]).
    pub fn new(sizes: RhmSizes, rng: &mut impl Rng) -> Self {
        let RhmSizes {
            v,
            m,
            depth,
            s,
            n_classes,
        } = sizes;
        let n_tuples = v.pow(s as u32);
        let rules = (0..depth)
            .map(|l| {
                let symbols = if l == 0 { n_classes } else { v };
                let mut all: Vec<usize> = (0..n_tuples).collect();
                all.shuffle(rng);
                (0..symbols)
                    .map(|a| {
                        (0..m)
                            .map(|k| {
                                let mut t = all[a * m + k];
                                let mut tuple = vec![0; s];
                                for slot in tuple.iter_mut().rev() {
                                    *slot = t % v;
                                    t /= v;
                                }
                                tuple
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        Self { sizes, rules }
    }

    /// The sizes.
    pub fn sizes(&self) -> RhmSizes {
        self.sizes
    }

    /// The productions of `symbol` at level `l` (level 0 = classes).
    pub fn productions(&self, l: usize, symbol: usize) -> &[Vec<usize>] {
        &self.rules[l][symbol]
    }

    /// Expand `class` into a string of s^L symbols, choosing productions with `rng`.
    pub fn sample(&self, class: usize, rng: &mut impl Rng) -> Vec<usize> {
        let mut cur = vec![class];
        for level in &self.rules {
            cur = cur
                .iter()
                .flat_map(|&a| level[a][rng.random_range(0..self.sizes.m)].iter().copied())
                .collect();
        }
        cur
    }

    /// The class a string derives from, or `None` if the grammar does not produce it.
    pub fn decode(&self, string: &[usize]) -> Option<usize> {
        let s = self.sizes.s;
        let mut cur = string.to_vec();
        for level in self.rules.iter().rev() {
            let inverse: HashMap<&[usize], usize> = level
                .iter()
                .enumerate()
                .flat_map(|(a, prods)| prods.iter().map(move |p| (p.as_slice(), a)))
                .collect();
            if cur.len() % s != 0 {
                return None;
            }
            cur = cur
                .chunks(s)
                .map(|c| inverse.get(c).copied())
                .collect::<Option<Vec<_>>>()?;
        }
        (cur.len() == 1).then(|| cur[0])
    }

    /// One-hot encoding (position-major: value index p·v + symbol).
    pub fn one_hot(&self, string: &[usize], out: &mut [f64]) {
        out.fill(0.0);
        for (p, &a) in string.iter().enumerate() {
            out[p * self.sizes.v + a] = 1.0;
        }
    }
}
