//! `lazyrich verify --case F`: one case of every supported model from `data/cases` through the
//! binary (exit 0, the catalog's columns, `case` = the file's stem), rows equal to the catalog's
//! rows of the same case (computed here by the library's catalog functions, an independent path),
//! and bad inputs (exit 2, a message, no output folder).

use crate::common;
use lazyrich::report::table::COLUMNS;
use lazyrich::verify::{self, Mode};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_lazyrich")
}

fn case_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/cases")
        .join(format!("{name}.json"))
}

fn verify_case(case: &Path, out: &Path) -> Output {
    std::process::Command::new(bin())
        .args([
            "verify",
            "--case",
            case.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .expect("runs")
}

/// Run `verify --case` on `case` (stem `name`), assert exit 0 and the table's shape; the rows.
fn rows_of(case: &Path, name: &str) -> Vec<Value> {
    table_of(case, name).0
}

/// [`rows_of`], and the `not_applicable` list.
fn table_of(case: &Path, name: &str) -> (Vec<Value>, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = verify_case(case, &out);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{name}: {err}");
    for f in ["table.md", "table.csv", "table.json", "not_applicable.json"] {
        assert!(out.join(f).is_file(), "{name}: no {f}");
    }
    let csv = std::fs::read_to_string(out.join("table.csv")).unwrap();
    assert_eq!(
        csv.lines().next().unwrap(),
        COLUMNS[..19].join(","),
        "{name}: CSV header"
    );
    let rows: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(out.join("table.json")).unwrap()).unwrap();
    assert!(!rows.is_empty(), "{name}: no rows");
    for r in &rows {
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        let mut want: Vec<&str> = COLUMNS[..19].to_vec();
        let mut got = keys.clone();
        want.sort_unstable();
        got.sort_unstable();
        assert_eq!(got, want, "{name}: row keys");
        assert_eq!(r["case"], name, "{name}: case column");
        assert_eq!(r["pass"], true, "{name}: {r}");
    }
    let na: Value = serde_json::from_str(&std::fs::read_to_string(out.join("not_applicable.json")).unwrap()).unwrap();
    (rows, na["not_applicable"].as_array().unwrap().clone())
}

/// The rows `got` (from `verify --case`) of check `check` equal the catalog's `want` of that
/// check: same methods, same numbers.
fn assert_same(check: &str, got: &[Value], want: &[verify::Row], fields: &[&str]) {
    let g: Vec<&Value> = got.iter().filter(|r| r["check"] == check).collect();
    let w: Vec<Value> = want
        .iter()
        .filter(|r| r.check == check)
        .map(|r| serde_json::to_value(r).unwrap())
        .collect();
    assert!(!w.is_empty(), "catalog has no {check} row");
    assert_eq!(g.len(), w.len(), "{check}: row count");
    for (a, b) in g.iter().zip(&w) {
        for f in ["method", "quantity", "tolerance"].iter().chain(fields) {
            assert_eq!(a[*f], b[*f], "{check} {}: {f}", b["method"]);
        }
    }
}

/// The catalog's rows of the entry `case` of `family` (what `compute` makes, the function the
/// family's `run` maps over its entries): those of the quick catalog's CLI run
/// (`crate::quick_catalog::quick_rows`, the same function on the same entry, already computed), or, if
/// the quick catalog does not run that entry, `compute`'s. (The table may hold more rows of the
/// case under that family, e.g. `linear_taylor`'s DL-TAYLOR rows; [`assert_same`] compares
/// check by check.)
fn catalog_rows_of(family: &str, case: &str, compute: impl FnOnce() -> Vec<verify::Row>) -> Vec<verify::Row> {
    let quick: Vec<verify::Row> = crate::quick_catalog::quick_rows()
        .iter()
        .filter(|r| r.family == family && r.case == case)
        .cloned()
        .collect();
    eprintln!("{family}/{case}: {} rows in the quick catalog's table", quick.len());
    if quick.is_empty() { compute() } else { quick }
}

#[test]
fn single_neuron_case_matches_the_catalog() {
    let rows = rows_of(&case_path("fig3_delta+4"), "fig3_delta+4");
    for c in ["SN-FLOW", "SN-F64", "SN-ODE", "SN-OVERLAP"] {
        assert!(rows.iter().any(|r| r["check"] == c), "no {c} row");
    }
    // `closed_form_rows(Mode::Quick)`'s rows of that case, as `single_neuron::run(Mode::Quick)`
    // makes them (made once for the binary, `crate::shared`; fig3_delta+4 has no function-space
    // rows, so its SN-F64, SN-ODE and SN-CONS rows are exactly the closed-form ones).
    let cat: Vec<verify::Row> = crate::shared::single_neuron_quick()
        .iter()
        .filter(|r| r.case == "fig3_delta+4")
        .cloned()
        .collect();
    for c in ["SN-F64", "SN-ODE", "SN-CONS"] {
        assert_same(c, &rows, &cat, &["abs_err", "rel_err", "bound", "margin", "pass"]);
    }
}

#[test]
fn non_whitened_single_neuron_lists_the_closed_form_as_not_applicable() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = verify_case(&case_path("non_whitened"), &out);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let na: Value = serde_json::from_str(&std::fs::read_to_string(out.join("not_applicable.json")).unwrap()).unwrap();
    let list = na["not_applicable"].as_array().unwrap();
    assert!(
        list.iter().any(
            |n| n["check"].as_str().unwrap().contains("SN-FLOW") && n["why"].as_str().unwrap().contains("whitened")
        ),
        "{na}"
    );
    let md = std::fs::read_to_string(out.join("table.md")).unwrap();
    assert!(md.contains("Not applicable"), "{md}");
}

