//! Input rules shared by several services.

use crate::ServiceError;

/// Trimmed single-line text of 1–`max` characters, without control
/// characters. `label` names it in messages ("first_name", "room name").
pub fn single_line(field: &'static str, label: &str, raw: &str, max: usize) -> Result<String, ServiceError> {
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

/// A person's first or last name: trimmed, 1–100 characters.
pub fn person_name(field: &'static str, raw: &str) -> Result<String, ServiceError> {
    single_line(field, field, raw, 100)
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
        assert_eq!(person_name("first_name", "  Ana ").unwrap(), "Ana");
        assert!(person_name("first_name", "   ").is_err());
        assert!(person_name("first_name", &"x".repeat(101)).is_err());
        assert!(person_name("first_name", &"x".repeat(100)).is_ok());
        assert!(person_name("first_name", "A\u{7}na").is_err());
    }

    #[test]
    fn ids_are_deduplicated_and_bounded() {
        assert_eq!(unique_ids(vec![3, 1, 3, 2], 10, "ids").unwrap(), [1, 2, 3]);
        assert!(unique_ids((0..11).collect(), 10, "ids").is_err());
    }
}
