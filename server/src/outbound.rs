//! Requests to URLs that someone else chose: a merchant's notification
//! endpoint, a store's gateway and origins. A merchant who could point this
//! server at any URL could make it reach inside its own network — loopback
//! services, the cloud metadata address 169.254.169.254, private hosts — and
//! read or poke what only the server can reach (SSRF). So notification URLs
//! must reach public addresses: checked when set, and again when connecting,
//! because a name may resolve elsewhere by then (DNS rebinding). And these
//! URLs are `https` unless the operator allows `http`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::Error;

/// How long connecting to a notification endpoint may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one notification request may take, answer included: an endpoint
/// that never answers holds a send no longer than this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long resolving a notification URL's name when it is set may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// What the operator allows beyond the strict default (https only, public
/// addresses only). Both are for tests, demos, or an operator's own network.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UrlRules {
    /// `http://` notification URLs, store origins and gateway URLs
    /// (`--allow-http-urls`).
    pub http: bool,
    /// Notification URLs that reach loopback, private or other non-public
    /// addresses (`--allow-private-notify-urls`).
    pub private_addresses: bool,
}

impl UrlRules {
    /// Both allowed: receivers and shops on http://127.0.0.1.
    pub const OPEN: UrlRules = UrlRules { http: true, private_addresses: true };

    /// Refuses `url` unless it is `https`, or `http` with the allowance; the
    /// 422 names `field` with `code`.
    pub fn require_https(self, url: &str, code: &'static str, field: &str) -> Result<(), Error> {
        let scheme = url.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("https") => Ok(()),
            Some("http") if self.http => Ok(()),
            Some("http") => Err(Error::invalid(
                code,
                field,
                format!(
                    "`{url}` is plain http; give an https URL (the operator can allow http with \
                     --allow-http-urls, for tests or its own network)"
                ),
            )),
            _ => Err(Error::invalid(code, field, format!("`{url}` is not an https URL"))),
        }
    }

    /// The check of a notification URL when it is set: `https` (unless
    /// allowed otherwise) and a host that is, or resolves only to, public
    /// addresses. A 422 `invalid_url` on `url` says why not.
    pub async fn check_notify_url(self, raw: &str) -> Result<(), Error> {
        let bad = |why: String| Error::invalid("invalid_url", "url", why);
        let url = Url::parse(raw)
            .map_err(|_| bad(format!("`{raw}` is not a URL like https://shop.example/paylet-events")))?;
        self.require_https(raw, "invalid_url", "url")?;
        let host = Host::of(&url).ok_or_else(|| bad(format!("`{raw}` has no host")))?;
        if self.private_addresses {
            return Ok(());
        }
        let addresses = match host {
            Host::Ip(ip) => vec![ip],
            Host::Name(ref name) => {
                let lookup = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((name.as_str(), 0))).await;
                match lookup {
                    Ok(Ok(found)) => found.map(|a| a.ip()).collect(),
                    _ => Vec::new(),
                }
            }
        };
        if addresses.is_empty() {
            return Err(bad(format!("`{host}` does not resolve; notifications go to a public address")));
        }
        // Any inside address refuses the URL: which one a connection picks is not ours to say.
        match addresses.iter().find_map(|ip| inside(*ip).map(|why| (ip, why))) {
            Some((ip, why)) => Err(bad(refusal(&host, *ip, why))),
            None => Ok(()),
        }
    }
}

/// A URL's host: an address written in the URL, or a name to resolve.
enum Host {
    Ip(IpAddr),
    Name(String),
}

impl Host {
    /// `url`'s host. The URL parser has already turned `2130706433` and
    /// `0x7f.1` into `127.0.0.1`, so every spelling of an address is one.
    fn of(url: &Url) -> Option<Host> {
        let host = url.host_str().filter(|h| !h.is_empty())?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        Some(bare.parse().map_or_else(|_| Host::Name(host.to_owned()), Host::Ip))
    }
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Name(name) => f.write_str(name),
        }
    }
}

fn refusal(host: &Host, ip: IpAddr, why: &str) -> String {
    let reaches = match host {
        Host::Ip(_) => format!("`{ip}` is {why}"),
        Host::Name(name) => format!("`{name}` resolves to {ip}, {why}"),
    };
    format!(
        "{reaches}: notifications go only to public addresses (the operator can allow others with \
         --allow-private-notify-urls, for tests or its own network)"
    )
}

