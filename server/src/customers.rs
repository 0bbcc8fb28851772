//! Who is buying: the customer details an order carries.

use crate::Error;
use crate::db::{self, Batch};
use paylet_api::StoreId;

/// Adds the customer to `batch` if new. Anyone can place an order with any
/// email, so an order never renames a customer the store knows: it only
/// gives a name to one that had none. The order keeps the name it was placed
/// with.
pub fn upsert(batch: &mut Batch, store: &StoreId, email: &Email, name: Option<&str>, now: i64) {
    db::customers::add(batch, store, email.as_str(), name, now);
}

/// An email address: checked for shape, not deliverability, and stored lower-cased
/// in the domain part only (the local part is case-sensitive by RFC 5321).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str, field: &str) -> Result<Email, Error> {
        let bad = || Error::invalid("invalid_email", field, "Enter an email address like name@example.com.");
        let s = s.trim();
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        let plausible = s.len() <= 254
            && !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            && !local.contains('@');
        if !plausible {
            return Err(bad());
        }
        Ok(Email(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's name as they type it, 1 to 200 characters with no control characters.
pub fn parse_name(name: Option<&str>, field: &str) -> Result<Option<String>, Error> {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(Error::invalid("invalid_name", field, "A name has at most 200 characters."));
    }
    Ok(Some(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_lowercases_the_domain() {
        assert_eq!(Email::parse("Ada@Example.COM", "email").unwrap().as_str(), "Ada@example.com");
        assert!(Email::parse("a.b+tag@sub.example.co.uk", "email").is_ok());
    }

    #[test]
    fn rejects_malformed_addresses_naming_the_field() {
        for bad in ["", "ada", "ada@", "@example.com", "ada@example", "ada @example.com", "a@b@c.com", "ada@.com"] {
            match Email::parse(bad, "customer.email") {
                Err(Error::Invalid { field, code, .. }) => {
                    assert_eq!(field.as_deref(), Some("customer.email"));
                    assert_eq!(code, "invalid_email");
                }
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn names_are_optional_and_bounded() {
        assert_eq!(parse_name(Some("  "), "n").unwrap(), None);
        assert_eq!(parse_name(Some(" Ada "), "n").unwrap().as_deref(), Some("Ada"));
        assert!(parse_name(Some(&"x".repeat(201)), "n").is_err());
    }
}
