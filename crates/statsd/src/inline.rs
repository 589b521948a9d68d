//! [`InlineVec`]: a short list kept inline (no heap allocation) up to `N` items.

use std::fmt;
use std::ops::Deref;

/// A list of `Copy` items stored inline up to `N` items and on the heap beyond.
///
/// The parser uses it for the values of a metric line: almost every line carries one value, so
/// the common case allocates nothing. It dereferences to a slice (`len()`, `iter()`, indexing,
/// `&v[..]`) and can be built from a `Vec` or an iterator.
#[derive(Clone)]
pub struct InlineVec<T: Copy + Default, const N: usize>(Repr<T, N>);

#[derive(Clone)]
enum Repr<T: Copy + Default, const N: usize> {
    Inline { len: usize, items: [T; N] },
    Heap(Vec<T>),
}

impl<T: Copy + Default, const N: usize> InlineVec<T, N> {
    /// An empty list.
    pub fn new() -> Self {
        Self(Repr::Inline {
            len: 0,
            items: [T::default(); N],
        })
    }

    /// Appends an item (moving everything to the heap when the inline part is full).
    #[inline]
    pub fn push(&mut self, item: T) {
        match &mut self.0 {
            Repr::Heap(v) => v.push(item),
            Repr::Inline { len, items } => {
                if let Some(slot) = items.get_mut(*len) {
                    *slot = item;
                    *len += 1;
                } else {
                    let mut v = Vec::with_capacity(N.max(4) * 2);
                    v.extend_from_slice(items);
                    v.push(item);
                    self.0 = Repr::Heap(v);
                }
            }
        }
    }

    /// The items as a slice.
    #[inline]
    pub fn as_slice(&self) -> &[T] {
        match &self.0 {
            Repr::Heap(v) => v,
            Repr::Inline { len, items } => items.get(..*len).unwrap_or(&[]),
        }
    }

    /// The items as a mutable slice (to sort them in place, say).
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        match &mut self.0 {
            Repr::Heap(v) => v,
            Repr::Inline { len, items } => items.get_mut(..*len).unwrap_or(&mut []),
        }
    }

    /// True when the items no longer fit inline and live on the heap.
    pub fn spilled(&self) -> bool {
        matches!(self.0, Repr::Heap(_))
    }
}

impl<T: Copy + Default, const N: usize> Default for InlineVec<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy + Default, const N: usize> Deref for InlineVec<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T: Copy + Default + fmt::Debug, const N: usize> fmt::Debug for InlineVec<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl<T: Copy + Default + PartialEq, const N: usize> PartialEq for InlineVec<T, N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: Copy + Default, const N: usize> From<Vec<T>> for InlineVec<T, N> {
    fn from(v: Vec<T>) -> Self {
        v.into_iter().collect()
    }
}

impl<T: Copy + Default, const N: usize> From<&[T]> for InlineVec<T, N> {
    fn from(v: &[T]) -> Self {
        v.iter().copied().collect()
    }
}

impl<T: Copy + Default, const N: usize> FromIterator<T> for InlineVec<T, N> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut out = Self::new();
        for item in iter {
            out.push(item);
        }
        out
    }
}

impl<'v, T: Copy + Default, const N: usize> IntoIterator for &'v InlineVec<T, N> {
    type Item = &'v T;
    type IntoIter = std::slice::Iter<'v, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

/// The owning iterator of an [`InlineVec`].
#[derive(Debug, Clone)]
pub struct IntoIter<T: Copy + Default, const N: usize> {
    list: InlineVec<T, N>,
    next: usize,
}

impl<T: Copy + Default, const N: usize> Iterator for IntoIter<T, N> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        let item = self.list.as_slice().get(self.next).copied()?;
        self.next += 1;
        Some(item)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.list.len().saturating_sub(self.next);
        (left, Some(left))
    }
}

impl<T: Copy + Default, const N: usize> IntoIterator for InlineVec<T, N> {
    type Item = T;
    type IntoIter = IntoIter<T, N>;
    fn into_iter(self) -> Self::IntoIter {
        IntoIter {
            list: self,
            next: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_inline_then_spills() {
        let mut v: InlineVec<u8, 2> = InlineVec::new();
        assert!(v.is_empty());
        v.push(1);
        v.push(2);
        assert!(!v.spilled());
        assert_eq!(&v[..], &[1, 2]);
        v.push(3);
        assert!(v.spilled());
        assert_eq!(&v[..], &[1, 2, 3]);
        assert_eq!(v.clone().into_iter().collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(v, InlineVec::from(vec![1, 2, 3]));
        assert_eq!(format!("{v:?}"), "[1, 2, 3]");
        let sum: u32 = (&v).into_iter().map(|&x| u32::from(x)).sum();
        assert_eq!(sum, 6);
    }
}