/// Why `ip` is not a public internet address, or `None` when it is. An IPv6
/// address that carries an IPv4 one (mapped, compatible, NAT64, 6to4) is
/// judged by that IPv4 address: that is where it leads.
pub fn inside(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => inside_v4(v4),
        IpAddr::V6(v6) => inside_v6(v6),
    }
}

/// Every IPv4 range that is not the public internet (IANA special-purpose
/// registry), the first match naming why.
#[rustfmt::skip]
const V4: [([u8; 4], u32, &str); 16] = [
    ([0, 0, 0, 0], 8, "an unspecified (\"this network\") address"),
    ([10, 0, 0, 0], 8, "a private address"),
    ([100, 64, 0, 0], 10, "a shared (carrier-grade NAT) address"),
    ([127, 0, 0, 0], 8, "a loopback address"),
    ([169, 254, 0, 0], 16, "a link-local address (where cloud metadata services answer)"),
    ([172, 16, 0, 0], 12, "a private address"),
    ([192, 0, 0, 0], 24, "an IETF protocol address"),
    ([192, 0, 2, 0], 24, "a documentation address"),
    ([192, 88, 99, 0], 24, "a 6to4 relay address"),
    ([192, 168, 0, 0], 16, "a private address"),
    ([198, 18, 0, 0], 15, "a benchmarking address"),
    ([198, 51, 100, 0], 24, "a documentation address"),
    ([203, 0, 113, 0], 24, "a documentation address"),
    ([224, 0, 0, 0], 4, "a multicast address"),
    ([255, 255, 255, 255], 32, "the broadcast address"),
    ([240, 0, 0, 0], 4, "a reserved address"),
];

/// The same for IPv6, after the forms that carry an IPv4 address. Anything
/// outside global unicast (2000::/3) is refused as well.
#[rustfmt::skip]
const V6: [([u16; 8], u32, &str); 12] = [
    ([0, 0, 0, 0, 0, 0, 0, 0], 128, "the unspecified address"),
    ([0, 0, 0, 0, 0, 0, 0, 1], 128, "a loopback address"),
    ([0x100, 0, 0, 0, 0, 0, 0, 0], 64, "a discard-only address"),
    ([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, "a local-use NAT64 address"),
    ([0x2001, 0, 0, 0, 0, 0, 0, 0], 32, "a Teredo tunnel address"),
    ([0x2001, 2, 0, 0, 0, 0, 0, 0], 48, "a benchmarking address"),
    ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, "a documentation address"),
    ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, "a documentation address"),
    ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, "a unique-local address"),
    ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, "a link-local address"),
    ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, "a site-local address"),
    ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, "a multicast address"),
];

fn inside_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let bits = u32::from(ip);
    V4.iter().find(|(net, len, _)| same_prefix(bits, u32::from_be_bytes(*net), *len)).map(|(_, _, why)| *why)
}

fn inside_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let bits = u128::from(ip);
    if let Some((_, _, why)) = V6.iter().find(|(net, len, _)| same_prefix(bits, u128::from(Ipv6Addr::from(*net)), *len))
    {
        return Some(why);
    }
    if let Some(v4) = carried_v4(ip) {
        return inside_v4(v4);
    }
    // Only 2000::/3 is allocated for global unicast.
    if bits >> 125 != 1 { Some("not a global unicast address") } else { None }
}

/// The IPv4 address an IPv6 one stands for: mapped (`::ffff:a.b.c.d`),
/// translated (`::ffff:0:a.b.c.d`), compatible (`::a.b.c.d`), NAT64
/// (`64:ff9b::a.b.c.d`) or 6to4 (`2002:aabb:ccdd::`).
fn carried_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let last = Ipv4Addr::from((u32::from(s[6]) << 16) | u32::from(s[7]));
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0xffff, 0, _, _] | [0, 0, 0, 0, 0, 0, _, _] => Some(last),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(last),
        [0x2002, high, low, ..] => Some(Ipv4Addr::from((u32::from(high) << 16) | u32::from(low))),
        _ => None,
    }
}

