//! Sample complexity on the random hierarchy model against α (P1 Fig. 6, the random-hierarchy
//! panel; P1 App. D.3).
//!
//! **Task.** A random hierarchy grammar ([`super::rhm`]) at P1's sizes by default (v = 8, m = 4,
//! L = 3, s = 2, n_c = 8: inputs of 8 positions × 8 symbols one-hot, 8 classes). Per seed: one
//! grammar, one pool of distinct strings; the training set of size P is the first P strings of
//! the pool (nested across P), the test set the last `n_test` (disjoint from every training set).
//!
//! **Network and training.** A bias-free ReLU MLP with `hidden_layers` hidden layers of width
//! `width` (P1: 3 × 64) and n_c outputs, He-normal weights with the first layer divided by α;
//! softmax cross-entropy, mini-batch SGD with momentum (P1: momentum 0.9, batch 128), `epochs`
//! passes over a reshuffled training set, constant step `lr`. P1 trains 250 epochs at lr 6.4 in
//! its parametrisation; lazyrich uses fewer epochs (the budget of 2 cores) and a step that is
//! stable in the standard parametrisation used here, so absolute errors are not P1's.
//!
//! **Measured.** Test error (1 − accuracy, ties wrong) and training error after the last epoch.

use super::mlp::{self, Mlp};
use super::rhm::{Rhm, RhmSizes};
use super::{Experiment, Kind, PointResult, PointSpec, RunRecord, run_seed};
use crate::report::plot::PlotError;
use faer::Mat;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// Settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Seeds per point.
    pub seeds: usize,
    /// Grammar sizes.
    pub grammar: RhmSizes,
    /// Hidden layers.
    pub hidden_layers: usize,
    /// Hidden width.
    pub width: usize,
    /// Training-set sizes P.
    pub train_sizes: Vec<usize>,
    /// Test samples.
    pub n_test: usize,
    /// Epochs.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch: usize,
    /// Step size.
    pub lr: f64,
    /// Momentum.
    pub momentum: f64,
    /// α values.
    pub alphas: Vec<f64>,
}

impl Settings {
    /// `--quick`.
    pub fn quick() -> Self {
        Settings {
            seeds: 2,
            grammar: RhmSizes {
                v: 8,
                m: 4,
                depth: 3,
                s: 2,
                n_classes: 8,
            },
            hidden_layers: 3,
            width: 64,
            train_sizes: vec![512, 2048, 8192],
            n_test: 1024,
            epochs: 200,
            batch: 128,
            lr: 0.03,
            momentum: 0.9,
            alphas: vec![0.1, 1.0, 10.0],
        }
    }

    /// Test-sized settings (a fraction of a second): for the end-to-end tests only.
    pub fn tiny() -> Self {
        Settings {
            seeds: 2,
            grammar: RhmSizes {
                v: 8,
                m: 4,
                depth: 2,
                s: 2,
                n_classes: 4,
            },
            hidden_layers: 2,
            width: 8,
            train_sizes: vec![16, 32],
            n_test: 32,
            epochs: 3,
            batch: 8,
            alphas: vec![0.5, 2.0],
            ..Self::quick()
        }
    }

    /// The full settings.
    pub fn full() -> Self {
        Settings {
            seeds: 4,
            train_sizes: vec![256, 512, 1024, 2048, 4096, 8192],
            n_test: 2048,
            alphas: vec![0.1, 0.3, 1.0, 3.0, 10.0],
            ..Self::quick()
        }
    }

    fn check(&self) -> Result<(), String> {
        use super::{positive, positive_list};
        for (n, v) in [
            ("seeds", self.seeds),
            ("hidden_layers", self.hidden_layers),
            ("width", self.width),
            ("n_test", self.n_test),
            ("epochs", self.epochs),
            ("batch", self.batch),
        ] {
            positive(n, v)?;
        }
        if self.train_sizes.is_empty() || self.train_sizes.contains(&0) {
            return Err(format!(
                "setting train_sizes = {:?}: give a non-empty list of positive sizes",
                self.train_sizes
            ));
        }
        positive_list("alphas", &self.alphas)?;
        positive_list("lr", &[self.lr])?;
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(format!("setting momentum = {}: give a value in [0, 1)", self.momentum));
        }
        self.grammar.validate()?;
        let g = self.grammar;
        // Distinct strings: n_c · m^(number of internal nodes), internal nodes = (s^L − 1)/(s − 1).
        let nodes = (g.length() - 1) / (g.s - 1);
        let total = (g.n_classes as f64) * (g.m as f64).powi(nodes as i32);
        let need = self.train_sizes.iter().max().copied().unwrap_or(0) + self.n_test;
        if (need as f64) > 0.5 * total {
            return Err(format!(
                "the grammar has {total} distinct strings; {need} distinct samples (largest P + n_test) need at most half of them: lower P or n_test"
            ));
        }
        Ok(())
    }
}

impl Experiment for Settings {
    fn kind(&self) -> Kind {
        Kind::Hierarchy
    }
    fn settings_json(&self) -> Value {
        serde_json::to_value(self).expect("settings serialise")
    }
    fn validate(&self) -> Result<(), String> {
        self.check()
    }
    fn seeds(&self) -> usize {
        self.seeds
    }
    fn points(&self) -> Vec<PointSpec> {
        self.alphas
            .iter()
            .flat_map(|&al| {
                self.train_sizes.iter().map(move |&p| PointSpec {
                    params: vec![("alpha".into(), al), ("P".into(), p as f64)],
                })
            })
            .collect()
    }

