//! Random identifiers and secrets.

use paylet_api::{ClientSecret, OrderId, StoreId};
use rand::Rng;
use sha2::{Digest, Sha256};

/// Letters and digits: ids stay short, URL-safe, and free of long digit runs
/// that card-number scanners would flag.
const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` characters from a CSPRNG (`rand`'s thread RNG is ChaCha seeded from the OS).
pub fn random_string(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
}

pub fn new_store_id() -> StoreId {
    StoreId::from_random(&random_string(16))
}

/// `n` characters that sort by creation time: 8 for the millisecond (base62,
/// whose alphabet is in ASCII order), the rest random. New rows then land at the
/// end of their B-tree, so writes committed together share pages instead of
/// each dirtying a page of its own.
pub fn time_ordered(n: usize) -> String {
    let mut ms = u64::try_from(crate::db::now_millis()).unwrap_or(0);
    let mut prefix = [b'0'; 8];
    for slot in prefix.iter_mut().rev() {
        *slot = ALPHABET[usize::try_from(ms % 62).unwrap_or(0)];
        ms /= 62;
    }
    let mut id: String = prefix.iter().map(|b| char::from(*b)).collect();
    id.push_str(&random_string(n.saturating_sub(8)));
    id
}

pub fn new_order_id() -> OrderId {
    OrderId::from_random(&time_ordered(20))
}

pub fn new_payment_id() -> String {
    format!("pay_{}", random_string(20))
}

/// 143 bits of randomness, prefixed with the order id as Stripe's client
/// secrets are, so a leaked secret is recognisable.
pub fn new_client_secret(order: &OrderId) -> ClientSecret {
    ClientSecret::new(format!("{order}_secret_{}", random_string(24)))
}

pub fn sha256_hex(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ordered_ids_sort_by_time() {
        let a = time_ordered(20);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = time_ordered(20);
        assert_eq!(a.len(), 20);
        assert!(a[..8] < b[..8], "{a} {b}");
    }
}
