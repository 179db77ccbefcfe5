//! The quick verification catalog passes, covers every regime and method, and the committed
//! case files in `data/cases/` are the catalog's (so they cannot drift from the code).

use lazyrich::case::Case;
use lazyrich::flow::Method;
use lazyrich::verify::{self, Mode};

#[test]
fn quick_catalog_passes_and_covers_every_regime_and_method() {
    let rows = verify::run(Mode::Quick);
    let failed: Vec<_> = rows.iter().filter(|r| !r.pass).collect();
    assert!(failed.is_empty(), "failing rows: {failed:#?}");
    for regime in [
        "downstream/order1",
        "downstream/large",
        "balanced/exact0",
        "upstream/small",
        "upstream/order1",
        "upstream/large",
    ] {
        assert!(
            rows.iter().any(|r| r.regime == regime && r.check == "SN-FLOW"),
            "regime {regime} missing"
        );
    }
    for m in Method::ALL {
        for tol in [1e-6, 1e-10] {
            assert!(
                rows.iter().any(|r| r.method == m.as_str() && r.tolerance == Some(tol)),
                "{m} at {tol:e} missing"
            );
        }
    }
    for check in [
        "SN-ODE",
        "SN-ROUTES",
        "SN-F64",
        "SN-CONS",
        "SN-FLOW",
        "SN-FS",
        "SN-BASIN",
    ] {
        assert!(rows.iter().any(|r| r.check == check), "check {check} missing");
    }
}

#[test]
fn full_catalog_covers_small_downstream_and_passes() {
    let rows = verify::run(Mode::Full);
    assert!(rows.iter().any(|r| r.regime == "downstream/small"));
    let failed: Vec<_> = rows.iter().filter(|r| !r.pass).collect();
    assert!(failed.is_empty(), "failing rows: {failed:#?}");
}

#[test]
fn committed_case_files_match_the_catalog() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/cases");
    for cc in verify::single_neuron::catalog() {
        let path = format!("{dir}/{}.json", cc.name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e} (run `lazyrich cases`)"));
        let Case::SingleNeuron(c) = Case::from_json(&text).unwrap() else {
            panic!("{path}: not a single_neuron case")
        };
        assert_eq!(c, cc.case, "{path} differs from the catalog: run `lazyrich cases`");
    }
}

#[test]
fn committed_lambda_balanced_case_files_match_the_catalog() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/cases");
    // Every feasible catalog entry builds (a failure would be a failed LB-SIM row in the report).
    for e in verify::lambda_balanced::catalog_entries(false) {
        if let Err(e) = e {
            panic!("{} (λ = {}) does not build: {}", e.name, e.lambda, e.why);
        }
    }
    let cat = verify::lambda_balanced::catalog(false);
    assert!(cat.len() >= 10, "λ-balanced catalog unexpectedly small: {}", cat.len());
    for cc in cat {
        let path = format!("{dir}/{}.json", cc.name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e} (run `lazyrich cases`)"));
        let Case::LambdaBalanced(c) = Case::from_json(&text).unwrap() else {
            panic!("{path}: not a lambda_balanced case")
        };
        assert_eq!(c, cc.case, "{path} differs from the catalog: run `lazyrich cases`");
    }
}

#[test]
fn committed_linear_case_files_match_the_catalogs() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/cases");
    let read = |name: String| -> Case {
        let path = format!("{dir}/{name}");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e} (run `lazyrich cases`)"));
        Case::from_json(&text).unwrap()
    };
    for w in verify::wide_linear::catalog()
        .into_iter()
        .chain(verify::wide_linear::controls())
    {
        let expected = Case::TwoLayerLinear(verify::wide_linear::to_case(&w).unwrap());
        assert_eq!(
            read(format!("wl_{}.json", w.name)),
            expected,
            "wl_{}: run `lazyrich cases`",
            w.name
        );
    }
    for s in verify::mirror_modes::catalog() {
        let expected = Case::TwoLayerLinear(verify::mirror_modes::aligned_case(&s));
        assert_eq!(
            read(format!("al_{}.json", s.0)),
            expected,
            "al_{}: run `lazyrich cases`",
            s.0
        );
    }
    for d in verify::deep_linear::catalog() {
        let expected = Case::DeepLinear(verify::deep_linear::to_case(&d).unwrap());
        assert_eq!(
            read(format!("dl_{}.json", d.name)),
            expected,
            "dl_{}: run `lazyrich cases`",
            d.name
        );
    }
}
