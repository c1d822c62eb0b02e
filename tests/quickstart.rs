//! `cargo run --example quickstart` prints curl commands; this test runs the
//! quickstart's own code, parses every printed `curl` line and sends exactly
//! that request to the server, checking status and reason.

mod common;

#[path = "../examples/support/app.rs"]
#[allow(dead_code)]
mod app;
#[path = "../examples/support/quickstart.rs"]
mod quickstart;

/// One printed command: the URL path and its headers, parsed from the line.
fn parse_curl(line: &str) -> (String, Vec<(String, String)>) {
    let rest = line
        .strip_prefix("curl -i ")
        .expect("starts with `curl -i `");
    let (url, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let path = url
        .strip_prefix("http://")
        .and_then(|u| u.find('/').map(|i| u[i..].to_owned()))
        .expect("an http:// URL with a path");
    let mut headers = Vec::new();
    let mut rest = rest.trim();
    while let Some(r) = rest.strip_prefix("-H '") {
        let end = r.find('\'').expect("closing quote");
        let (name, value) = r[..end].split_once(": ").expect("Name: value");
        headers.push((name.to_owned(), value.to_owned()));
        rest = r[end + 1..].trim();
    }
    assert!(rest.is_empty(), "unparsed rest of a curl line: {rest}");
    (path, headers)
}

#[tokio::test]
async fn printed_curl_commands_do_what_their_comments_say() {
    let (cap, _guard) = common::capture();
    let demo = quickstart::Demo::generate().unwrap();
    let addr = common::serve(app::router(demo.cfg.clone())).await;
    let mut out = Vec::new();
    demo.print_commands(&format!("http://{addr}"), &mut out)
        .unwrap();
    let text = String::from_utf8(out).unwrap();

    let mut expected = None;
    let mut seen = Vec::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            // "# 401 token_expired: ..." → (401, Some("token_expired"))
            let mut words = comment.split([' ', ':']);
            let status: u16 = words.next().unwrap().parse().unwrap();
            let reason = words.next().filter(|w| w.contains('_')).map(str::to_owned);
            expected = Some((status, reason));
        } else if line.starts_with("curl ") {
            let (status, reason) = expected.take().expect("a comment before each command");
            let (path, headers) = parse_curl(line);
            let headers: Vec<(&str, &[u8])> = headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_bytes()))
                .collect();
            cap.clear();
            let resp = common::get(addr, &path, &headers).await;
            assert_eq!(resp.status, status, "{line}\n{}", resp.dump());
            if let Some(reason) = &reason {
                assert_eq!(resp.json()["reason"], reason.as_str(), "{line}");
                let rejections: Vec<_> = cap
                    .authgate_events()
                    .into_iter()
                    .filter(|e| common::fields(e)["message"] != "authenticated")
                    .collect();
                assert_eq!(rejections.len(), 1, "{rejections:?}");
                assert_eq!(
                    common::fields(&rejections[0])["auth.reason"],
                    reason.as_str()
                );
            }
            seen.push((status, reason));
        }
    }
    // The three must be among them.
    assert!(seen.contains(&(200, None)), "{seen:?}");
    assert!(
        seen.contains(&(401, Some("token_expired".into()))),
        "{seen:?}"
    );
    assert!(
        seen.contains(&(401, Some("audience_mismatch".into()))),
        "{seen:?}"
    );
    assert!(
        seen.contains(&(403, Some("insufficient_scope".into()))),
        "{seen:?}"
    );
}
