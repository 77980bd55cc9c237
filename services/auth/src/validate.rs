//! Validated inputs: every value here has passed the sign-up rules.

use chat_platform::ServiceError;

/// A trimmed, lower-cased, syntactically valid email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ServiceError> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(ServiceError::invalid("email", "email is required"));
        }
        if email.len() > 254 || !email_address::EmailAddress::is_valid(&email) || !email.contains('.') {
            return Err(ServiceError::invalid("email", "email is not a valid address"));
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that meets the strength rule: 8–128 characters with an
/// upper-case letter, a lower-case letter and a digit.
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, ServiceError> {
        let len = raw.chars().count();
        let rule = "password must be 8–128 characters with an upper-case letter, a lower-case letter and a digit";
        if !(8..=128).contains(&len) {
            return Err(ServiceError::invalid("password", rule));
        }
        let upper = raw.chars().any(char::is_uppercase);
        let lower = raw.chars().any(char::is_lowercase);
        let digit = raw.chars().any(|c| c.is_ascii_digit());
        if !(upper && lower && digit) {
            return Err(ServiceError::invalid("password", rule));
        }
        if is_common(raw) {
            return Err(ServiceError::invalid(
                "password",
                "this password is on the list of commonly used passwords; choose another",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The most common passwords, by rank in zxcvbn's list (from leaked
/// password sets); one that is, as a whole, one of them (in any letter case,
/// reversed, or with l33t substitutions such as `Passw0rd`) is refused.
const BLOCKLIST_RANK: usize = 10_000;

fn is_common(password: &str) -> bool {
    use zxcvbn::matching::patterns::MatchPattern;
    let length = password.chars().count();
    zxcvbn::zxcvbn(password, &[]).sequence().iter().any(|m| {
        m.i == 0
            && m.j + 1 == length
            && matches!(&m.pattern, MatchPattern::Dictionary(d)
                // zxcvbn keeps its list names private; its default is the passwords list.
                if d.dictionary_name == Default::default() && d.rank <= BLOCKLIST_RANK)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised() {
        assert_eq!(Email::parse("  Ana@Example.COM ").unwrap().as_str(), "ana@example.com");
        assert!(Email::parse("not-an-email").is_err());
        assert!(Email::parse("a@b").is_err());
        assert!(Email::parse("").is_err());
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        for common in [
            "Password1",
            "Passw0rd",
            "Qwerty123",
            "Abc12345",
            "Iloveyou1",
            "Abcdefg1",
        ] {
            assert!(Password::parse(common).is_err(), "{common} is common");
        }
        for fine in ["Passw0rd!", "Violet-Kettle-42", "Abcdefg1x"] {
            assert!(Password::parse(fine).is_ok(), "{fine} is not on the list");
        }
    }

    #[test]
    fn password_rule() {
        assert!(Password::parse("Kwmbdfg7").is_ok());
        assert!(Password::parse("abcdefg1").is_err(), "no upper");
        assert!(Password::parse("ABCDEFG1").is_err(), "no lower");
        assert!(Password::parse("Abcdefgh").is_err(), "no digit");
        assert!(Password::parse("Abcde1").is_err(), "short");
        assert!(Password::parse(&format!("Ab1{}", "x".repeat(126))).is_err(), "long");
    }
}
