//! Arbitrary `Authorization` values (and an optional query string) through the layer.
//!
//! Input: lines separated by `\n`. A first line starting with `?` is the query
//! string; every other line is one `Authorization` field. The first byte of the
//! input picks the method (a CORS preflight shape is one of them).
#![no_main]

#[path = "common.rs"]
mod common;

use http::{HeaderValue, Method, Request, header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let mut lines = rest.split(|&b| b == b'\n').peekable();
    let mut uri = String::from("/resource");
    if let Some(q) = lines.next_if(|l| l.first() == Some(&b'?')) {
        let Ok(q) = std::str::from_utf8(q) else {
            return;
        };
        uri.push_str(q);
    }
    let mut req = Request::builder().uri(uri.as_str());
    req = match pick % 4 {
        0 => req.method(Method::GET),
        1 => req.method(Method::POST),
        2 => req.method(Method::HEAD),
        _ => req
            .method(Method::OPTIONS)
            .header(header::ORIGIN, "https://app.example")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET"),
    };
    let Ok(mut req) = req.body(()) else {
        return;
    };
    for line in lines.take(8) {
        let Ok(value) = HeaderValue::from_bytes(line) else {
            return;
        };
        req.headers_mut().append(header::AUTHORIZATION, value);
    }
    let status = common::status(req);
    assert!(common::allowed(status), "unexpected status {status}");
});
