//! `verify --quick` writes `index.html`: a well-formed, self-contained page (balanced tags, no
//! external resource) that inlines and links every SVG written next to it, each inside a
//! `<figure>` with a `<figcaption>`, and whose headline counts match table.json.

use std::path::Path;
use std::process::Command;

fn run_quick(out: &Path) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_lazyrich"))
        .args(["verify", "--quick", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(0), "{err}");
    err
}

/// Elements that never have a closing tag in HTML.
const VOID: [&str; 6] = ["meta", "br", "hr", "img", "link", "input"];

/// Check that every opening tag is closed in order (SVG self-closing `<x/>` allowed); returns the
/// tag names opened, in document order.
fn balanced_tags(html: &str) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    let mut opened = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').expect("unterminated tag");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') || tag.starts_with('?') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let top = stack.pop().unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(top, name.trim(), "</{name}> closes <{top}>");
            continue;
        }
        let name: String = tag.chars().take_while(|c| !c.is_whitespace() && *c != '/').collect();
        assert!(!name.is_empty(), "empty tag <{tag}>");
        opened.push(name.clone());
        if tag.ends_with('/') || VOID.contains(&name.as_str()) {
            continue;
        }
        stack.push(name);
    }
    assert!(stack.is_empty(), "unclosed tags: {stack:?}");
    opened
}

#[test]
fn quick_verify_writes_a_well_formed_self_contained_page() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rep");
    let stderr = run_quick(&out);
    // Short summary, not every file name.
    assert!(stderr.contains("index.html"), "{stderr}");
    assert!(
        !stderr.contains("table.csv, ") || stderr.lines().count() < 10,
        "{stderr}"
    );
    assert!(stderr.lines().all(|l| l.len() < 300), "long line in {stderr}");

    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    let tags = balanced_tags(&html);
    for t in ["html", "head", "body", "h1", "table", "figure", "figcaption", "svg"] {
        assert!(tags.iter().any(|x| x == t), "no <{t}>");
    }
    // Self-contained: no script, no external resource.
    for bad in ["<script", "http://", "https://", "<img", "<link", "src=\""] {
        let hits: Vec<_> = html.match_indices(bad).map(|(i, _)| i).collect();
        // The SVG namespace URI is an identifier, not a fetch.
        let real = hits
            .iter()
            .filter(|&&i| !html[i..].starts_with("http://www.w3.org/2000/svg"))
            .count();
        assert_eq!(real, 0, "page references {bad}");
    }
    // Every figure is captioned, and every SVG in the folder is on the page.
    let n_fig = tags.iter().filter(|t| *t == "figure").count();
    let n_cap = tags.iter().filter(|t| *t == "figcaption").count();
    let n_svg = tags.iter().filter(|t| *t == "svg").count();
    assert_eq!(n_fig, n_cap);
    assert_eq!(n_fig, n_svg);
    let svgs: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".svg"))
        .collect();
    assert!(svgs.len() >= 4, "{svgs:?}");
    assert_eq!(svgs.len(), n_fig, "{svgs:?}");
    for s in &svgs {
        assert!(html.contains(&format!("href=\"{s}\"")), "{s} not linked");
        assert!(!html.contains("(no caption)"), "a figure lacks its caption");
    }
    // Headline counts agree with the table.
    let rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("table.json")).unwrap()).unwrap();
    let rows = rows.as_array().unwrap();
    let failed = rows.iter().filter(|r| r["pass"] == false).count();
    let headline = format!("{} rows: {} passed", rows.len(), rows.len() - failed);
    assert!(html.contains(&headline), "headline lacks '{headline}'");
    for link in ["href=\"table.md\"", "href=\"table.csv\"", "href=\"table.md#sn-flow\""] {
        assert!(html.contains(link), "no {link}");
    }
}