#[test]
fn two_layer_linear_case_matches_the_catalog() {
    let rows = rows_of(&case_path("wl_w3x2_up_h2"), "wl_w3x2_up_h2");
    // The catalog's rows of that entry (as `verify` writes them), without the rest of the catalog.
    let entry = verify::wide_linear::catalog()
        .into_iter()
        .find(|w| w.name == "w3x2_up_h2")
        .expect("catalog entry w3x2_up_h2");
    let cat = catalog_rows_of("wide_linear", &entry.name, || {
        verify::wide_linear::entry_rows(&entry, Mode::Quick)
    });
    assert_same(
        "WL-CONS",
        &rows,
        &cat,
        &[
            "abs_err",
            "rel_err",
            "ref_bound",
            "bound",
            "margin",
            "pass",
            "bound_rigorous",
        ],
    );
    // WL-T42 and WL-MIRROR take δ: the catalog its construction's nominal δ, `verify --case`
    // tr Δ / h measured from the file's W0, A0 (equal to within rounding), so the errors agree
    // to a few per cent, not bit for bit (BDF's Newton iterations amplify the ulp).
    for c in ["WL-T42", "WL-MIRROR"] {
        assert_same(c, &rows, &cat, &["pass", "bound_rigorous", "ref_rigorous"]);
        let g: Vec<&Value> = rows.iter().filter(|r| r["check"] == c).collect();
        for (a, b) in g.iter().zip(cat.iter().filter(|r| r.check == c)) {
            let x = a["abs_err"].as_f64().unwrap();
            assert!(
                (x - b.abs_err).abs() <= 0.05 * b.abs_err.abs().max(1e-300),
                "{c} {}: {x} vs {}",
                b.method,
                b.abs_err
            );
        }
    }
}

#[test]
fn deep_linear_case_matches_the_catalog() {
    // The quick catalog's DL-CONS/DL-AGREE rows use the times `cons_times_for(Mode::Quick)`: the
    // same case file at those times (each written as the shortest decimal of its binary64 value).
    let text = std::fs::read_to_string(case_path("dl_deep3_up_small")).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["times"] = verify::deep_linear::cons_times_for(verify::Mode::Quick)
        .into_iter()
        .map(|t| Value::from(format!("{t:?}")))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let case = common::write_case(dir.path(), "dl_deep3_up_small.json", &v.to_string());
    let rows = rows_of(&case, "dl_deep3_up_small");
    let entry = verify::deep_linear::catalog()
        .into_iter()
        .find(|c| c.name == "deep3_up_small")
        .expect("catalog entry deep3_up_small");
    let cat = catalog_rows_of("deep_linear", &entry.name, || {
        verify::deep_linear::entry_rows_in(&entry, verify::Mode::Quick)
    });
    assert_same(
        "DL-AGREE",
        &rows,
        &cat,
        &["abs_err", "rel_err", "bound", "margin", "pass"],
    );
    assert_same("DL-CONS", &rows, &cat, &["abs_err", "rel_err", "drift", "pass"]);
}

