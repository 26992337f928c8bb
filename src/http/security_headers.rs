//! Headers every response carries, whatever produced it (a handler, an error, the 404 fallback).
//! Framing is not refused here: the console's own CSP (`frame-ancestors 'none'`, in `assets`)
//! covers it, while `/widget.js` and `/demo` must stay embeddable on customers' sites.

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;

/// A year, with subdomains: the value browsers' preload lists expect.
const HSTS: &str = "max-age=31536000; includeSubDomains";

/// `DefaultHeaders` adds a header only where the response has none, so a handler's own value
/// (the console's stricter `Referrer-Policy`) wins.
pub fn middleware(public_url: &str) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "strict-origin-when-cross-origin"));
    // HSTS over plain http would be ignored by browsers at best and lock out a misconfigured
    // deployment at worst: only an https public URL turns it on.
    if public_url.to_ascii_lowercase().starts_with("https://") {
        headers.add((header::STRICT_TRANSPORT_SECURITY, HSTS))
    } else {
        headers
    }
}
