use std::collections::BTreeMap;

use super::StripeError;

/// A form-encoded Stripe request body. Stripe nests with brackets
/// (`card[number]`, `metadata[order_id]`); keys are kept flat and looked up whole.
#[derive(Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn parse(body: &[u8]) -> Result<Params, StripeError> {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).map(Params).map_err(|_| {
            StripeError::invalid_request("parameter_invalid", "Invalid request body: expected form encoding.")
        })
    }

    /// Rejects any parameter not in `allowed`. An entry ending in `[` allows a
    /// whole family (`metadata[`).
    pub(crate) fn reject_unknown(&self, allowed: &[&str]) -> Result<(), StripeError> {
        for (key, _) in &self.0 {
            let known = allowed.iter().any(|a| if a.ends_with('[') { key.starts_with(a) } else { key == a });
            if !known {
                return Err(StripeError::unknown_param(key));
            }
        }
        Ok(())
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub(crate) fn require(&self, key: &str) -> Result<&str, StripeError> {
        self.get(key).filter(|v| !v.is_empty()).ok_or_else(|| StripeError::missing_param(key))
    }

    pub(crate) fn integer(&self, key: &str) -> Result<Option<i64>, StripeError> {
        self.get(key).map(|v| v.parse::<i64>().map_err(|_| StripeError::invalid_integer(key, v))).transpose()
    }

    pub(crate) fn boolean(&self, key: &str) -> Result<Option<bool>, StripeError> {
        self.get(key)
            .map(|v| match v {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(StripeError::invalid_request("parameter_invalid_boolean", format!("Invalid boolean: {v}"))
                    .param(key)),
            })
            .transpose()
    }

    /// `prefix[k]=v` pairs as a map, e.g. `metadata`.
    pub(crate) fn map(&self, prefix: &str) -> BTreeMap<String, String> {
        let open = format!("{prefix}[");
        self.0
            .iter()
            .filter_map(|(k, v)| {
                let inner = k.strip_prefix(&open)?.strip_suffix(']')?;
                Some((inner.to_owned(), v.clone()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bracketed_keys_and_maps() {
        let p = Params::parse(b"card[number]=4242&metadata[order]=o1&metadata[x]=y&amount=5").unwrap();
        assert_eq!(p.get("card[number]"), Some("4242"));
        assert_eq!(p.integer("amount").unwrap(), Some(5));
        assert_eq!(p.map("metadata").len(), 2);
    }

    #[test]
    fn unknown_parameters_are_named_in_the_error() {
        let p = Params::parse(b"amount=5&colour=red").unwrap();
        assert!(p.reject_unknown(&["amount", "metadata["]).is_err());
        let p = Params::parse(b"amount=5&metadata[a]=b").unwrap();
        assert!(p.reject_unknown(&["amount", "metadata["]).is_ok());
    }

    #[test]
    fn bad_integers_are_errors() {
        let p = Params::parse(b"amount=12x").unwrap();
        assert!(p.integer("amount").is_err());
    }
}
