//! Which paths exist, which function serves each, and how each reports errors.

use lambda_http::http::Method;

use super::problem::ErrorStyle;
use crate::error::AppError;

/// The three Lambda functions, plus the local server that serves everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    StartVerify,
    Callback,
    Poll,
    All,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `POST /verifications`
    StartVerification,
    /// `GET /verifications/{token}`
    GetVerification(String),
    /// `POST /callbacks/infobip/{secret}`: `service::CALLBACK_PATH_PREFIX` builds these URLs.
    InfobipCallback(String),
    /// `GET /verify/{msisdn}` (Infobip's demo app)
    DemoStart(String),
    /// `GET /verify/result/{token}` (Infobip's demo app)
    DemoResult(String),
    /// `GET /device-address` (Infobip's demo app)
    DeviceAddress,
}

impl Function {
    pub fn serves(self, route: &Route) -> bool {
        self == Function::All || self == route.owner()
    }
}

/// Every route as API Gateway declares it (method, path template, the function behind it).
/// `template.yaml` must declare exactly these; a test below keeps the list true to `parse`.
pub const ROUTES: &[(&str, &str, Function)] = &[
    ("POST", "/verifications", Function::StartVerify),
    ("GET", "/verify/{msisdn}", Function::StartVerify),
    ("GET", "/device-address", Function::StartVerify),
    ("POST", "/callbacks/infobip/{secret}", Function::Callback),
    ("GET", "/verifications/{token}", Function::Poll),
    ("GET", "/verify/result/{token}", Function::Poll),
];

impl Route {
    /// The Lambda function behind this route.
    pub fn owner(&self) -> Function {
        match self {
            Route::StartVerification | Route::DemoStart(_) | Route::DeviceAddress => {
                Function::StartVerify
            }
            Route::InfobipCallback(_) => Function::Callback,
            Route::GetVerification(_) | Route::DemoResult(_) => Function::Poll,
        }
    }

    pub fn parse(method: &Method, path: &str) -> Result<Self, AppError> {
        let segments: Vec<&str> = match path.strip_prefix('/') {
            Some(rest) => rest.split('/').collect(),
            None => return Err(AppError::RouteNotFound),
        };
        let (route, allow) = match segments.as_slice() {
            ["verifications"] => (Route::StartVerification, "POST"),
            ["verifications", token] if !token.is_empty() => {
                (Route::GetVerification(token.to_string()), "GET")
            }
            ["callbacks", "infobip", secret] if !secret.is_empty() => {
                (Route::InfobipCallback(secret.to_string()), "POST")
            }
            ["verify", "result", token] if !token.is_empty() => {
                (Route::DemoResult(token.to_string()), "GET")
            }
            ["verify", msisdn] if !msisdn.is_empty() => {
                (Route::DemoStart(msisdn.to_string()), "GET")
            }
            ["device-address"] => (Route::DeviceAddress, "GET"),
            _ => return Err(AppError::RouteNotFound),
        };
        if method.as_str() == allow {
            Ok(route)
        } else {
            Err(AppError::MethodNotAllowed { allow })
        }
    }

    /// A stable name for logs and metrics, without the token or secret in the path.
    pub fn name(&self) -> &'static str {
        match self {
            Route::StartVerification => "POST /verifications",
            Route::GetVerification(_) => "GET /verifications/{token}",
            Route::InfobipCallback(_) => "POST /callbacks/infobip/{secret}",
            Route::DemoStart(_) => "GET /verify/{msisdn}",
            Route::DemoResult(_) => "GET /verify/result/{token}",
            Route::DeviceAddress => "GET /device-address",
        }
    }

    /// The demo app reads `errorDescription` (and `token`) from a failed start.
    pub(super) fn error_style(&self) -> ErrorStyle {
        match self {
            Route::DemoStart(_) | Route::DemoResult(_) | Route::DeviceAddress => {
                ErrorStyle::DemoApp
            }
            _ => ErrorStyle::Problem,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(method: Method, path: &str) -> Result<Route, AppError> {
        Route::parse(&method, path)
    }

    #[test]
    fn every_route_parses() {
        assert_eq!(
            parse(Method::POST, "/verifications").unwrap(),
            Route::StartVerification
        );
        assert_eq!(
            parse(Method::GET, "/verifications/abc").unwrap(),
            Route::GetVerification("abc".into())
        );
        assert_eq!(
            parse(Method::POST, "/callbacks/infobip/s").unwrap(),
            Route::InfobipCallback("s".into())
        );
        assert_eq!(
            parse(Method::GET, "/verify/447911123456").unwrap(),
            Route::DemoStart("447911123456".into())
        );
        assert_eq!(
            parse(Method::GET, "/verify/result/abc").unwrap(),
            Route::DemoResult("abc".into())
        );
        assert_eq!(
            parse(Method::GET, "/device-address").unwrap(),
            Route::DeviceAddress
        );
    }

    #[test]
    fn the_route_list_matches_the_router() {
        for (method, template, function) in ROUTES {
            let path = template
                .replace("{msisdn}", "447911123456")
                .replace("{secret}", "s")
                .replace("{token}", "t");
            let route = Route::parse(&method.parse().unwrap(), &path).unwrap();
            assert_eq!(route.name(), format!("{method} {template}"));
            assert!(function.serves(&route) && *function != Function::All);
        }
    }

    #[test]
    fn wrong_methods_name_the_allowed_one() {
        assert!(matches!(
            parse(Method::GET, "/verifications"),
            Err(AppError::MethodNotAllowed { allow: "POST" })
        ));
        assert!(matches!(
            parse(Method::DELETE, "/verifications/x"),
            Err(AppError::MethodNotAllowed { allow: "GET" })
        ));
        assert!(matches!(
            parse(Method::GET, "/callbacks/infobip/x"),
            Err(AppError::MethodNotAllowed { allow: "POST" })
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
                matches!(parse(Method::GET, path), Err(AppError::RouteNotFound)),
                "{path}"
            );
        }
    }

    #[test]
    fn each_function_serves_only_its_routes() {
        let start = Route::StartVerification;
        let callback = Route::InfobipCallback("s".into());
        let poll = Route::DemoResult("t".into());
        assert!(
            Function::StartVerify.serves(&start)
                && Function::StartVerify.serves(&Route::DeviceAddress)
        );
        assert!(!Function::StartVerify.serves(&callback) && !Function::StartVerify.serves(&poll));
        assert!(Function::Callback.serves(&callback) && !Function::Callback.serves(&start));
        assert!(Function::Poll.serves(&poll) && !Function::Poll.serves(&callback));
        assert!([start, callback, poll]
            .iter()
            .all(|r| Function::All.serves(r)));
    }
}
