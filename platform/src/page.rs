//! AIP-158 style paging helpers: opaque page tokens over an id cursor.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::ServiceError;

/// The page size to use: `0` means `default`, anything above `max` is capped.
pub fn page_size(requested: i32, default: i64, max: i64) -> Result<i64, ServiceError> {
    match requested {
        n if n < 0 => Err(ServiceError::invalid("page_size", "page_size must not be negative")),
        0 => Ok(default),
        n => Ok(i64::from(n).min(max)),
    }
}

/// The token for the page after the item with cursor `last`.
pub fn encode_token(last: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("after:{last}"))
}

/// The cursor a page token stands for; an empty token is the first page.
pub fn decode_token(token: &str) -> Result<i64, ServiceError> {
    if token.is_empty() {
        return Ok(0);
    }
    let invalid = || ServiceError::invalid("page_token", "page_token is not one this API issued");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    text.strip_prefix("after:")
        .and_then(|n| n.parse().ok())
        .filter(|n: &i64| *n >= 0)
        .ok_or_else(invalid)
}

/// The next page token given the page fetched with one extra row.
pub fn next_token<T>(items: &mut Vec<T>, limit: i64, cursor: impl Fn(&T) -> i64) -> String {
    if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|t| encode_token(cursor(t))).unwrap_or_default()
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_forgeries() {
        assert_eq!(decode_token(&encode_token(42)).unwrap(), 42);
        assert_eq!(decode_token("").unwrap(), 0);
        assert!(decode_token("garbage!").is_err());
        assert!(decode_token(&URL_SAFE_NO_PAD.encode("after:-5")).is_err());
    }
}
