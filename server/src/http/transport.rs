//! HTTPS only: plain-HTTP requests are sent to HTTPS, and answers over HTTPS
//! carry HSTS so browsers never try plain HTTP again.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::Error;
use crate::app::{AppState, Transport};

/// Two years, the usual HSTS preload requirement; Paylet's host serves nothing but Paylet.
const HSTS: HeaderValue = HeaderValue::from_static("max-age=63072000; includeSubDomains");

#[derive(Debug, PartialEq, Eq)]
enum Scheme {
    Https,
    Http,
    /// No TLS here and no trusted proxy said: a development server.
    Unknown,
}

fn scheme(transport: &Transport, peer: Option<IpAddr>, headers: &HeaderMap) -> Scheme {
    if transport.tls {
        return Scheme::Https;
    }
    // Anyone can send the header; only a proxy we were told of is believed.
    if peer.is_some_and(|ip| transport.trusted_proxies.contains(&ip)) {
        let forwarded = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok());
        // The first value is what the client used, when proxies are chained.
        match forwarded.and_then(|v| v.split(',').next()).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            Some("https") => return Scheme::Https,
            Some("http") => return Scheme::Http,
            _ => {}
        }
    }
    Scheme::Unknown
}

/// The address that connected, if the server was started with it.
pub fn peer(extensions: &Extensions) -> Option<IpAddr> {
    extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip())
}

/// The client's address: the peer's, or behind trusted proxies the last
/// address in `X-Forwarded-For` that is not one of them (the ones before it
/// the client may have written itself).
pub fn client_ip(transport: &Transport, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    if !transport.trusted_proxies.contains(&peer) {
        return peer;
    }
    let forwarded = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
    let hops: Vec<&str> = forwarded.flat_map(|v| v.split(',')).map(str::trim).collect();
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if transport.trusted_proxies.contains(&ip) => continue,
            Ok(ip) => return ip,
            // Garbage in the chain: trust nothing before it.
            Err(_) => break,
        }
    }
    peer
}

pub async fn https_only(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let peer = peer(req.extensions());
    match scheme(&state.settings.transport, peer, req.headers()) {
        Scheme::Https => {
            let mut response = next.run(req).await;
            response.headers_mut().insert(header::STRICT_TRANSPORT_SECURITY, HSTS);
            response
        }
        Scheme::Http => to_https(&state.settings.public_url, &req),
        Scheme::Unknown => next.run(req).await,
    }
}

/// A page is sent to the same path on the public HTTPS URL (never to the
/// request's Host, which the client chose). Anything else is refused: its
/// body has already crossed the network in the clear, and a redirect would
/// only send it again.
pub fn to_https(public_url: &str, req: &Request) -> Response {
    if req.method() == Method::GET || req.method() == Method::HEAD {
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
        return Redirect::permanent(&format!("{public_url}{path}")).into_response();
    }
    Error::BadRequest { code: "https_required", message: format!("Send requests to {public_url} over HTTPS.") }
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(proto: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-proto", HeaderValue::from_str(proto).unwrap());
        headers
    }

    #[test]
    fn only_a_trusted_proxy_says_which_scheme_the_client_used() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let stranger: IpAddr = "203.0.113.9".parse().unwrap();
        let behind = Transport { tls: false, trusted_proxies: vec![proxy] };
        assert_eq!(scheme(&behind, Some(proxy), &forwarded("https")), Scheme::Https);
        assert_eq!(scheme(&behind, Some(proxy), &forwarded("HTTP")), Scheme::Http);
        assert_eq!(scheme(&behind, Some(proxy), &forwarded("http, https")), Scheme::Http);
        assert_eq!(scheme(&behind, Some(proxy), &HeaderMap::new()), Scheme::Unknown);
        assert_eq!(scheme(&behind, Some(stranger), &forwarded("https")), Scheme::Unknown);
        assert_eq!(scheme(&behind, None, &forwarded("https")), Scheme::Unknown);
        let direct = Transport { tls: true, trusted_proxies: vec![] };
        assert_eq!(scheme(&direct, Some(stranger), &forwarded("http")), Scheme::Https);
    }

    #[test]
    fn the_client_is_the_last_forwarded_address_no_trusted_proxy_added() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let inner: IpAddr = "10.0.0.3".parse().unwrap();
        let client: IpAddr = "198.51.100.4".parse().unwrap();
        let behind = Transport { tls: false, trusted_proxies: vec![proxy, inner] };
        let chain = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
            headers
        };
        // A client may write its own X-Forwarded-For; proxies append to it.
        assert_eq!(client_ip(&behind, proxy, &chain("1.2.3.4, 198.51.100.4, 10.0.0.3")), client);
        assert_eq!(client_ip(&behind, proxy, &chain("198.51.100.4")), client);
        assert_eq!(client_ip(&behind, proxy, &chain("junk, 10.0.0.3")), proxy);
        assert_eq!(client_ip(&behind, proxy, &HeaderMap::new()), proxy);
        // Anyone else's header counts for nothing.
        assert_eq!(client_ip(&behind, client, &chain("1.2.3.4")), client);
    }
}