#[test]
fn lambda_balanced_case_matches_the_catalog() {
    let rows = rows_of(&case_path("lb_3_3_3_lambda+2"), "lb_3_3_3_lambda+2");
    // The catalog entry built by the library (not read from the file), through the catalog's
    // per-case checks: the catalog's rows of that case without the rest of the catalog.
    let entry = verify::lambda_balanced::catalog(true)
        .into_iter()
        .find(|c| c.name == "lb_3_3_3_lambda+2")
        .expect("catalog entry");
    let cat: Vec<verify::Row> = verify::user_case::run(&entry.name, &lazyrich::case::Case::LambdaBalanced(entry.case))
        .expect("catalog entry runs")
        .rows;
    for c in ["LB-SIM", "LB-F64", "LB-RICCATI"] {
        assert_same(
            c,
            &rows,
            &cat,
            &["abs_err", "rel_err", "ref_bound", "bound", "margin", "pass"],
        );
    }
}

/// `verify --case` with bad input: exit 2, a message containing `needle`, no output folder.
fn expect_refused(case: &Path, out: &Path, needle: &str) {
    let o = verify_case(case, out);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(needle), "message lacks {needle:?}: {err}");
    assert!(!out.exists(), "output folder left behind: {}", out.display());
}

#[test]
fn bad_inputs_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    expect_refused(&dir.path().join("missing.json"), &out, "missing.json");
    let unknown = common::write_case(dir.path(), "unknown.json", r#"{"model": "quantum", "x": [[1]]}"#);
    expect_refused(&unknown, &out, "unknown model");
    let malformed = common::write_case(
        dir.path(),
        "malformed.json",
        r#"{"model": "single_neuron", "x": [[1, 0]"#,
    );
    expect_refused(&malformed, &out, "not valid JSON");
    let shapes = common::write_case(
        dir.path(),
        "shapes.json",
        r#"{"model": "two_layer_linear", "x": [[1, 0], [0, 1]], "y": [[1], [0]], "a0": [[1], [0]],
            "w0": [[1, 0, 0], [0, 1, 0]], "eta_a": 1, "eta_w": 1, "times": [0, 1]}"#,
    );
    expect_refused(&shapes, &out, "w0");
    let file = dir.path().join("plain_file");
    std::fs::write(&file, "x").unwrap();
    expect_refused(&case_path("fig3_delta+4"), &file.join("out"), "not a folder");
}

/// The methods and tolerances of the full catalog's piecewise-linear rows, as the table prints them.
fn pl_methods() -> Vec<(String, f64)> {
    verify::piecewise_linear::methods(Mode::Full)
        .into_iter()
        .map(|(m, tol)| (m.as_str().to_string(), tol))
        .collect()
}

