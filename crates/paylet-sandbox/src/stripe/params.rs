use std::collections::BTreeMap;

use axum::http::{HeaderMap, header};

use super::StripeError;

/// A form-encoded Stripe request body. Stripe nests with brackets
/// (`card[number]`, `metadata[order_id]`, `line_items[0][quantity]`); keys are
/// kept flat and looked up whole.
#[derive(Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// Parses the body; like Stripe, refuses JSON bodies with a hint.
    pub(crate) fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Params, StripeError> {
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
        if json {
            return Err(StripeError::not_form_encoded());
        }
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
            .map(Params)
            .map_err(|_| StripeError::not_form_encoded())
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
                (!inner.contains('[')).then(|| (inner.to_owned(), v.clone()))
            })
            .collect()
    }

    /// A list: `name[]=a&name[]=b` or `name[0]=a&name[1]=b`.
    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        let open = format!("{name}[");
        self.0
            .iter()
            .filter(|(k, _)| {
                k.strip_prefix(&open)
                    .and_then(|r| r.strip_suffix(']'))
                    .is_some_and(|i| i.is_empty() || i.parse::<usize>().is_ok())
            })
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Indexed groups: `line_items[0][quantity]=2` becomes group 0 with key
    /// `quantity`; `line_items[0][price_data][currency]` has key `price_data[currency]`.
    pub(crate) fn groups(&self, name: &str) -> Result<Vec<BTreeMap<String, String>>, StripeError> {
        let open = format!("{name}[");
        let mut groups: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
        for (k, v) in &self.0 {
            let Some(rest) = k.strip_prefix(&open) else { continue };
            let (index, key) = rest.split_once("][").ok_or_else(|| StripeError::unknown_param(k))?;
            let index: usize = index.parse().map_err(|_| StripeError::unknown_param(k))?;
            // `price_data][currency]` → `price_data[currency]`; `quantity]` → `quantity`.
            let key = match key.split_once(']') {
                Some((first, rest)) => format!("{first}{rest}"),
                None => key.to_owned(),
            };
            groups.entry(index).or_default().insert(key, v.clone());
        }
        // Indexes must run 0, 1, 2, … as Stripe requires.
        if groups.keys().enumerate().any(|(i, k)| i != *k) {
            return Err(
                StripeError::invalid("Array indexes must be numeric and sequential starting from 0.").param(name)
            );
        }
        Ok(groups.into_values().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(body: &str) -> Params {
        Params::parse(&HeaderMap::new(), body.as_bytes()).unwrap()
    }

    #[test]
    fn reads_bracketed_keys_maps_and_lists() {
        let p = p("card[number]=4242&metadata[order]=o1&metadata[x]=y&amount=5&ev[]=a&ev[]=b");
        assert_eq!(p.get("card[number]"), Some("4242"));
        assert_eq!(p.integer("amount").unwrap(), Some(5));
        assert_eq!(p.map("metadata").len(), 2);
        assert_eq!(p.list("ev"), ["a", "b"]);
    }

    #[test]
    fn groups_indexed_items() {
        let p = p("li[0][quantity]=2&li[0][price_data][currency]=usd&li[1][quantity]=1");
        let g = p.groups("li").unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(g[0]["quantity"], "2");
        assert_eq!(g[0]["price_data[currency]"], "usd");
        assert!(self::p("li[1][quantity]=2").groups("li").is_err());
    }

    #[test]
    fn unknown_parameters_are_named_in_the_error() {
        assert!(p("amount=5&colour=red").reject_unknown(&["amount", "metadata["]).is_err());
        assert!(p("amount=5&metadata[a]=b").reject_unknown(&["amount", "metadata["]).is_ok());
    }

    #[test]
    fn json_bodies_are_refused() {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        assert!(Params::parse(&h, b"{}").is_err());
    }
}
