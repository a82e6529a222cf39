//! What browsers and Infobip's demo app may reach: the route families a deployment serves, and
//! the origins whose pages may start verifications.

use url::Url;

use super::setting::{Env, Setting};
use super::{ConfigError, Function};

/// A GET that starts a billed verification can be sent by any page's `<img>`, a link unfurler
/// or a prefetcher: off unless wanted.
pub const DEMO_APP_ROUTES: Setting = Setting::flag(
    "DEMO_APP_ROUTES",
    false,
    &[Function::Start, Function::Poll],
    "DemoAppRoutes",
);
pub const WEB_PAGE: Setting = Setting::flag("WEB_PAGE", true, &[Function::Poll], "WebPage");
/// Origins (exact, `https://shop.example.com`) whose pages may start verifications.
pub const CORS_ALLOWED_ORIGINS: Setting = Setting::text(
    "CORS_ALLOWED_ORIGINS",
    &[Function::Start],
    "CorsAllowedOrigins",
);

pub const SETTINGS: &[Setting] = &[DEMO_APP_ROUTES, WEB_PAGE, CORS_ALLOWED_ORIGINS];

/// A group of routes a deployment serves or not, as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Our API: always served.
    Api,
    /// The routes Infobip's demo app calls (`DEMO_APP_ROUTES`); they report errors in the shape
    /// it reads.
    DemoApp,
    /// The verification page for browsers (`WEB_PAGE`).
    WebPage,
    /// The OpenID Provider's discovery, authorization page and its completion (where a client
    /// registry is configured).
    Oidc,
    /// The OpenID Provider's token and UserInfo endpoints, which answer in OAuth's terms.
    OidcApi,
}

/// The families a function serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Families {
    demo_app: bool,
    web_page: bool,
    oidc: bool,
}

impl Families {
    /// Our API only.
    pub const API: Self = Self {
        demo_app: false,
        web_page: false,
        oidc: false,
    };

    pub fn contains(self, family: Family) -> bool {
        match family {
            Family::Api => true,
            Family::DemoApp => self.demo_app,
            Family::WebPage => self.web_page,
            Family::Oidc | Family::OidcApi => self.oidc,
        }
    }

    pub fn with(self, family: Family, served: bool) -> Self {
        match family {
            Family::Api => self,
            Family::DemoApp => Self {
                demo_app: served,
                ..self
            },
            Family::WebPage => Self {
                web_page: served,
                ..self
            },
            Family::Oidc | Family::OidcApi => Self {
                oidc: served,
                ..self
            },
        }
    }

    /// The start function's: the demo app's start and device-address routes where configured.
    pub(super) fn of_start(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self::API.with(Family::DemoApp, env.flag(&DEMO_APP_ROUTES)?))
    }

    /// The poll function's: the demo app's result route and the page, where configured.
    pub(super) fn of_poll(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self::API
            .with(Family::DemoApp, env.flag(&DEMO_APP_ROUTES)?)
            .with(Family::WebPage, env.flag(&WEB_PAGE)?))
    }
}

/// `CORS_ALLOWED_ORIGINS`: comma-separated origins, each a scheme, a host and maybe a port.
pub(super) fn origins(env: &Env<'_>) -> Result<Vec<String>, ConfigError> {
    env.list(&CORS_ALLOWED_ORIGINS)
        .into_iter()
        .map(|origin| {
            // A page served over http can be rewritten on the way: only a loopback one (a
            // developer's) may start verifications in clear.
            let url = Url::parse(&origin).ok().filter(|u| {
                (u.scheme() == "https" || (u.scheme() == "http" && is_loopback(u)))
                    && u.host_str().is_some()
                    && u.path() == "/"
                    && !origin.ends_with('/')
            });
            match url {
                Some(_) => Ok(origin),
                None => Err(ConfigError {
                    name: CORS_ALLOWED_ORIGINS.name,
                    problem: format!(
                        "must be https:// origins like https://shop.example.com (http:// only for loopback), comma-separated (got {origin:?})"
                    ),
                }),
            }
        })
        .collect()
}

/// Whether `url` names this machine: the only place where http is not readable by the network.
pub(super) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(domain)) => domain == "localhost",
        None => false,
    }
}
