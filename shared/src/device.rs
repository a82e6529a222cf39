//! The device a verification is for, as the network sees it. How an address is read from a
//! request is `device_address`'s business; here it is already a fact.

use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceAddress {
    pub ip: IpAddr,
    pub port: Option<u16>,
}

/// The addresses one subscriber controls: an IPv4 address (IPv4-mapped IPv6 included), or an
/// IPv6 /64, since a subscriber gets a whole /64 and may use any address in it. Rate limits and
/// Idempotency-Key records are kept per subscriber, not per single address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    key: String,
    /// The /48 an IPv6 subscriber's /64 belongs to (a site's usual allocation).
    ipv6_network: Option<String>,
}

impl Subscriber {
    pub fn of(ip: IpAddr) -> Self {
        // An IPv4-mapped IPv6 address is its IPv4 address.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match ip {
            IpAddr::V4(v4) => Self {
                key: v4.to_string(),
                ipv6_network: None,
            },
            IpAddr::V6(v6) => {
                let s = v6.segments();
                Self {
                    key: format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]),
                    ipv6_network: Some(format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])),
                }
            }
        }
    }

    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// `None` for IPv4.
    pub fn ipv6_network(&self) -> Option<&str> {
        self.ipv6_network.as_deref()
    }
}

impl DeviceAddress {
    pub fn subscriber(&self) -> Subscriber {
        Subscriber::of(self.ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_subscriber_is_its_64_prefix() {
        let of = |ip: &str| Subscriber::of(ip.parse().unwrap());
        assert_eq!(of("2001:db8:1:2::1"), of("2001:db8:1:2:ffff:1:2:3"));
        assert_ne!(of("2001:db8:1:2::1"), of("2001:db8:1:3::1"));
        assert_eq!(of("::ffff:203.0.113.7").as_str(), "203.0.113.7");
        assert_eq!(
            of("2001:db8:1:2::1").ipv6_network(),
            of("2001:db8:1:ffff::9").ipv6_network()
        );
        assert_eq!(
            of("2001:db8:1:2::1").ipv6_network(),
            Some("2001:db8:1::/48")
        );
        assert_ne!(
            of("2001:db8:1:2::1").ipv6_network(),
            of("2001:db8:2:2::1").ipv6_network()
        );
        assert_eq!(of("203.0.113.7").ipv6_network(), None);
    }
}
