//! The server's error: an HTTP status and a message, answered as the protocol's
//! `{"error": "..."}` object.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A failed request: its status (4xx for the client's mistakes, 503 when the server is
/// full or going away, 500 otherwise) and what went wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// 400: the request is wrong.
    pub fn bad(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    /// 404: no such model or route.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, message)
    }

    /// 503: the server cannot take the request now.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(503, message)
    }

    /// `f`'s result, or a 500 if it panics. Models do not panic on data; should one,
    /// its request fails, not the thread that ran it.
    pub fn catch<T>(f: impl FnOnce() -> Result<T, ApiError>) -> Result<T, ApiError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .unwrap_or_else(|_| Err(ApiError::new(500, "the model failed on this request")))
    }

    /// The outcome label metrics count the error under.
    pub fn outcome(&self) -> &'static str {
        match self.status {
            503 => "rejected",
            400..=499 => "client_error",
            _ => "server_error",
        }
    }
}

impl From<lithe_core::Error> for ApiError {
    fn from(e: lithe_core::Error) -> Self {
        match e {
            lithe_core::Error::Input(_) | lithe_core::Error::Param { .. } => {
                ApiError::bad(e.to_string())
            }
            _ => ApiError::new(500, e.to_string()),
        }
    }
}

/// `{"error": message}` as JSON text.
pub fn error_body(message: &str) -> String {
    serde_json::json!({ "error": message }).to_string()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            error_body(&self.message),
        )
            .into_response();
        if self.status == 503 {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        r
    }
}