#[test]
fn piecewise_linear_case_runs_every_check_with_proven_bounds() {
    // data/cases/relu_d3h8n12_down.json is the catalog entry relu_d3h8n12_down (θ0 written as the
    // exact decimals of its binary64 values) at the times 0, 0.5, 1, 2, 5, 10.
    let name = "relu_d3h8n12_down";
    let (rows, na) = table_of(&case_path(name), name);
    // PL-SYM: the same f64 outputs and the same ball evaluation as the catalog's row of that
    // entry (built from its seed by the library, not from the file).
    let cat = verify::piecewise_linear::catalog()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap();
    let setup = verify::piecewise_linear::PlSetup::of_catalog(&cat).unwrap();
    let want = verify::piecewise_linear::sym_row_if_paired(&setup).expect("the catalog's init pairs up");
    assert_same(
        "PL-SYM",
        &rows,
        &[want],
        &["abs_err", "rel_err", "bound", "margin", "pass"],
    );
    // P = h(d + 1) = 32 ≤ MAX_ENCLOSED_PARAMS: every trajectory row is proven against the validated
    // enclosure, for every method of the full catalog, and δ_k's drift is measured.
    for check in ["PL-EVENT", "PL-CONS", "PL-PLAIN"] {
        let got: Vec<(String, f64)> = rows
            .iter()
            .filter(|r| r["check"] == check)
            .map(|r| {
                (
                    r["method"].as_str().unwrap().to_string(),
                    r["tolerance"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, pl_methods(), "{check}: methods");
        for r in rows.iter().filter(|r| r["check"] == check) {
            assert_eq!(r["bound_rigorous"], true, "{check}: {r}");
            assert_eq!(r["ref_rigorous"], true, "{check}: {r}");
        }
    }
    for r in rows.iter().filter(|r| r["check"] == "PL-CONS") {
        assert!(r["drift"].as_f64().unwrap().is_finite(), "{r}");
    }
    assert_eq!(rows.iter().filter(|r| r["check"] == "PL-EQ9").count(), 1);
    // No sliding on [0, 10] for this case: PL-SLIDE is listed, not run.
    assert!(na.iter().any(|n| n["check"] == "PL-SLIDE"), "{na:?}");
    assert!(!rows.iter().any(|r| r["check"] == "PL-SLIDE"));
    // Every PL-PLAIN row is proven (the claim "event-located error ≤ f·plain error" from a proven
    // upper and a proven lower bound) with margin ≤ 1; PL-SYM and PL-EQ9 are proven too.
    for r in rows.iter().filter(|r| r["check"] == "PL-PLAIN") {
        assert!(
            r["margin"].as_f64().unwrap() <= 1.0 && r["abs_err"].as_f64().unwrap().is_finite(),
            "{r}"
        );
    }
    for r in rows.iter().filter(|r| r["check"] == "PL-SYM" || r["check"] == "PL-EQ9") {
        assert!(r["ref_rigorous"] == true && r["bound_rigorous"] == true, "{r}");
    }
    plain_error_agrees_with_an_event_located_reference(&case_path(name), &rows);
}

/// The certified plain error of `verify --case`'s PL-PLAIN row (tsit45 at rtol 1e-8) agrees with
/// the plain run's distance to the rtol-1e-13 event-located reference on the file's times (no
/// sliding: the rows run on that grid), within that reference's own error estimate (its distance
/// to the rtol-1e-12 run) plus the enclosure's radius. (Was `tests/piecewise_linear.rs`
/// `pl_plain_rows_are_proven_against_the_enclosure`, on the full catalog's rows of the same
/// entry at 21 times: CI's `report` runs those; this runs the same checks once, through the CLI.)
fn plain_error_agrees_with_an_event_located_reference(case: &Path, rows: &[Value]) {
    use lazyrich::case::Case;
    use lazyrich::flow::{FlowOptions, Method};
    use lazyrich::verify::piecewise_linear as pl;
    let Case::PiecewiseLinear(c) = Case::from_json(&std::fs::read_to_string(case).unwrap()).unwrap() else {
        panic!("not a piecewise-linear case")
    };
    let s = pl::PlSetup::of_case("relu", &c).unwrap();
    let (m, th0, ts) = (&s.model, s.th0.as_slice(), s.grid.as_slice());
    let ref_opts = FlowOptions::new(Method::Tsit45).with_tol(pl::REF_RTOL, pl::REF_ATOL);
    let reference = pl::run_events(m, th0, ts, &ref_opts).unwrap();
    assert!(reference.first_sliding.is_none(), "the reference slides");
    let chk = FlowOptions::new(Method::Tsit45).with_tol(pl::REF_CHECK_RTOL, pl::REF_CHECK_RTOL / 100.0);
    let (ref_est, _) = pl::traj_error(&pl::run_events(m, th0, ts, &chk).unwrap(), &reference);
    let r = rows
        .iter()
        .find(|r| r["check"] == "PL-PLAIN" && r["method"] == "tsit45" && r["tolerance"].as_f64() == Some(1e-8))
        .expect("a PL-PLAIN row of tsit45 at rtol 1e-8");
    let tr = pl::run_plain(m, th0, ts, &FlowOptions::new(Method::Tsit45).with_tol(1e-8, 1e-10)).unwrap();
    let (err, _) = pl::traj_error(&tr, &reference);
    let (abs_err, ref_bound) = (r["abs_err"].as_f64().unwrap(), r["ref_bound"].as_f64().unwrap());
    let tol = ref_bound + ref_est;
    assert!(
        (abs_err - err).abs() <= tol,
        "certified {abs_err:e} vs measured {err:e} (tol {tol:e})"
    );
}

#[test]
fn leaky_unpaired_piecewise_case_lists_pl_sym_as_not_applicable() {
    // The same case made leaky (γ = 0.2) with unit 0's w perturbed, so that the units no longer
    // pair up: PL-SYM does not apply; the trajectory rows still run and pass.
    let text = std::fs::read_to_string(case_path("relu_d3h8n12_down")).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["gamma"] = Value::from("0.2");
    v["w0"][0][0] = Value::from("-1.0");
    v["times"] = serde_json::json!(["0", "1", "2"]);
    let dir = tempfile::tempdir().unwrap();
    let case = common::write_case(dir.path(), "leaky_unpaired.json", &v.to_string());
    let (rows, na) = table_of(&case, "leaky_unpaired");
    assert!(na.iter().any(|n| n["check"] == "PL-SYM"), "{na:?}");
    assert!(!rows.iter().any(|r| r["check"] == "PL-SYM"));
    for check in ["PL-EQ9", "PL-EVENT", "PL-CONS", "PL-PLAIN"] {
        assert!(rows.iter().any(|r| r["check"] == check), "no {check} row");
    }
    assert!(rows.iter().all(|r| r["regime"].as_str().unwrap().starts_with("leaky")));
}