    fn run(&self, point: usize, seed_index: usize) -> RunRecord {
        let spec = &self.points()[point];
        let (alpha, p_train) = (spec.params[0].1, spec.params[1].1 as usize);
        let seed = run_seed(seed_index);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let g = self.grammar;
        let rhm = Rhm::new(g, &mut rng);
        let p_max = self.train_sizes.iter().max().copied().unwrap_or(0);
        let need = p_max + self.n_test;
        let mut seen = HashSet::with_capacity(need);
        let mut strings = Vec::with_capacity(need);
        let mut labels = Vec::with_capacity(need);
        while strings.len() < need {
            let class = rand::Rng::random_range(&mut rng, 0..g.n_classes);
            let s = rhm.sample(class, &mut rng);
            if seen.insert(s.clone()) {
                strings.push(s);
                labels.push(class);
            }
        }
        let dim = g.input_dim();
        let encode = |idx: &[usize]| {
            let mut m = Mat::<f64>::zeros(idx.len(), dim);
            let mut row = vec![0.0; dim];
            for (r, &i) in idx.iter().enumerate() {
                rhm.one_hot(&strings[i], &mut row);
                for (j, v) in row.iter().enumerate() {
                    m[(r, j)] = *v;
                }
            }
            m
        };
        let train_idx: Vec<usize> = (0..p_train).collect();
        let test_idx: Vec<usize> = (p_max..need).collect();
        let x = encode(&train_idx);
        let xt = encode(&test_idx);
        let y: Vec<usize> = train_idx.iter().map(|&i| labels[i]).collect();
        let yt: Vec<usize> = test_idx.iter().map(|&i| labels[i]).collect();

        let mut widths = vec![dim];
        widths.extend(std::iter::repeat_n(self.width, self.hidden_layers));
        widths.push(g.n_classes);
        let model = Mlp::new(&widths);
        let mut p = model.init(&mut rng, alpha, 1.0);
        let mut grad = model.zeros();
        let mut vel = model.zeros();
        let b = self.batch.min(p_train);
        let mut ws = model.workspace(b);
        let mut xb = Mat::<f64>::zeros(b, dim);
        let mut yb = vec![0usize; b];
        let mut order: Vec<usize> = (0..p_train).collect();
        let mut diverged = false;
        'epochs: for _ in 0..self.epochs {
            order.shuffle(&mut rng);
            for chunk in order.chunks_exact(b) {
                mlp::gather_rows(x.as_ref(), chunk, xb.as_mut());
                for (t, &i) in yb.iter_mut().zip(chunk) {
                    *t = y[i];
                }
                model.forward(&p, xb.as_ref(), &mut ws);
                let (loss, _) = mlp::cross_entropy(&mut ws, &yb, true);
                if !loss.is_finite() {
                    diverged = true;
                    break 'epochs;
                }
                model.backward(&p, xb.as_ref(), &mut ws, &mut grad);
                for ((w, v), gr) in p.iter_mut().zip(vel.iter_mut()).zip(&grad) {
                    *v = faer::Scale(self.momentum) * &*v + gr;
                    *w -= faer::Scale(self.lr) * &*v;
                }
            }
        }
        let error = |xm: &Mat<f64>, ym: &[usize]| {
            let mut ws = model.workspace(ym.len());
            model.forward(&p, xm.as_ref(), &mut ws);
            let (_, correct) = mlp::cross_entropy(&mut ws, ym, false);
            1.0 - correct as f64 / ym.len() as f64
        };
        let mut values = BTreeMap::new();
        values.insert("test_error".into(), (!diverged).then(|| error(&xt, &yt)));
        values.insert("train_error".into(), (!diverged).then(|| error(&x, &y)));
        values.insert("diverged".into(), Some(f64::from(u8::from(diverged))));
        RunRecord {
            index: point * self.seeds + seed_index,
            point,
            seed,
            values,
            series: BTreeMap::new(),
        }
    }

    fn figures(&self, points: &[PointResult]) -> Result<Vec<(String, String)>, PlotError> {
        use super::{alpha_label, curve, figure, panel, with_error_bars};
        let mut test = Vec::new();
        let mut train = Vec::new();
        for (c, &al) in self.alphas.iter().enumerate() {
            test.extend(with_error_bars(
                &alpha_label(al),
                &curve(points, "P", "test_error", &[("alpha", al)]),
                c,
                false,
            ));
            train.extend(with_error_bars(
                &alpha_label(al),
                &curve(points, "P", "train_error", &[("alpha", al)]),
                c,
                false,
            ));
        }
        let g = self.grammar;
        let fig = figure(
            &format!(
                "Random hierarchy model (v={}, m={}, L={}, s={}, n_c={}), MLP {}×{}, SGD {} epochs — cf. P1 Fig. 6 (random hierarchy)",
                g.v, g.m, g.depth, g.s, g.n_classes, self.hidden_layers, self.width, self.epochs
            ),
            vec![
                panel(
                    "test error",
                    "training samples P",
                    "test error (fraction misclassified)",
                    test,
                    true,
                    false,
                ),
                panel(
                    "training error",
                    "training samples P",
                    "training error (fraction misclassified)",
                    train,
                    true,
                    false,
                ),
            ],
        );
        Ok(vec![(
            "hierarchy.svg".to_string(),
            crate::report::plot::render_svg(&fig)?,
        )])
    }
}
