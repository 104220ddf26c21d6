//! How authentik's REST framework (DRF) answers, for every `/api/v3/` route: JSON never cached
//! (these answers concern credentials, devices and people), `{"detail": …}` bodies, its fixed
//! refusal texts, and page-number pagination rendered from [`domain::paging`](crate::domain::paging).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::domain::paging::{Page, PageRequest};
use crate::service::ServiceError;

/// DRF's `NotAuthenticated` text (no credential at all).
pub const NOT_AUTHENTICATED: &str = "Authentication credentials were not provided.";
/// DRF's `PermissionDenied` text (a credential that does not let the caller in).
pub const PERMISSION_DENIED: &str = "You do not have permission to perform this action.";
/// DRF's text for a page that does not exist (404).
pub const INVALID_PAGE: &str = "Invalid page.";

/// A JSON answer with `Cache-Control: no-store`.
pub fn answer(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}

/// A `{"detail": text}` answer.
pub fn detail(status: StatusCode, text: &str) -> Response {
    answer(status, json!({ "detail": text }))
}

/// A service failure: logged with what failed, 500 with DRF's body (nothing of the cause).
pub fn server_error(err: &ServiceError, what: &str) -> Response {
    tracing::error!(error = %err, "{what} failed");
    detail(
        StatusCode::INTERNAL_SERVER_ERROR,
        "A server error occurred.",
    )
}

/// The `page` and `page_size` query parameters of a list (other parameters are the list's).
#[derive(Debug, Default, serde::Deserialize)]
pub struct PageQuery {
    pub page: Option<String>,
    pub page_size: Option<String>,
}

/// A page that does not exist: DRF's 404 "Invalid page.".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidPage;

impl IntoResponse for InvalidPage {
    fn into_response(self) -> Response {
        detail(StatusCode::NOT_FOUND, INVALID_PAGE)
    }
}

impl PageQuery {
    /// The page asked for, or [`InvalidPage`].
    pub fn request(&self) -> Result<PageRequest, InvalidPage> {
        PageRequest::parse(self.page.as_deref(), self.page_size.as_deref()).ok_or(InvalidPage)
    }
}

/// Cuts `req`'s page out of `all`, or [`InvalidPage`] past the end.
pub fn cut<T>(all: Vec<T>, req: PageRequest) -> Result<Page<T>, InvalidPage> {
    Page::cut(all, req).ok_or(InvalidPage)
}

/// Over a throttle: DRF's 429 `Throttled` with `Retry-After` (seconds).
pub fn throttled(retry_after: u64) -> Response {
    let mut res = detail(
        StatusCode::TOO_MANY_REQUESTS,
        &format!("Request was throttled. Expected available in {retry_after} seconds."),
    );
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    res
}

/// authentik's paginated list body: `pagination`, the page's rendered `results`, and an empty
/// `autocomplete`.
pub fn paginated(page: &Page<Value>) -> Value {
    let total = page.total_pages();
    json!({
        "pagination": {
            "next": if page.page < total { page.page + 1 } else { 0 },
            "previous": page.page.saturating_sub(1),
            "count": page.count,
            "current": page.page,
            "total_pages": total,
            "start_index": page.start_index(),
            "end_index": page.end_index(),
        },
        "results": page.items,
        "autocomplete": {},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `pagination` block of `page` (a query text) over `count` items of `size` per page.
    fn pagination(page: Option<&str>, count: usize, size: &str) -> Option<Value> {
        let req = PageRequest::parse(page, Some(size))?;
        let all: Vec<Value> = (0..count).map(|i| json!(i)).collect();
        Page::cut(all, req).map(|p| paginated(&p)["pagination"].clone())
    }

    #[test]
    fn pages_follow_drfs_numbering() {
        assert_eq!(
            pagination(None, 0, "100"),
            Some(
                json!({"next": 0, "previous": 0, "count": 0, "current": 1, "total_pages": 1,
                   "start_index": 0, "end_index": 0})
            )
        );
        assert_eq!(
            pagination(Some("2"), 5, "2"),
            Some(
                json!({"next": 3, "previous": 1, "count": 5, "current": 2, "total_pages": 3,
                   "start_index": 3, "end_index": 4})
            )
        );
        assert_eq!(
            pagination(Some("last"), 5, "2").map(|p| p["current"].clone()),
            Some(json!(3))
        );
        for invalid in ["4", "0", "x"] {
            assert_eq!(pagination(Some(invalid), 5, "2"), None, "{invalid}");
        }
    }
}
