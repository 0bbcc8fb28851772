//! Each object belongs to one sandbox account: any other account is told
//! there is no such object, as the real gateways answer. The rule is here,
//! once, for every kind of object and every map that holds them.

use std::collections::BTreeMap;

use crate::bounded::Bounded;

pub(crate) trait Owned {
    fn account_id(&self) -> &str;
}

/// `Owned` for types with an `account_id` field.
macro_rules! owned {
    ($($t:ty),+ $(,)?) => {
        $(impl crate::owned::Owned for $t {
            fn account_id(&self) -> &str {
                &self.account_id
            }
        })+
    };
}
pub(crate) use owned;

/// A map of objects by id, looked up for one account.
pub(crate) trait OwnedLookup<V: Owned> {
    fn lookup(&self, id: &str) -> Option<&V>;
    fn lookup_mut(&mut self, id: &str) -> Option<&mut V>;

    /// The object `id`, if `account` owns it.
    fn owned_by(&self, id: &str, account: &str) -> Option<&V> {
        self.lookup(id).filter(|v| v.account_id() == account)
    }

    fn owned_by_mut(&mut self, id: &str, account: &str) -> Option<&mut V> {
        self.lookup_mut(id).filter(|v| v.account_id() == account)
    }
}

impl<V: Owned> OwnedLookup<V> for Bounded<V> {
    fn lookup(&self, id: &str) -> Option<&V> {
        self.get(id)
    }

    fn lookup_mut(&mut self, id: &str) -> Option<&mut V> {
        self.get_mut(id)
    }
}

impl<V: Owned> OwnedLookup<V> for BTreeMap<String, V> {
    fn lookup(&self, id: &str) -> Option<&V> {
        self.get(id)
    }

    fn lookup_mut(&mut self, id: &str) -> Option<&mut V> {
        self.get_mut(id)
    }
}
