//! Validated user text, parsed once at the edge of a service (zero2prod's
//! `SubscriberName`): holding a [`RoomName`] means the rule was checked.
//! The limits are the one copy every part reads, the gateway's `/config`
//! (and through it the frontend) included.

use crate::ServiceError;

/// The longest message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4000;
/// The longest room name, in characters.
pub const MAX_ROOM_NAME_CHARS: usize = 100;
/// The longest first or last name, in characters.
pub const MAX_PERSON_NAME_CHARS: usize = 100;
/// The largest avatar upload, in bytes.
pub const MAX_AVATAR_BYTES: usize = 5 * 1024 * 1024;

/// Trimmed single-line text of 1–`max` characters, without control
/// characters. `label` names it in messages ("first_name", "room name").
fn single_line(field: &'static str, label: &str, raw: &str, max: usize) -> Result<String, ServiceError> {
    let text = raw.trim();
    match text.chars().count() {
        0 => Err(ServiceError::invalid(field, format!("{label} is required"))),
        n if n > max => Err(ServiceError::invalid(
            field,
            format!("{label} must be at most {max} characters"),
        )),
        _ if text.chars().any(char::is_control) => Err(ServiceError::invalid(
            field,
            format!("{label} must not contain control characters"),
        )),
        _ => Ok(text.to_owned()),
    }
}

/// A person's first or last name: trimmed, 1–100 characters, one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    /// `field` names the input in the error ("first_name", "last_name").
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, ServiceError> {
        single_line(field, field, raw, MAX_PERSON_NAME_CHARS).map(Self)
    }
}

/// A room's name: trimmed, 1–100 characters, one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomName(String);

impl RoomName {
    pub fn parse(raw: &str) -> Result<Self, ServiceError> {
        single_line("name", "room name", raw, MAX_ROOM_NAME_CHARS).map(Self)
    }
}

/// A message's text: surrounding whitespace trimmed, 1–4000 characters,
/// otherwise exactly as typed (clients render it as text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageContent(String);

impl MessageContent {
    pub fn parse(raw: &str) -> Result<Self, ServiceError> {
        let content = raw.trim();
        match content.chars().count() {
            0 => Err(ServiceError::invalid("content", "message is empty")),
            n if n > MAX_MESSAGE_CHARS => Err(ServiceError::invalid(
                "content",
                format!("message must be at most {MAX_MESSAGE_CHARS} characters"),
            )),
            _ => Ok(Self(content.to_owned())),
        }
    }
}

macro_rules! text_newtype {
    ($($name:ident),*) => {$(
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_inner(self) -> String {
                self.0
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    )*};
}
text_newtype!(PersonName, RoomName, MessageContent);

/// `id` when it can name a row (ids start at 1); else INVALID_ARGUMENT on
/// `field`.
pub fn positive_id(field: &'static str, id: i64) -> Result<i64, ServiceError> {
    if id <= 0 {
        return Err(ServiceError::invalid(
            field,
            format!("{field} must be a positive integer"),
        ));
    }
    Ok(id)
}

/// The distinct ids of a batch request, refused when there are more than `max`.
pub fn unique_ids(mut ids: Vec<i64>, max: usize, field: &'static str) -> Result<Vec<i64>, ServiceError> {
    ids.sort_unstable();
    ids.dedup();
    if ids.len() > max {
        return Err(ServiceError::invalid(field, format!("at most {max} ids per call")));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(PersonName::parse("first_name", "  Ana ").unwrap().as_str(), "Ana");
        assert!(PersonName::parse("first_name", "   ").is_err());
        assert!(PersonName::parse("first_name", &"x".repeat(101)).is_err());
        assert!(PersonName::parse("first_name", &"x".repeat(100)).is_ok());
        assert!(PersonName::parse("first_name", "A\u{7}na").is_err());
        assert!(RoomName::parse("Gen\neral").is_err());
        assert_eq!(RoomName::parse(" General ").unwrap().as_str(), "General");
    }

    #[test]
    fn content_is_kept_as_typed_inside_the_trim() {
        assert_eq!(MessageContent::parse("  a <b>\n c ").unwrap().as_str(), "a <b>\n c");
        assert!(MessageContent::parse(" \n ").is_err());
        assert!(MessageContent::parse(&"é".repeat(MAX_MESSAGE_CHARS)).is_ok());
        assert!(MessageContent::parse(&"é".repeat(MAX_MESSAGE_CHARS + 1)).is_err());
    }

    #[test]
    fn ids_are_deduplicated_and_bounded() {
        assert_eq!(unique_ids(vec![3, 1, 3, 2], 10, "ids").unwrap(), [1, 2, 3]);
        assert!(unique_ids((0..11).collect(), 10, "ids").is_err());
    }
}
