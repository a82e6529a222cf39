//! Every route, declared once: method, path pattern, the function that serves it, how it reports
//! errors, and its handler. Routing, the Lambda entry points, the local server, the template test
//! and the events test all read these tables. Each function's table names only its own handlers,
//! so a Lambda binary links only the code of its own routes.
//!
//! Adding a route: a row here, its handler, its event in `template.yaml`, its entry in
//! `openapi.yaml` (and an event file in `events/`; the tests say when one is missing).

use super::refused::{HttpError, Refused};
use std::future::Future;
use std::pin::Pin;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::problem::ErrorStyle;
use super::{assertions, callback, camara, demo, fallback, oidc, verifications, web_page};
use crate::app::{CallbackApp, PollApp, StartApp};
pub use crate::config::{Families, Family, Function};
use crate::error::AppError;

pub type Served<'a> = Pin<Box<dyn Future<Output = Result<Response<Body>, HttpError>> + Send + 'a>>;

/// A handler: the function's context, the path's parameters, the request.
pub type Handler<C> = for<'a> fn(&'a C, &'a Params, &'a Request) -> Served<'a>;

pub struct Route<C: 'static> {
    pub method: &'static str,
    /// Literal segments and `{name}` parameters, each parameter one non-empty segment.
    pub pattern: &'static str,
    pub family: Family,
    pub handler: Handler<C>,
}

impl Family {
    pub fn error_style(self) -> ErrorStyle {
        match self {
            Family::Api | Family::WebPage | Family::Oidc => ErrorStyle::Problem,
            Family::DemoApp => ErrorStyle::DemoApp,
            Family::OidcApi => ErrorStyle::OAuth,
        }
    }
}

pub static START_ROUTES: &[Route<StartApp>] = &[
    Route {
        method: "POST",
        pattern: "/verifications",
        family: Family::Api,
        handler: |app, _, request| Box::pin(verifications::start(app, request)),
    },
    Route {
        method: "GET",
        pattern: "/verify/{msisdn}",
        family: Family::DemoApp,
        handler: |app, params, request| Box::pin(demo::start(app, params, request)),
    },
    Route {
        method: "GET",
        pattern: "/device-address",
        family: Family::DemoApp,
        handler: |app, _, request| Box::pin(async move { demo::device_address(app, request) }),
    },
    Route {
        method: "POST",
        pattern: "/verifications/{token}/fallback",
        family: Family::Api,
        handler: |app, params, request| Box::pin(fallback::send(app, params, request)),
    },
    Route {
        method: "POST",
        pattern: "/verifications/{token}/pin",
        family: Family::Api,
        handler: |app, params, request| Box::pin(fallback::check(app, params, request)),
    },
];

pub static CALLBACK_ROUTES: &[Route<CallbackApp>] = &[Route {
    method: "POST",
    pattern: "/callbacks/infobip/{secret}",
    family: Family::Api,
    handler: |app, params, request| Box::pin(callback::receive(app, params, request)),
}];

pub static POLL_ROUTES: &[Route<PollApp>] = &[
    Route {
        method: "GET",
        pattern: "/verifications/{token}",
        family: Family::Api,
        handler: |app, params, _| Box::pin(verifications::get(app, params)),
    },
    Route {
        method: "GET",
        pattern: "/verify/result/{token}",
        family: Family::DemoApp,
        handler: |app, params, _| Box::pin(demo::result(app, params)),
    },
    Route {
        method: "GET",
        pattern: "/return/{secret}",
        family: Family::Api,
        handler: |app, params, request| Box::pin(assertions::device_return(app, params, request)),
    },
    Route {
        method: "GET",
        pattern: "/camara/return",
        family: Family::Api,
        handler: |app, _, request| Box::pin(camara::device_return(app, request)),
    },
    Route {
        method: "POST",
        pattern: "/verifications/{token}/credential",
        family: Family::Api,
        handler: |app, params, request| Box::pin(camara::submit_credential(app, params, request)),
    },
    Route {
        method: "POST",
        pattern: "/verifications/{token}/assertion",
        family: Family::Api,
        handler: |app, params, request| Box::pin(assertions::redeem(app, params, request)),
    },
    Route {
        method: "GET",
        pattern: "/.well-known/jwks.json",
        family: Family::Api,
        handler: |app, _, _| Box::pin(assertions::jwks(app)),
    },
    Route {
        method: "GET",
        pattern: "/.well-known/openid-configuration",
        family: Family::Oidc,
        handler: |app, _, request| Box::pin(oidc::discovery(app, request)),
    },
    Route {
        method: "GET",
        pattern: "/authorize",
        family: Family::Oidc,
        handler: |app, _, request| Box::pin(oidc::authorize(app, request)),
    },
    Route {
        method: "POST",
        pattern: "/authorize/complete",
        family: Family::Oidc,
        handler: |app, _, request| Box::pin(oidc::complete(app, request)),
    },
    Route {
        method: "POST",
        pattern: "/token",
        family: Family::OidcApi,
        handler: |app, _, request| Box::pin(oidc::token::token(app, request)),
    },
    Route {
        method: "GET",
        pattern: "/userinfo",
        family: Family::OidcApi,
        handler: |app, _, request| Box::pin(oidc::token::userinfo(app, request)),
    },
    Route {
        method: "POST",
        pattern: "/userinfo",
        family: Family::OidcApi,
        handler: |app, _, request| Box::pin(oidc::token::userinfo(app, request)),
    },
    Route {
        method: "GET",
        pattern: "/web",
        family: Family::WebPage,
        handler: |_, _, _| {
            Box::pin(async { Ok(web_page::render(web_page::Mode::Start, StatusCode::OK)) })
        },
    },
];

