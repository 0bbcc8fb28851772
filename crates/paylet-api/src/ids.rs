use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind} id")]
pub struct IdError {
    pub kind: &'static str,
}

fn valid_id(prefix: &str, s: &str) -> bool {
    s.strip_prefix(prefix)
        .is_some_and(|rest| !rest.is_empty() && rest.len() <= 64 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn parse(s: &str) -> Result<Self, IdError> {
                if valid_id($prefix, s) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(IdError { kind: $kind })
                }
            }

            /// Builds an id from a random alphanumeric suffix.
            pub fn from_random(suffix: &str) -> Self {
                Self(format!("{}{}", $prefix, suffix))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// A merchant's store: `st_…`.
    StoreId, "st_", "store"
);
id_type!(
    /// An order: `ord_…`.
    OrderId, "ord_", "order"
);

/// The capability that lets a browser read and pay one order, like Stripe's
/// PaymentIntent client secret. It is handed to the widget, so it serializes, but
/// it never prints in `Debug`, which is what logs use.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientSecret(String);

impl ClientSecret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_need_their_prefix_and_alphanumerics() {
        assert!(StoreId::parse("st_abc123").is_ok());
        assert!(StoreId::parse("ord_abc123").is_err());
        assert!(StoreId::parse("st_").is_err());
        assert!(StoreId::parse("st_abc-123").is_err());
        assert!(StoreId::parse(&format!("st_{}", "a".repeat(65))).is_err());
    }

    #[test]
    fn ids_deserialize_only_when_valid() {
        assert!(serde_json::from_str::<OrderId>("\"ord_x1\"").is_ok());
        assert!(serde_json::from_str::<OrderId>("\"st_x1\"").is_err());
    }

    #[test]
    fn client_secret_debug_is_masked() {
        let s = ClientSecret::new("ord_1_secret_abc".into());
        assert_eq!(format!("{s:?}"), "ClientSecret(***)");
    }
}