/// Whether the first `len` bits of `a` and `b` are the same.
fn same_prefix<T>(a: T, b: T, len: u32) -> bool
where
    T: Copy + Eq + std::ops::Shr<u32, Output = T>,
{
    let width = u32::try_from(std::mem::size_of::<T>() * 8).unwrap_or(u32::MAX);
    let shift = width.saturating_sub(len);
    // A shift by the whole width overflows; a zero-length prefix matches all.
    shift >= width || (a >> shift) == (b >> shift)
}

/// A send refused because of where it would go; reqwest hands it back inside
/// its own error, where [`describe`] finds it.
#[derive(Debug, thiserror::Error)]
#[error("refused: {0}")]
pub struct Refused(String);

/// Resolves names as usual and keeps only public addresses; with none left,
/// the connection fails with [`Refused`]. Called for every new connection, so
/// a name that now resolves inside reaches nothing.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.iter().copied().filter(|a| inside(a.ip()).is_none()).collect();
            if public.is_empty() {
                let why = match found.first() {
                    Some(a) => refusal(&Host::Name(name.clone()), a.ip(), inside(a.ip()).unwrap_or("not public")),
                    None => format!("`{name}` resolves to no address"),
                };
                return Err(Box::new(Refused(why)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// The HTTP client for merchants' notification endpoints, apart from the
/// gateway client: redirects are not followed (a 3xx could lead anywhere,
/// the metadata address included), connecting and answering are bounded,
/// and under strict rules only public addresses are reached.
#[derive(Clone)]
pub struct Client {
    /// Why not, if the client could not be built: every send then fails
    /// rather than going out without the checks.
    http: Result<reqwest::Client, String>,
    rules: UrlRules,
}

impl Client {
    pub fn new(rules: UrlRules) -> Client {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            // A proxy would resolve the name itself, past the check.
            .no_proxy()
            .user_agent(concat!("paylet/", env!("CARGO_PKG_VERSION")));
        if !rules.private_addresses {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        Client { http: builder.build().map_err(|e| e.to_string()), rules }
    }

    /// A POST to `url`, if the rules allow it now: the scheme, and a host
    /// written as an address (reqwest resolves no such host, so the resolver
    /// would not see it). Names are judged as the connection is made.
    pub fn post(&self, url: &str) -> Result<reqwest::RequestBuilder, String> {
        let http = self.http.as_ref().map_err(|e| format!("no HTTP client: {e}"))?;
        self.rules.require_https(url, "invalid_url", "url").map_err(|e| format!("refused: {e}"))?;
        let parsed = Url::parse(url).map_err(|_| "refused: not a URL".to_owned())?;
        if let (Some(Host::Ip(ip)), false) = (Host::of(&parsed), self.rules.private_addresses)
            && let Some(why) = inside(ip)
        {
            return Err(Refused(refusal(&Host::Ip(ip), ip, why)).to_string());
        }
        Ok(http.post(parsed))
    }
}

/// What went wrong with a send, for the outbox's `last_error`.
pub fn describe(e: &reqwest::Error) -> String {
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return refused.to_string();
        }
        source = cause.source();
    }
    if e.is_timeout() { "timed out".to_owned() } else { "could not connect".to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_range_that_is_not_the_public_internet_is_inside() {
        #[rustfmt::skip]
        let table = [
            ("0.0.0.0", "unspecified"), ("0.1.2.3", "unspecified"),
            ("10.0.0.1", "private"), ("10.255.255.255", "private"),
            ("100.64.0.1", "shared"), ("100.127.255.254", "shared"),
            ("127.0.0.1", "loopback"), ("127.255.0.9", "loopback"),
            ("169.254.169.254", "link-local"), ("169.254.0.1", "link-local"),
            ("172.16.5.4", "private"), ("172.31.255.255", "private"),
            ("192.0.0.8", "IETF"), ("192.0.2.1", "documentation"), ("192.88.99.1", "6to4"),
            ("192.168.1.1", "private"),
            ("198.18.0.1", "benchmarking"), ("198.19.255.255", "benchmarking"),
            ("198.51.100.7", "documentation"), ("203.0.113.9", "documentation"),
            ("224.0.0.1", "multicast"), ("239.255.255.250", "multicast"),
            ("240.0.0.1", "reserved"), ("255.255.255.255", "broadcast"),
            ("::", "unspecified"), ("::1", "loopback"),
            ("fc00::1", "unique-local"), ("fd00::1", "unique-local"),
            ("fe80::1", "link-local"), ("febf::1", "link-local"), ("fec0::1", "site-local"),
            ("ff02::1", "multicast"), ("100::1", "discard"),
            ("2001:db8::1", "documentation"), ("3fff::1", "documentation"),
            ("2001:2::1", "benchmarking"), ("2001::1", "Teredo"), ("64:ff9b:1::1", "NAT64"),
            ("4000::1", "global unicast"),
        ];
        for (address, why) in table {
            let ip: IpAddr = address.parse().unwrap();
            let found = inside(ip).unwrap_or_else(|| panic!("{address} passed"));
            assert!(found.contains(why), "{address}: {found}");
        }
    }

    #[test]
    fn an_ipv6_address_that_carries_an_ipv4_one_is_judged_by_it() {
        for v4 in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.169.254",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "198.18.0.1",
        ] {
            let ip: Ipv4Addr = v4.parse().unwrap();
            let [a, b, c, d] = ip.octets();
            let (high, low) = (u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d]));
            let forms = [
                ip.to_ipv6_mapped(),
                Ipv6Addr::new(0, 0, 0, 0, 0xffff, 0, high, low),
                Ipv6Addr::new(0, 0, 0, 0, 0, 0, high, low),
                Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, high, low),
                Ipv6Addr::new(0x2002, high, low, 0, 0, 0, 0, 1),
            ];
            for form in forms {
                assert_eq!(inside(IpAddr::V6(form)), inside(IpAddr::V4(ip)), "{form} carries {ip}");
                assert!(inside(IpAddr::V6(form)).is_some(), "{form}");
            }
        }
        let public: Ipv4Addr = "93.184.216.34".parse().unwrap();
        assert_eq!(inside(IpAddr::V6(public.to_ipv6_mapped())), None);
        assert_eq!(inside("64:ff9b::5db8:d822".parse().unwrap()), None);
    }

    #[test]
    fn public_addresses_pass() {
        for address in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "169.253.255.255",
            "192.169.0.1",
            "198.20.0.1",
            "223.255.255.254",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450:4001::200e",
        ] {
            let ip: IpAddr = address.parse().unwrap();
            assert_eq!(inside(ip), None, "{address}");
        }
    }

    #[test]
    fn every_spelling_of_an_address_in_a_url_is_that_address() {
        for url in ["https://2130706433/", "https://0x7f.1/", "https://0177.0.0.1/", "https://127.1/"] {
            let host = Host::of(&Url::parse(url).unwrap()).unwrap();
            assert!(matches!(host, Host::Ip(ip) if ip == IpAddr::from([127, 0, 0, 1])), "{url}");
        }
        let host = Host::of(&Url::parse("https://[::ffff:127.0.0.1]/").unwrap()).unwrap();
        assert!(matches!(host, Host::Ip(ip) if inside(ip) == Some("a loopback address")));
    }

    #[test]
    fn http_is_refused_unless_allowed() {
        let strict = UrlRules::default();
        assert!(strict.require_https("https://shop.example", "c", "f").is_ok());
        let refused = strict.require_https("http://shop.example", "c", "f").unwrap_err();
        assert!(refused.to_string().contains("--allow-http-urls"), "{refused}");
        assert!(strict.require_https("ftp://shop.example", "c", "f").is_err());
        assert!(UrlRules { http: true, ..strict }.require_https("http://shop.example", "c", "f").is_ok());
    }

    #[tokio::test]
    async fn a_send_to_an_address_inside_is_refused_before_connecting() {
        let client = Client::new(UrlRules { http: true, private_addresses: false });
        for url in ["http://127.0.0.1:9/", "http://[::ffff:10.0.0.1]/", "http://0x7f.1/"] {
            let refused = client.post(url).unwrap_err();
            assert!(refused.starts_with("refused:"), "{url}: {refused}");
        }
        assert!(client.post("http://93.184.216.34/").is_ok());
        assert!(Client::new(UrlRules::OPEN).post("http://127.0.0.1:9/").is_ok());
    }
}
