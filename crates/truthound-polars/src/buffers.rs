//! Append-only buffers that can be truncated (for rollback) and handed to Arrow without a copy.

use polars::prelude::{PolarsResult, polars_err};
use polars_arrow::array::{Array, BinaryArray, Utf8Array};
use polars_arrow::bitmap::Bitmap;
use polars_arrow::datatypes::ArrowDataType;
use polars_arrow::offset::OffsetsBuffer;

/// A growable bit vector, least significant bit first (Arrow's layout).
#[derive(Debug, Clone, Default)]
pub(crate) struct Bits {
    bytes: Vec<u8>,
    len: usize,
}

impl Bits {
    /// `len` copies of `value`.
    pub(crate) fn filled(len: usize, value: bool) -> Self {
        let fill = if value { 0xff } else { 0 };
        let mut bits = Self {
            bytes: vec![fill; len.div_ceil(8)],
            len,
        };
        bits.clear_tail();
        bits
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub(crate) fn push(&mut self, value: bool) {
        let bit = self.len % 8;
        if bit == 0 {
            self.bytes.push(u8::from(value));
        } else if value && let Some(last) = self.bytes.last_mut() {
            *last |= 1 << bit;
        }
        self.len += 1;
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> bool {
        i < self.len
            && self
                .bytes
                .get(i / 8)
                .is_some_and(|b| b & (1 << (i % 8)) != 0)
    }

    pub(crate) fn truncate(&mut self, len: usize) {
        if len < self.len {
            self.len = len;
            self.bytes.truncate(len.div_ceil(8));
            self.clear_tail();
        }
    }

    /// Zeroes the unused bits of the last byte, so later pushes can OR into it.
    fn clear_tail(&mut self) {
        let used = self.len % 8;
        if used != 0
            && let Some(last) = self.bytes.last_mut()
        {
            *last &= (1u8 << used) - 1;
        }
    }

    pub(crate) fn into_bitmap(self) -> PolarsResult<Bitmap> {
        Bitmap::try_new(self.bytes, self.len)
    }
}

/// An optional validity mask, materialized at the first null.
#[derive(Debug, Clone, Default)]
pub(crate) struct Validity(Option<Bits>);

impl Validity {
    /// A mask of `len` nulls (for a column that only saw nulls so far).
    pub(crate) fn all_null(len: usize) -> Self {
        if len == 0 {
            Self(None)
        } else {
            Self(Some(Bits::filled(len, false)))
        }
    }

    /// Records a value at row `len` (the number of rows before it).
    #[inline]
    pub(crate) fn push_valid(&mut self) {
        if let Some(bits) = &mut self.0 {
            bits.push(true);
        }
    }

    /// Records a null at row `len` (the number of rows before it).
    #[inline]
    pub(crate) fn push_null(&mut self, len: usize) {
        self.0
            .get_or_insert_with(|| Bits::filled(len, true))
            .push(false);
    }

    pub(crate) fn is_valid(&self, i: usize) -> bool {
        self.0.as_ref().is_none_or(|b| b.get(i))
    }

    pub(crate) fn truncate(&mut self, len: usize) {
        if let Some(bits) = &mut self.0 {
            bits.truncate(len);
        }
    }

    /// The Arrow validity bitmap; `len` is checked against the mask.
    pub(crate) fn into_bitmap(self, len: usize) -> PolarsResult<Option<Bitmap>> {
        match self.0 {
            None => Ok(None),
            Some(bits) if bits.len() == len => bits.into_bitmap().map(Some),
            Some(bits) => Err(polars_err!(
                ComputeError: "validity has {} rows, column has {}", bits.len(), len
            )),
        }
    }
}

/// Variable-length values (strings or bytes) as Arrow large offsets and data.
#[derive(Debug, Clone)]
pub(crate) struct VarBytes {
    offsets: Vec<i64>,
    data: Vec<u8>,
}

impl Default for VarBytes {
    fn default() -> Self {
        Self {
            offsets: vec![0],
            data: Vec::new(),
        }
    }
}

impl VarBytes {
    pub(crate) fn with_len_empty(len: usize) -> Self {
        Self {
            offsets: vec![0; len + 1],
            data: Vec::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    #[inline]
    pub(crate) fn push(&mut self, v: &[u8]) {
        self.data.extend_from_slice(v);
        self.offsets.push(self.data.len() as i64);
    }

    #[inline]
    pub(crate) fn push_empty(&mut self) {
        self.offsets.push(self.data.len() as i64);
    }

    pub(crate) fn get(&self, i: usize) -> &[u8] {
        let start = self.offsets.get(i).copied().unwrap_or(0) as usize;
        let end = self.offsets.get(i + 1).copied().unwrap_or(0) as usize;
        self.data.get(start..end).unwrap_or_default()
    }

    pub(crate) fn truncate(&mut self, len: usize) {
        if len < self.len() {
            self.offsets.truncate(len + 1);
            let end = self.offsets.last().copied().unwrap_or(0) as usize;
            self.data.truncate(end);
        }
    }

    /// A large-offset UTF-8 array (the data is checked to be UTF-8). Polars turns it into its
    /// string view type without copying the data.
    pub(crate) fn into_utf8_array(self, validity: Option<Bitmap>) -> PolarsResult<Box<dyn Array>> {
        Ok(Box::new(Utf8Array::<i64>::try_new(
            ArrowDataType::LargeUtf8,
            OffsetsBuffer::try_from(self.offsets)?,
            self.data.into(),
            validity,
        )?))
    }

    /// A large-offset binary array.
    pub(crate) fn into_binary_array(
        self,
        validity: Option<Bitmap>,
    ) -> PolarsResult<Box<dyn Array>> {
        Ok(Box::new(BinaryArray::<i64>::try_new(
            ArrowDataType::LargeBinary,
            OffsetsBuffer::try_from(self.offsets)?,
            self.data.into(),
            validity,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_push_truncate_extend() {
        let mut b = Bits::default();
        for i in 0..20 {
            b.push(i % 3 == 0);
        }
        b.truncate(10);
        b.push(true);
        for _ in 0..17 {
            b.push(true);
        }
        for _ in 0..3 {
            b.push(false);
        }
        let got: Vec<bool> = (0..b.len()).map(|i| b.get(i)).collect();
        let mut want: Vec<bool> = (0..10).map(|i| i % 3 == 0).collect();
        want.push(true);
        want.extend([true; 17]);
        want.extend([false; 3]);
        assert_eq!(got, want);
        assert!(!b.get(1000));
        let f = Bits::filled(13, true);
        assert_eq!((0..13).filter(|&i| f.get(i)).count(), 13);
        assert_eq!(f.into_bitmap().unwrap().unset_bits(), 0);
    }

    #[test]
    fn var_bytes_truncate() {
        let mut v = VarBytes::default();
        v.push(b"abc");
        v.push_empty();
        v.push(b"de");
        v.truncate(1);
        v.push(b"z");
        assert_eq!(v.len(), 2);
        assert_eq!(v.get(0), b"abc");
        assert_eq!(v.get(1), b"z");
        assert_eq!(v.get(7), b"");
    }
}
