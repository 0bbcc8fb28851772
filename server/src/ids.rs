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

pub fn new_order_id() -> OrderId {
    OrderId::from_random(&random_string(20))
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