/// A function's context and its table.
pub trait Routes: Sized + Sync + 'static {
    fn routes() -> &'static [Route<Self>];

    /// The route families this deployment serves; a family that is not served is answered like
    /// an unknown route.
    fn families(&self) -> Families;
}

impl Routes for StartApp {
    fn routes() -> &'static [Route<Self>] {
        START_ROUTES
    }

    fn families(&self) -> Families {
        self.config.families
    }
}

impl Routes for CallbackApp {
    fn routes() -> &'static [Route<Self>] {
        CALLBACK_ROUTES
    }

    fn families(&self) -> Families {
        Families::API
    }
}

impl Routes for PollApp {
    fn routes() -> &'static [Route<Self>] {
        POLL_ROUTES
    }

    fn families(&self) -> Families {
        self.config.families
    }
}

/// A route without its handler: what the tests and the local server need to know of every route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteInfo {
    pub method: &'static str,
    pub pattern: &'static str,
    pub function: Function,
}

impl Function {
    /// This function's routes.
    pub fn routes(self) -> Vec<RouteInfo> {
        fn info<C>(function: Function, routes: &[Route<C>]) -> Vec<RouteInfo> {
            routes
                .iter()
                .map(|r| RouteInfo {
                    method: r.method,
                    pattern: r.pattern,
                    function,
                })
                .collect()
        }
        match self {
            Function::Start => info(self, START_ROUTES),
            Function::Callback => info(self, CALLBACK_ROUTES),
            Function::Poll => info(self, POLL_ROUTES),
        }
    }

    /// The function whose routes include `path`, whatever the method.
    pub fn serving(path: &str) -> Option<Self> {
        fn has<C>(routes: &[Route<C>], path: &str) -> bool {
            routes.iter().any(|r| Params::of(r.pattern, path).is_some())
        }
        Self::ALL.into_iter().find(|f| match f {
            Function::Start => has(START_ROUTES, path),
            Function::Callback => has(CALLBACK_ROUTES, path),
            Function::Poll => has(POLL_ROUTES, path),
        })
    }
}

/// Every route of every function.
pub fn all_routes() -> Vec<RouteInfo> {
    Function::ALL
        .into_iter()
        .flat_map(Function::routes)
        .collect()
}

impl RouteInfo {
    /// A stable name for logs and metrics, without the token or secret in the path.
    pub fn name(&self) -> String {
        format!("{} {}", self.method, self.pattern)
    }
}

/// The values of a pattern's `{name}` segments in a path.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Params(Vec<(&'static str, String)>);

impl Params {
    /// `Some` when `path` has `pattern`'s shape.
    pub fn of(pattern: &'static str, path: &str) -> Option<Self> {
        let mut wanted = pattern.strip_prefix('/')?.split('/');
        let mut given = path.strip_prefix('/')?.split('/');
        let mut params = Vec::new();
        loop {
            match (wanted.next(), given.next()) {
                (None, None) => return Some(Self(params)),
                (Some(w), Some(g)) => match w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                    Some(_) if g.is_empty() => return None,
                    Some(name) => params.push((name, g.to_owned())),
                    None if w == g => {}
                    None => return None,
                },
                _ => return None,
            }
        }
    }

    /// The segment named `name` in the route's pattern.
    pub fn get(&self, name: &str) -> Result<&str, HttpError> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, value)| value.as_str())
            .ok_or_else(|| {
                AppError::internal(format!("the route has no {{{name}}} segment")).into()
            })
    }
}

