//! Where the device is, as far as a Lambda event can tell honestly. Infobip compares this address
//! with the operator's ranges, so an address a client can choose would let anyone claim to be on
//! any network. The rules:
//! - API Gateway (REST and HTTP APIs, function URLs): the source IP API Gateway saw on the TCP
//!   connection. A client's own `X-Forwarded-For` is ignored.
//! - ALB: `X-Forwarded-For` read from the right; the ALB appends what it saw, and entries to the
//!   left of the trusted proxy hops are the client's own words.
//! - The source port only from `CloudFront-Viewer-Address`, and only when configured to trust it
//!   (with the origin secret CloudFront adds, when one is set). `X-Forwarded-Port` is the port the
//!   client connected *to*, never the device's.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

pub use crate::device::DeviceAddress;

/// The TCP peer of a request that did not come through AWS (the local server inserts it).
/// Only code in this process can attach an extension: no event field can produce one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectedPeer(pub SocketAddr);

#[derive(Clone, Default)]
pub struct AddressPolicy {
    /// Proxies in front of an ALB that append to `X-Forwarded-For` (0: the client talks to the ALB).
    pub alb_trusted_hops: usize,
    /// `Some` when the API is behind CloudFront and `CloudFront-Viewer-Address` is forwarded.
    pub cloudfront: Option<CloudFrontTrust>,
}

#[derive(Clone)]
pub struct CloudFrontTrust {
    /// Header CloudFront adds as an origin custom header and its value; without it, a client that
    /// reaches API Gateway directly could write its own `CloudFront-Viewer-Address`.
    pub origin_secret: Option<OriginSecret>,
}

/// A header name and the secret value CloudFront sends in it.
#[derive(Clone)]
pub struct OriginSecret {
    pub header: String,
    pub value: SecretString,
}

impl fmt::Debug for AddressPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AddressPolicy")
            .field("alb_trusted_hops", &self.alb_trusted_hops)
            .field(
                "cloudfront",
                &self
                    .cloudfront
                    .as_ref()
                    .map(|c| c.origin_secret.as_ref().map(|s| &s.header)),
            )
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("the request carries no source address")]
    Missing,
    #[error("the request's source address is not an IP address")]
    Malformed,
    #[error("the request did not come through the trusted CloudFront distribution")]
    NotFromCloudFront,
}

pub const CLOUDFRONT_VIEWER_ADDRESS: &str = "cloudfront-viewer-address";

pub fn resolve(request: &Request, policy: &AddressPolicy) -> Result<DeviceAddress, AddressError> {
    if let Some(ConnectedPeer(peer)) = request.extensions().get::<ConnectedPeer>() {
        return Ok(DeviceAddress {
            ip: peer.ip(),
            port: Some(peer.port()),
        });
    }
    if let Some(cloudfront) = &policy.cloudfront {
        return from_cloudfront(request, cloudfront);
    }
    let ip = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => {
            parse_ip(context.identity.source_ip.as_deref())?
        }
        Some(RequestContext::ApiGatewayV2(context)) => parse_ip(context.http.source_ip.as_deref())?,
        Some(RequestContext::Alb(_)) => {
            // Every X-Forwarded-For header, in order, is one chain: a proxy that adds a header of
            // its own instead of appending still puts its entry after the client's.
            let headers = request.headers().get_all("x-forwarded-for").iter();
            let chain = headers
                .map(|v| v.to_str().map_err(|_| AddressError::Malformed))
                .collect::<Result<Vec<_>, _>>()?
                .join(",");
            if chain.is_empty() {
                return Err(AddressError::Missing);
            }
            from_forwarded_for(&chain, policy.alb_trusted_hops)?
        }
        _ => return Err(AddressError::Missing),
    };
    Ok(DeviceAddress { ip, port: None })
}

fn from_cloudfront(
    request: &Request,
    trust: &CloudFrontTrust,
) -> Result<DeviceAddress, AddressError> {
    if let Some(secret) = &trust.origin_secret {
        let given = header(request, &secret.header).unwrap_or_default();
        let expected = secret.value.expose_secret().as_bytes();
        if !bool::from(given.as_bytes().ct_eq(expected)) {
            return Err(AddressError::NotFromCloudFront);
        }
    }
    let value =
        header(request, CLOUDFRONT_VIEWER_ADDRESS).ok_or(AddressError::NotFromCloudFront)?;
    let (ip, port) = parse_viewer_address(value).ok_or(AddressError::Malformed)?;
    Ok(DeviceAddress {
        ip,
        port: Some(port),
    })
}

fn header<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

fn parse_ip(raw: Option<&str>) -> Result<IpAddr, AddressError> {
    let raw = raw
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(AddressError::Missing)?;
    raw.parse().map_err(|_| AddressError::Malformed)
}

/// The entry `trusted_hops` places from the right: the address the outermost trusted proxy saw.
pub fn from_forwarded_for(chain: &str, trusted_hops: usize) -> Result<IpAddr, AddressError> {
    let entry = chain
        .rsplit(',')
        .nth(trusted_hops)
        .ok_or(AddressError::Missing)?;
    parse_ip(Some(entry))
}

/// `198.51.100.10:46532`, `2001:db8::1:46532` (CloudFront's unbracketed IPv6) or `[2001:db8::1]:46532`.
pub fn parse_viewer_address(raw: &str) -> Option<(IpAddr, u16)> {
    let raw = raw.trim();
    if let Ok(socket) = raw.parse::<SocketAddr>() {
        return Some((socket.ip(), socket.port()));
    }
    let (ip, port) = raw.rsplit_once(':')?;
    let ip: IpAddr = ip.parse().ok()?;
    // Only IPv6 reaches here legitimately; an IPv4 address with a port parses as a SocketAddr above.
    ip.is_ipv6().then_some(())?;
    Some((ip, port.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_read_from_the_right() {
        let chain = "6.6.6.6, 203.0.113.7, 10.0.0.1";
        assert_eq!(
            from_forwarded_for(chain, 0).unwrap(),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            from_forwarded_for(chain, 1).unwrap(),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(from_forwarded_for(chain, 3), Err(AddressError::Missing));
        assert_eq!(
            from_forwarded_for("2001:db8::7", 0).unwrap(),
            "2001:db8::7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            from_forwarded_for("1.2.3.4, nonsense", 0),
            Err(AddressError::Malformed)
        );
    }

    #[test]
    fn viewer_address_in_all_three_forms() {
        assert_eq!(
            parse_viewer_address("198.51.100.10:46532"),
            Some(("198.51.100.10".parse().unwrap(), 46532))
        );
        assert_eq!(
            parse_viewer_address("2001:db8::1:46532"),
            Some(("2001:db8::1".parse().unwrap(), 46532))
        );
        assert_eq!(
            parse_viewer_address("[2001:db8::1]:46532"),
            Some(("2001:db8::1".parse().unwrap(), 46532))
        );
        for bad in [
            "198.51.100.10",
            "198.51.100.10:99999",
            "",
            ":1",
            "host:80",
            "[2001:db8::1]",
            "1.2.3.4:5:6",
        ] {
            assert_eq!(parse_viewer_address(bad), None, "{bad}");
        }
    }
}
