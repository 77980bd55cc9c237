//! The error every service returns, mapped to `tonic::Status` in one place.
//!
//! Internal and database errors are logged here and leave as an opaque
//! message; validation errors carry a `google.rpc.BadRequest` field violation
//! so the gateway can say which field was wrong. Errors a client must tell
//! apart beyond the code carry a `google.rpc.ErrorInfo` reason (see
//! [`reason`]), which the gateway's one status mapping reads.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

pub type ServiceResult<T> = Result<T, ServiceError>;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    /// The request is fine but the state forbids it for now (the owner
    /// leaving before handing the room over).
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("{0}")]
    ResourceExhausted(String),
    /// Over a rate limit: RESOURCE_EXHAUSTED with a `google.rpc.RetryInfo`
    /// saying when to try again.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after: std::time::Duration,
    },
    /// The upload is not a kind this service accepts (INVALID_ARGUMENT,
    /// reason `UNSUPPORTED_MEDIA_TYPE`).
    #[error("{field}: {reason}")]
    UnsupportedMedia { field: &'static str, reason: String },
    /// The upload is over its size limit (RESOURCE_EXHAUSTED, reason
    /// `PAYLOAD_TOO_LARGE`).
    #[error("{0}")]
    TooLarge(String),
    /// A per-user quota is used up (RESOURCE_EXHAUSTED, reason `QUOTA_EXCEEDED`).
    #[error("{0}")]
    QuotaExceeded(String),
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl ServiceError {
    /// Over a rate limit; try again after `retry_after`.
    pub fn rate_limited(retry_after: std::time::Duration) -> Self {
        Self::RateLimited {
            message: format!("too many requests; try again in {} s", retry_after.as_secs().max(1)),
            retry_after,
        }
    }

    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

/// `google.rpc.ErrorInfo` reasons, in the `chat` domain.
pub mod reason {
    pub const DOMAIN: &str = "chat";
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "UNSUPPORTED_MEDIA_TYPE";
    pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
    pub const QUOTA_EXCEEDED: &str = "QUOTA_EXCEEDED";
}

/// True when a database error is a unique-constraint violation.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

fn is_unavailable(err: &sqlx::Error) -> bool {
    matches!(
        err,
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed
    )
}

impl From<ServiceError> for Status {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Invalid { field, reason } => {
                let mut details = ErrorDetails::new();
                details.add_bad_request_violation(field, reason.clone());
                Status::with_error_details(Code::InvalidArgument, format!("{field}: {reason}"), details)
            }
            ServiceError::Unauthenticated(m) => Status::unauthenticated(m),
            ServiceError::PermissionDenied(m) => Status::permission_denied(m),
            ServiceError::NotFound(m) => Status::not_found(m),
            ServiceError::AlreadyExists(m) => Status::already_exists(m),
            ServiceError::FailedPrecondition(m) => Status::failed_precondition(m),
            ServiceError::ResourceExhausted(m) => Status::resource_exhausted(m),
            ServiceError::RateLimited { message, retry_after } => {
                let mut details = ErrorDetails::new();
                details.set_retry_info(Some(retry_after));
                Status::with_error_details(Code::ResourceExhausted, message, details)
            }
            ServiceError::UnsupportedMedia { field, reason } => {
                let mut details = ErrorDetails::new();
                details.add_bad_request_violation(field, reason.clone());
                details.set_error_info(reason::UNSUPPORTED_MEDIA_TYPE, reason::DOMAIN, []);
                Status::with_error_details(Code::InvalidArgument, format!("{field}: {reason}"), details)
            }
            ServiceError::TooLarge(m) => {
                let mut details = ErrorDetails::new();
                details.set_error_info(reason::PAYLOAD_TOO_LARGE, reason::DOMAIN, []);
                Status::with_error_details(Code::ResourceExhausted, m, details)
            }
            ServiceError::QuotaExceeded(m) => {
                let mut details = ErrorDetails::new();
                details.set_error_info(reason::QUOTA_EXCEEDED, reason::DOMAIN, []);
                Status::with_error_details(Code::ResourceExhausted, m, details)
            }
            ServiceError::Unavailable(m) => Status::unavailable(m),
            ServiceError::Db(e) if is_unavailable(&e) => {
                tracing::warn!(error = %e, "database unavailable");
                Status::unavailable("database unavailable, try again")
            }
            ServiceError::Db(e) => {
                tracing::error!(error = %e, "database error");
                Status::internal("internal error")
            }
            ServiceError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                Status::internal("internal error")
            }
        }
    }
}

/// Passes a peer service's status through, but turns transport failures into
/// UNAVAILABLE so callers see a retryable error.
pub fn from_peer(status: Status) -> ServiceError {
    match status.code() {
        Code::InvalidArgument => ServiceError::Invalid {
            field: "request",
            reason: status.message().to_owned(),
        },
        Code::Unauthenticated => ServiceError::Unauthenticated(status.message().to_owned()),
        Code::PermissionDenied => ServiceError::PermissionDenied(status.message().to_owned()),
        Code::NotFound => ServiceError::NotFound(status.message().to_owned()),
        Code::AlreadyExists => ServiceError::AlreadyExists(status.message().to_owned()),
        Code::ResourceExhausted => match status.get_details_retry_info().and_then(|r| r.retry_delay) {
            Some(retry_after) => ServiceError::RateLimited {
                message: status.message().to_owned(),
                retry_after,
            },
            None => ServiceError::ResourceExhausted(status.message().to_owned()),
        },
        Code::Internal | Code::Unknown | Code::Unimplemented | Code::DataLoss => ServiceError::Internal(
            anyhow::anyhow!("peer service failed: {:?} {}", status.code(), status.message()),
        ),
        _ => {
            tracing::warn!(code = ?status.code(), message = status.message(), "peer service failed");
            ServiceError::Unavailable("a dependency is unavailable, try again".into())
        }
    }
}
