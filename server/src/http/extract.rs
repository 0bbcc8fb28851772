//! Extractors whose every failure is the crate's `Error`, so a malformed request
//! gets the same JSON error shape as any other.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use crate::Error;

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
            return Err(Error::UnsupportedMediaType);
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

pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            Error::BadRequest { code: "invalid_json", message: format!("The body is not valid JSON: {inner}.") }
        } else if field == "." {
            Error::Invalid { code: "invalid_body", message: format!("{inner}."), field: None }
        } else {
            Error::Invalid { code: "invalid_field", message: format!("{inner}."), field: Some(field) }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use paylet_api::CreateOrderRequest;

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
        assert!(matches!(parse::<CreateOrderRequest>(b"{"), Err(Error::BadRequest { .. })));
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let body = br#"{"items":[],"customer":{"email":"a@b.co"},"total":1}"#;
        assert!(matches!(parse::<CreateOrderRequest>(body), Err(Error::Invalid { .. })));
    }
}
