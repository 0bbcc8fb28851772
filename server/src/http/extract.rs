//! Extractors whose every failure is the crate's `Error`, so a malformed request
//! gets the same JSON error shape as any other.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::app::AppState;

/// A JSON body; errors name the offending field (`items[0].quantity`).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(Error::UnsupportedMediaType("application/json"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| match e {
            BytesRejection::FailedToBufferBody(_) => Error::PayloadTooLarge,
            _ => Error::BadRequest { code: "unreadable_body", message: "Could not read the request body.".into() },
        })?;
        parse(&bytes).map(ApiJson)
    }
}

/// A JSON body that may carry an `Idempotency-Key` header: the value, the key,
/// and a fingerprint of the exact bytes, for [`super::idempotent::respond`].
pub struct IdempotentJson<T> {
    pub value: T,
    pub key: Option<String>,
    pub fingerprint: String,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for IdempotentJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let key = match req.headers().get(paylet_api::IDEMPOTENCY_KEY_HEADER) {
            Some(v) => {
                let key = v.to_str().map_err(|_| Error::BadRequest {
                    code: "invalid_idempotency_key",
                    message: "An Idempotency-Key is printable ASCII.".into(),
                })?;
                crate::idempotency::check_key(key)?;
                Some(key.to_owned())
            }
            None => None,
        };
        let (parts, body) = req.into_parts();
        let bytes =
            Bytes::from_request(Request::from_parts(parts.clone(), body), state).await.map_err(|e| match e {
                BytesRejection::FailedToBufferBody(_) => Error::PayloadTooLarge,
                _ => Error::BadRequest { code: "unreadable_body", message: "Could not read the request body.".into() },
            })?;
        let ApiJson(value) =
            ApiJson::from_request(Request::from_parts(parts, axum::body::Body::from(bytes.clone())), state).await?;
        Ok(IdempotentJson { value, key, fingerprint: crate::idempotency::fingerprint(&bytes) })
    }
}

/// A query string.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Error))]
pub struct ApiQuery<T>(pub T);

impl From<QueryRejection> for Error {
    fn from(rejection: QueryRejection) -> Error {
        Error::BadRequest { code: "invalid_query", message: rejection.body_text() }
    }
}

/// No API body nests deeper than a few levels; 32 leaves room and refuses the
/// deeply nested bodies that exist only to make a parser work.
const MAX_JSON_DEPTH: usize = 32;

pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    if json_depth(bytes) > MAX_JSON_DEPTH {
        return Err(Error::BadRequest {
            code: "json_too_deep",
            message: format!("The body nests JSON deeper than {MAX_JSON_DEPTH} levels."),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        // serde_json reports a number or list where an enum's string belongs
        // as a syntax error ("expected value"): the body is valid JSON all
        // the same, and the fault is that field's. Checked only on this path.
        let wrong_kind = inner.is_syntax() && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok();
        let message = if wrong_kind { "A value of the wrong type.".to_owned() } else { format!("{inner}.") };
        if (inner.is_syntax() || inner.is_eof()) && !wrong_kind {
            Error::BadRequest { code: "invalid_json", message: format!("The body is not valid JSON: {inner}.") }
        } else if field == "." {
            Error::Invalid { code: "invalid_body", message, field: None }
        } else {
            Error::Invalid { code: "invalid_field", message, field: Some(field) }
        }
    })?;
    // Nothing but whitespace after the value: `{..} {..}` is not one body.
    de.end().map_err(|e| Error::BadRequest {
        code: "invalid_json",
        message: format!("The body is not valid JSON: {e}."),
    })?;
    Ok(value)
}

/// The deepest nesting of arrays and objects in `bytes`, brackets inside
/// strings not counted.
fn json_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0, false, false);
    for &b in bytes {
        match (in_string, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') | (false, _, b'"') => in_string = !in_string,
            (false, _, b'[' | b'{') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (false, _, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// The client's address, for abuse limits (see [`super::transport::client_ip`]).
pub struct ClientIp(pub std::net::IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let peer = super::transport::peer(&parts.extensions)
            .ok_or_else(|| Error::Internal("the server was started without client addresses".into()))?;
        Ok(ClientIp(super::transport::client_ip(&state.settings.transport, peer, &parts.headers)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paylet_api::CreateOrderRequest;

    #[test]
    fn deep_nesting_is_refused_and_brackets_in_strings_do_not_count() {
        assert_eq!(json_depth(br#"{"a":[{"b":"[[[{{{"}]}"#), 3);
        assert_eq!(json_depth(br#"{"a":"\"[[["}"#), 1);
        let deep = format!("{}{}", "[".repeat(33), "]".repeat(33));
        assert!(matches!(
            parse::<serde_json::Value>(deep.as_bytes()),
            Err(Error::BadRequest { code: "json_too_deep", .. })
        ));
        let fine = format!("{}{}", "[".repeat(32), "]".repeat(32));
        assert!(parse::<serde_json::Value>(fine.as_bytes()).is_ok());
    }

    #[test]
    fn names_the_field_that_failed() {
        let body = br#"{"items":[{"sku":"A","quantity":-1}],"customer":{"email":"a@b.co"}}"#;
        match parse::<CreateOrderRequest>(body) {
            Err(Error::Invalid { field, code, .. }) => {
                assert_eq!(field.as_deref(), Some("items[0].quantity"));
                assert_eq!(code, "invalid_field");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn syntax_errors_are_bad_requests() {
        let whole = r#"{"items":[],"customer":{"email":"a@b.co"}}"#;
        let (trailing, twice) = (format!("{whole} trailing"), format!("{whole} {whole}"));
        for body in [&b"{"[..], b"", b"{\"items\": }", b"nul", trailing.as_bytes(), twice.as_bytes()] {
            let parsed = parse::<CreateOrderRequest>(body);
            assert!(matches!(parsed, Err(Error::BadRequest { code: "invalid_json", .. })), "{body:?}: {parsed:?}");
        }
    }

    /// Valid JSON of the wrong kind where an enum's string belongs, which
    /// serde_json itself reports as a syntax error: the field's fault.
    #[test]
    fn a_value_of_the_wrong_kind_for_an_enum_names_its_field() {
        #[derive(Debug, serde::Deserialize)]
        struct Body {
            #[allow(dead_code)]
            fields: Vec<paylet_api::CardFields>,
        }
        for value in ["1", "true", "[]", "{}", "2.5", "-1e3"] {
            let body = format!(r#"{{"fields":["gateway",{value}]}}"#);
            match parse::<Body>(body.as_bytes()) {
                Err(Error::Invalid { field, code: "invalid_field", .. }) => {
                    assert_eq!(field.as_deref(), Some("fields[1]"), "{value}");
                }
                other => panic!("{value}: {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let body = br#"{"items":[],"customer":{"email":"a@b.co"},"total":1}"#;
        assert!(matches!(parse::<CreateOrderRequest>(body), Err(Error::Invalid { .. })));
    }
}
