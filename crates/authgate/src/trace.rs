//! A request span with OpenTelemetry semantic-convention fields, for
//! `tower_http::trace::TraceLayer::make_span_with` (or any layer outside
//! [`AuthLayer`](crate::AuthLayer)), and what the layer records on it.
//!
//! | field | value |
//! |---|---|
//! | `otel.name` | the method, or `HTTP` for an unknown one (the span name OpenTelemetry asks for) |
//! | `otel.kind` | `server` |
//! | `http.request.method` | `GET`, `POST`, … (the RFC 9110 and RFC 5789 methods), else `_OTHER` |
//! | `http.request.method_original` | the method as sent, only when it is `_OTHER` |
//! | `url.path` | the path, never the query string |
//! | `auth.subject` | the authenticated subject (recorded by the layer) |
//! | `enduser.id` | the same, only with [`AuthConfigBuilder::record_enduser_id`](crate::AuthConfigBuilder::record_enduser_id) |
//! | `error.type` | the reason code of a rejection (recorded by the layer) |
//! | `http.response.status_code` | the status of a rejection (recorded by the layer) |
//!
//! The layer records on whatever span is current when it runs, if the span
//! declares the field; a span of the application's own with some of these
//! fields declared as `tracing::field::Empty` works as well.
//!
//! With `tower_http`: `TraceLayer::new_for_http().make_span_with(authgate::trace::request_span)`
//! outside the [`AuthLayer`](crate::AuthLayer).
//!
//! ```
//! let req = http::Request::get("/api/orders?page=2").body(()).unwrap();
//! let span = authgate::trace::request_span(&req);
//! let _entered = span.enter();
//! assert_eq!(authgate::trace::http_method(&http::Method::from_bytes(b"PURGE").unwrap()), "_OTHER");
//! ```

use http::{Method, Request};
use tracing::field::Empty;

use crate::event::field;
use crate::principal::Principal;
use crate::reason::Reason;

/// `http.request.method` as OpenTelemetry spells it: one of the methods of
/// RFC 9110 §9 and PATCH (RFC 5789), or `_OTHER`.
pub fn http_method(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ => "_OTHER",
    }
}

/// An INFO span named `HTTP request` (target `authgate`) with the fields of the
/// module's table declared; the ones the layer fills start empty. The path and
/// an unknown method are escaped and capped like every event field.
pub fn request_span<B>(req: &Request<B>) -> tracing::Span {
    let method = http_method(req.method());
    let other = method == "_OTHER";
    let original = other.then(|| field(req.method().as_str()));
    tracing::info_span!(
        target: "authgate",
        "HTTP request",
        otel.name = if other { "HTTP" } else { method },
        otel.kind = "server",
        http.request.method = method,
        http.request.method_original = original.as_deref(),
        url.path = &*field(req.uri().path()),
        auth.subject = Empty,
        enduser.id = Empty,
        error.type = Empty,
        http.response.status_code = Empty,
    )
}

/// A rejection: `error.type` and `http.response.status_code` on the current
/// span, when it declares them.
pub(crate) fn rejected(reason: Reason, status: u16) {
    if !tracing::dispatcher::has_been_set() {
        return;
    }
    let span = tracing::Span::current();
    if span.has_field("error.type") {
        span.record("error.type", reason.code());
    }
    if span.has_field("http.response.status_code") {
        span.record("http.response.status_code", i64::from(status));
    }
}

/// A request passed on: `enduser.id` on the current span, when the application
/// opted in and the span declares it.
pub(crate) fn passed(principal: Option<&Principal>, record_enduser_id: bool) {
    if !record_enduser_id {
        return;
    }
    let Some(subject) = principal.and_then(Principal::subject) else {
        return;
    };
    let span = tracing::Span::current();
    if span.has_field("enduser.id") {
        span.record("enduser.id", &*field(subject));
    }
}