/// The route of `C`'s table for this request, with its parameters.
pub(super) fn find<C: Routes>(
    method: &str,
    path: &str,
) -> Result<(&'static Route<C>, Params), Refused> {
    let mut allowed: Vec<&str> = Vec::new();
    for route in C::routes() {
        if let Some(params) = Params::of(route.pattern, path) {
            if route.method == method {
                return Ok((route, params));
            }
            allowed.push(route.method);
        }
    }
    Err(match allowed.is_empty() {
        false => Refused::MethodNotAllowed {
            allow: allowed.join(", "),
        },
        true => Refused::NotFound,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(method: &str, path: &str) -> Result<(Function, String), Refused> {
        let function = Function::serving(path).ok_or(Refused::NotFound)?;
        let pattern = match function {
            Function::Start => find::<StartApp>(method, path)?.0.pattern,
            Function::Callback => find::<CallbackApp>(method, path)?.0.pattern,
            Function::Poll => find::<PollApp>(method, path)?.0.pattern,
        };
        Ok((function, pattern.to_owned()))
    }

    #[test]
    fn every_route_is_found_with_its_parameters() {
        use Function::*;
        for (method, path, function, pattern) in [
            ("POST", "/verifications", Start, "/verifications"),
            ("GET", "/verifications/abc", Poll, "/verifications/{token}"),
            (
                "POST",
                "/callbacks/infobip/s",
                Callback,
                "/callbacks/infobip/{secret}",
            ),
            ("GET", "/verify/447911123456", Start, "/verify/{msisdn}"),
            ("GET", "/verify/result/abc", Poll, "/verify/result/{token}"),
            ("GET", "/device-address", Start, "/device-address"),
        ] {
            assert_eq!(
                owner(method, path).unwrap(),
                (function, pattern.to_owned()),
                "{method} {path}"
            );
        }
        let params = Params::of("/verify/result/{token}", "/verify/result/abc").unwrap();
        assert_eq!(params.get("token").unwrap(), "abc");
        assert!(matches!(
            params.get("secret"),
            Err(HttpError::App(AppError::Internal(_)))
        ));
    }

    #[test]
    fn every_table_row_is_reachable_and_named_by_its_pattern() {
        let routes = all_routes();
        for route in &routes {
            let path = route
                .pattern
                .replace("{msisdn}", "447911123456")
                .replace("{secret}", "s")
                .replace("{token}", "t");
            assert_eq!(Function::serving(&path), Some(route.function), "{path}");
            assert_eq!(route.name(), format!("{} {}", route.method, route.pattern));
            let (function, pattern) = owner(route.method, &path).unwrap();
            assert_eq!(
                (function, pattern.as_str()),
                (route.function, route.pattern)
            );
        }
    }

    #[test]
    fn wrong_methods_name_the_allowed_one() {
        assert!(matches!(
            owner("GET", "/verifications"),
            Err(Refused::MethodNotAllowed { allow }) if allow == "POST"
        ));
        assert!(matches!(
            owner("DELETE", "/verifications/x"),
            Err(Refused::MethodNotAllowed { allow }) if allow == "GET"
        ));
        assert!(matches!(
            owner("DELETE", "/userinfo"),
            Err(Refused::MethodNotAllowed { allow }) if allow == "GET, POST"
        ));
        assert!(matches!(
            owner("GET", "/callbacks/infobip/x"),
            Err(Refused::MethodNotAllowed { allow }) if allow == "POST"
        ));
    }

    #[test]
    fn unknown_and_near_miss_paths_are_not_found() {
        for path in [
            "",
            "/",
            "/verifications/",
            "/verifications/a/b",
            "/callbacks/infobip",
            "/callbacks/infobip/",
            "/verify/",
            "/verify/result/",
            "/device-address/x",
            "verifications",
        ] {
            assert!(
                matches!(owner("GET", path), Err(Refused::NotFound)),
                "{path}"
            );
        }
    }

    #[test]
    fn each_function_serves_only_its_routes() {
        assert!(find::<StartApp>("POST", "/verifications").is_ok());
        assert!(find::<StartApp>("GET", "/device-address").is_ok());
        assert!(matches!(
            find::<StartApp>("POST", "/callbacks/infobip/s"),
            Err(Refused::NotFound)
        ));
        assert!(matches!(
            find::<StartApp>("GET", "/verify/result/t"),
            Err(Refused::NotFound)
        ));
        assert!(find::<CallbackApp>("POST", "/callbacks/infobip/s").is_ok());
        assert!(matches!(
            find::<CallbackApp>("POST", "/verifications"),
            Err(Refused::NotFound)
        ));
        assert!(find::<PollApp>("GET", "/verify/result/t").is_ok());
        assert!(matches!(
            find::<PollApp>("POST", "/callbacks/infobip/s"),
            Err(Refused::NotFound)
        ));
    }

    #[test]
    fn binaries_name_their_functions() {
        for function in Function::ALL {
            assert_eq!(Function::from_binary(function.binary()), Some(function));
        }
        assert_eq!(Function::from_binary("smv-local"), None);
    }
}
