//! A map that forgets its oldest entries beyond a capacity, so a long-running
//! sandbox under load keeps bounded memory.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Bounded<V> {
    capacity: usize,
    order: VecDeque<String>,
    map: HashMap<String, V>,
}

impl<V> Bounded<V> {
    pub(crate) fn new(capacity: usize) -> Bounded<V> {
        Bounded { capacity: capacity.max(1), order: VecDeque::new(), map: HashMap::new() }
    }

    pub(crate) fn insert(&mut self, id: String, value: V) {
        if self.map.insert(id.clone(), value).is_none() {
            self.order.push_back(id);
        }
        while self.map.len() > self.capacity {
            match self.order.pop_front() {
                Some(oldest) => {
                    self.map.remove(&oldest);
                }
                None => break,
            }
        }
    }

    pub(crate) fn get(&self, id: &str) -> Option<&V> {
        self.map.get(id)
    }

    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut V> {
        self.map.get_mut(id)
    }

    pub(crate) fn remove(&mut self, id: &str) -> Option<V> {
        let value = self.map.remove(id)?;
        self.order.retain(|k| k != id);
        Some(value)
    }

    /// Values, oldest first.
    pub(crate) fn values(&self) -> impl DoubleEndedIterator<Item = &V> {
        self.order.iter().filter_map(|id| self.map.get(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_the_oldest_beyond_capacity() {
        let mut b = Bounded::new(2);
        b.insert("a".into(), 1);
        b.insert("b".into(), 2);
        b.insert("c".into(), 3);
        assert_eq!(b.values().count(), 2);
        assert!(b.get("a").is_none());
        assert_eq!(b.values().copied().collect::<Vec<_>>(), [2, 3]);
        b.insert("b".into(), 20);
        assert_eq!(b.values().copied().collect::<Vec<_>>(), [20, 3]);
        assert_eq!(b.remove("b"), Some(20));
        assert_eq!(b.values().copied().collect::<Vec<_>>(), [3]);
    }
}
