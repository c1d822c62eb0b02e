//! docs/grafana-dashboard.json and docs/prometheus-alerts.yml: they parse, hold
//! the panels and alerts they promise, and use only metric names, label names
//! and reason codes that authgate records (SPEC §11). `promtool check rules`
//! runs too when promtool is installed.

use std::collections::BTreeSet;
use std::path::PathBuf;

use authgate::Reason;
use serde_json::Value;

fn doc(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `authgate_…` name in a PromQL expression, with a histogram's
/// `_bucket` / `_sum` / `_count` suffix taken off.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = expr;
    while let Some(i) = rest.find("authgate_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .filter(|b| authgate::metrics::ALL.contains(b))
            .unwrap_or(name);
        names.insert(base.to_owned());
        rest = &tail[end..];
    }
    names
}

/// The values of `label="…"` / `label=~"a|b"` matchers in an expression.
fn matcher_values(expr: &str, label: &str) -> Vec<String> {
    let mut out = Vec::new();
    for op in ["=~\"", "=\"", "!~\"", "!=\""] {
        let pat = format!("{label}{op}");
        let mut rest = expr;
        while let Some(i) = rest.find(&pat) {
            let tail = &rest[i + pat.len()..];
            let end = tail.find('"').expect("closing quote");
            out.extend(tail[..end].split('|').map(str::to_owned));
            rest = &tail[end..];
        }
    }
    out
}

fn check_expr(expr: &str, context: &str) {
    let names = metric_names(expr);
    assert!(!names.is_empty(), "{context}: no authgate metric in {expr}");
    for name in &names {
        assert!(
            authgate::metrics::ALL.contains(&name.as_str()),
            "{context}: {name} is not an authgate metric"
        );
    }
    let codes: BTreeSet<&str> = Reason::ALL.iter().map(|r| r.code()).collect();
    for v in matcher_values(expr, "reason") {
        assert!(
            codes.contains(v.as_str()),
            "{context}: reason {v} is not a code"
        );
    }
    let outcomes = [
        "authenticated",
        "anonymous",
        "unauthenticated",
        "forbidden",
        "unavailable",
        "limited",
    ];
    for v in matcher_values(expr, "outcome") {
        assert!(outcomes.contains(&v.as_str()), "{context}: outcome {v}");
    }
    for v in matcher_values(expr, "result") {
        assert!(
            ["hit", "miss", "ok", "error", "not_modified"].contains(&v.as_str()),
            "{context}: result {v}"
        );
    }
    let labels = ["reason", "outcome", "scheme", "cached", "result", "le"];
    if let Some(i) = expr.find("by (") {
        let by = &expr[i + 4..];
        for l in by[..by.find(')').expect(")")].split(',') {
            assert!(labels.contains(&l.trim()), "{context}: label {l}");
        }
    }
}

#[test]
fn the_dashboard_is_valid_json_with_the_promised_panels() {
    let dash: Value = serde_json::from_str(&doc("grafana-dashboard.json")).expect("valid JSON");
    let panels = dash["panels"].as_array().expect("panels");
    let titles: Vec<&str> = panels.iter().filter_map(|p| p["title"].as_str()).collect();
    for want in [
        "Rejections by reason",
        "Requests by outcome",
        "Verification latency (p50, p99)",
        "Token cache hit ratio",
        "Key-set age",
    ] {
        assert!(titles.contains(&want), "no panel {want:?} in {titles:?}");
    }
    let mut used = BTreeSet::new();
    for p in panels {
        let title = p["title"].as_str().unwrap_or_default();
        let targets = p["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title}");
        for t in targets {
            let expr = t["expr"].as_str().expect("expr");
            check_expr(expr, title);
            used.extend(metric_names(expr));
        }
    }
    for name in authgate::metrics::ALL {
        assert!(used.contains(*name), "no panel shows {name}");
    }
    let latency = serde_json::to_string(&panels[2]).unwrap();
    assert!(
        latency.contains("histogram_quantile(0.5") && latency.contains("histogram_quantile(0.99")
    );
}

#[test]
fn the_alert_rules_are_valid_yaml_with_the_promised_alerts() {
    let text = doc("prometheus-alerts.yml");
    let rules: serde_yaml::Value = serde_yaml::from_str(&text).expect("valid YAML");
    let groups = rules["groups"].as_sequence().expect("groups");
    let mut alerts = Vec::new();
    for g in groups {
        for r in g["rules"].as_sequence().expect("rules") {
            let name = r["alert"].as_str().expect("alert name");
            let expr = r["expr"].as_str().expect("expr");
            check_expr(expr, name);
            assert!(r["annotations"]["summary"].as_str().is_some(), "{name}");
            alerts.push((name.to_owned(), expr.to_owned()));
        }
    }
    let find = |name: &str| {
        alerts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, e)| e.as_str())
            .unwrap_or_else(|| panic!("no alert {name}"))
    };
    assert!(find("AuthgateRejectionReasonJump").contains("offset"));
    assert!(find("AuthgateKeySetStale").contains("authgate_key_set_age_seconds"));
    let unavailable = find("AuthgateKeysOrIntrospectionUnavailable");
    assert!(
        unavailable.contains("key_set_unavailable")
            && unavailable.contains("introspection_unavailable")
    );

    // promtool, when installed (Debian's `prometheus` package has it).
    match std::process::Command::new("promtool")
        .args(["check", "rules"])
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/prometheus-alerts.yml"))
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "promtool check rules: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => eprintln!("promtool not run ({e}); YAML and names checked only"),
    }
}
