//! Request bodies read whole but parsed only when the handler asks, after it has checked the
//! caller's access: actix extracts a handler's arguments together, so with plain `web::Json`
//! a forbidden caller's malformed body could be answered 400 before the 403, depending on
//! which extractor finished first.

use std::marker::PhantomData;

use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::errors::{ApiError, HtmlError};
use crate::error::Error;

/// JSON and form bodies the API and the console accept (files go elsewhere).
const LIMIT: usize = 1024 * 1024;

fn too_large() -> Error {
    Error::invalid(format!("the body is larger than {} KiB", LIMIT / 1024))
}

/// A JSON body, parsed by `parse`.
pub struct Json<T> {
    bytes: web::Bytes,
    json_type: bool,
    _t: PhantomData<T>,
}

impl<T: DeserializeOwned> Json<T> {
    pub fn parse(self) -> Result<T, ApiError> {
        if !self.json_type {
            return Err(ApiError::bad_request(
                "invalid JSON body: send it with \"Content-Type: application/json\"",
            ));
        }
        if self.bytes.len() > LIMIT {
            return Err(ApiError::from(too_large()));
        }
        serde_json::from_slice(&self.bytes)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
    }
}

impl<T: 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let json_type = req
            .headers()
            .get("Content-Type")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                let v = v.trim().to_ascii_lowercase();
                v == "application/json" || v.ends_with("+json")
            });
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            Ok(Json {
                bytes: bytes.await?,
                json_type,
                _t: PhantomData,
            })
        })
    }
}

/// A urlencoded form, parsed by `parse`.
pub struct Form<T> {
    bytes: web::Bytes,
    _t: PhantomData<T>,
}

impl<T: DeserializeOwned> Form<T> {
    pub fn parse(self) -> Result<T, HtmlError> {
        if self.bytes.len() > LIMIT {
            return Err(too_large().into());
        }
        serde_urlencoded::from_bytes(&self.bytes)
            .map_err(|e| HtmlError::App(Error::invalid(format!("the form is incomplete: {e}"))))
    }
}

impl<T: 'static> FromRequest for Form<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            Ok(Form {
                bytes: bytes.await?,
                _t: PhantomData,
            })
        })
    }
}
