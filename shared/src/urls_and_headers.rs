//! Small pieces of HTTP that both sides of us use (our handlers, the Infobip client, the local
//! tools): a path under a base URL, and a `Retry-After` header.

use std::time::Duration;

use lambda_http::http::header::RETRY_AFTER;
use lambda_http::http::HeaderMap;
use url::Url;

/// `relative` under `base`, keeping `base`'s path whether or not it ends with a slash
/// (`https://h/prod` + `callbacks/x` is `https://h/prod/callbacks/x`, not `https://h/callbacks/x`).
pub fn join(base: &Url, relative: &str) -> Result<Url, url::ParseError> {
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    base.join(relative.trim_start_matches('/'))
}

/// `Retry-After` in whole seconds (the only form we send; an HTTP date is not read).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_keeps_the_base_path() {
        let join = |base: &str, relative: &str| {
            join(&Url::parse(base).unwrap(), relative)
                .unwrap()
                .to_string()
        };
        assert_eq!(
            join("https://xyz.api.infobip.com/", "mi/verification/1/verify"),
            "https://xyz.api.infobip.com/mi/verification/1/verify"
        );
        assert_eq!(
            join("http://127.0.0.1:9/infobip", "/mi/verification/1/verify"),
            "http://127.0.0.1:9/infobip/mi/verification/1/verify"
        );
        assert_eq!(
            join("https://smv.example.com/prod/", "callbacks/infobip/s"),
            "https://smv.example.com/prod/callbacks/infobip/s"
        );
    }

    #[test]
    fn retry_after_reads_whole_seconds_only() {
        let headers = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, value.parse().unwrap());
            headers
        };
        assert_eq!(retry_after(&headers(" 7 ")), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(&headers("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }
}
