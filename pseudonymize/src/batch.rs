//! Batch hashing over Arrow arrays: string columns in, `FixedSizeBinary(32)` out.
//!
//! One batch allocates its output buffer, its null bitmap and a few scratch buffers once; rows
//! then cost no allocation. A null in any input column gives a null key; a row whose fields
//! cannot be normalised (a wrong check digit, an impossible date …) also gives a null key and is
//! listed in [`KeyBatch::errors`] with its row number, so the caller can quarantine it.

use std::fmt;

use arrow_array::cast::AsArray;
use arrow_array::types::ByteArrayType;
use arrow_array::{Array, FixedSizeBinaryArray, GenericByteArray};
use arrow_buffer::{BooleanBufferBuilder, Buffer, NullBuffer};
use arrow_schema::DataType;

use crate::error::{Error, Result};
use crate::hasher::HmacSha256;
use crate::keyer::{LinkKeyer, rekey_with};
use crate::kinds::{self, KeyKind};
use crate::normalize;

/// Link keys for a batch of rows.
#[derive(Debug)]
pub struct KeyBatch {
    /// One 32-byte key a row; null where an input was null or a field unusable.
    pub keys: FixedSizeBinaryArray,
    /// The key version of every key in the batch.
    pub version: u32,
    /// The rows whose fields could not be used, with the reason (never the value).
    pub errors: Vec<RowError>,
}

/// A row of a batch that could not be keyed.
#[derive(Debug)]
pub struct RowError {
    /// The row, from 0.
    pub row: usize,
    /// What was wrong (names the field).
    pub error: Error,
}

/// A string column of any of Arrow's three string layouts.
enum StrColumn<'a> {
    Utf8(&'a arrow_array::StringArray),
    LargeUtf8(&'a arrow_array::LargeStringArray),
    View(&'a arrow_array::StringViewArray),
}

impl<'a> StrColumn<'a> {
    fn new(array: &'a dyn Array, index: usize, kind: KeyKind) -> Result<Self> {
        match array.data_type() {
            DataType::Utf8 => Ok(StrColumn::Utf8(array.as_string::<i32>())),
            DataType::LargeUtf8 => Ok(StrColumn::LargeUtf8(array.as_string::<i64>())),
            DataType::Utf8View => Ok(StrColumn::View(array.as_string_view())),
            _ => Err(Error::ColumnType {
                column: format!("{} (column {index} of {kind})", kind.fields()[index]),
                expected: "a string column (Utf8, LargeUtf8 or Utf8View)",
            }),
        }
    }

    #[inline]
    fn get(&self, row: usize) -> Option<&'a str> {
        match self {
            StrColumn::Utf8(a) => a.is_valid(row).then(|| a.value(row)),
            StrColumn::LargeUtf8(a) => a.is_valid(row).then(|| a.value(row)),
            StrColumn::View(a) => a.is_valid(row).then(|| a.value(row)),
        }
    }
}

impl fmt::Debug for StrColumn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StrColumn")
    }
}

/// Checks the column count and lengths; returns the typed columns and the row count.
fn columns<'a>(kind: KeyKind, arrays: &[&'a dyn Array]) -> Result<(Vec<StrColumn<'a>>, usize)> {
    let expected = kind.fields().len();
    if arrays.len() != expected {
        return Err(Error::ColumnCount {
            kind: kind.name(),
            expected,
            found: arrays.len(),
        });
    }
    let rows = arrays[0].len();
    if let Some(a) = arrays.iter().find(|a| a.len() != rows) {
        return Err(Error::LengthMismatch {
            expected: rows,
            found: a.len(),
        });
    }
    let cols = arrays
        .iter()
        .enumerate()
        .map(|(i, a)| StrColumn::new(*a, i, kind))
        .collect::<Result<_>>()?;
    Ok((cols, rows))
}

/// The output of a batch: keys written in place, a validity bit a row.
struct Output {
    bytes: Vec<u8>,
    valid: BooleanBufferBuilder,
    nulls: usize,
}

impl Output {
    fn new(rows: usize) -> Self {
        Output {
            bytes: vec![0u8; rows * 32],
            valid: BooleanBufferBuilder::new(rows),
            nulls: 0,
        }
    }

    fn slots(&mut self) -> &mut [[u8; 32]] {
        self.bytes.as_chunks_mut::<32>().0
    }

    fn finish(mut self) -> FixedSizeBinaryArray {
        let nulls = (self.nulls > 0).then(|| NullBuffer::new(self.valid.finish()));
        FixedSizeBinaryArray::new(32, Buffer::from_vec(self.bytes), nulls)
    }
}

impl LinkKeyer {
    /// Normalises and keys a batch: one column a field of `kind`, in [`KeyKind::fields`] order.
    ///
    /// ```
    /// use arrow_array::{Array, StringArray};
    /// use niji_pseudonymize::{KeyKind, LinkKeyer, MemoryKeyStore};
    /// let keyer = LinkKeyer::new(&MemoryKeyStore::generate().unwrap()).unwrap();
    /// let kana = StringArray::from(vec![Some("ｻﾄｳ ﾀﾛｳ"), None, Some("スズキ")]);
    /// let birth = StringArray::from(vec!["3550405", "19800405", "19800230"]);
    /// let sex = StringArray::from(vec!["1", "1", "2"]);
    /// let batch = keyer.key_batch(KeyKind::Id4, &[&kana, &birth, &sex]).unwrap();
    /// assert_eq!(batch.keys.len(), 3);
    /// assert!(batch.keys.is_valid(0) && batch.keys.is_null(1) && batch.keys.is_null(2));
    /// assert_eq!(batch.errors.len(), 1); // row 2: no 30 February
    /// assert_eq!(batch.errors[0].row, 2);
    /// ```
    pub fn key_batch(&self, kind: KeyKind, arrays: &[&dyn Array]) -> Result<KeyBatch> {
        let (cols, rows) = columns(kind, arrays)?;
        let fields = kind.fields();
        let mut out = Output::new(rows);
        let mut errors = Vec::new();
        let mut norm: Vec<String> = fields.iter().map(|_| String::with_capacity(64)).collect();
        let mut message = Vec::with_capacity(128);
        for row in 0..rows {
            let mut ok = true;
            for ((col, field), buf) in cols.iter().zip(fields).zip(norm.iter_mut()) {
                let Some(raw) = col.get(row) else {
                    ok = false;
                    break;
                };
                if let Err(error) = normalize::normalize_into(*field, raw, buf) {
                    errors.push(RowError { row, error });
                    ok = false;
                    break;
                }
            }
            out.valid.append(ok);
            if !ok {
                out.nulls += 1;
                continue;
            }
            kinds::write_message(kind, norm.iter().map(String::as_str), &mut message);
            out.slots()[row] = self.hash_message(kind, &message);
        }
        Ok(KeyBatch {
            keys: out.finish(),
            version: self.version(),
            errors,
        })
    }

    /// Keys a batch whose fields are already normalised (no normalisation is applied).
    pub fn key_batch_normalized(
        &self,
        kind: KeyKind,
        arrays: &[&dyn Array],
    ) -> Result<FixedSizeBinaryArray> {
        let (cols, rows) = columns(kind, arrays)?;
        let mut out = Output::new(rows);
        let mut message = Vec::with_capacity(128);
        for row in 0..rows {
            message.clear();
            message.extend_from_slice(kind.label());
            let mut ok = true;
            for col in &cols {
                let Some(v) = col.get(row) else {
                    ok = false;
                    break;
                };
                message.push(kinds::SEPARATOR);
                message.extend_from_slice(v.as_bytes());
            }
            out.valid.append(ok);
            if ok {
                out.slots()[row] = self.hash_message(kind, &message);
            } else {
                out.nulls += 1;
            }
        }
        Ok(out.finish())
    }

    /// Brings a column of `kind` link keys of version `from_version` to this keyer's version,
    /// without the raw identifiers. Nulls stay null.
    pub fn upgrade_batch(
        &self,
        kind: KeyKind,
        from_version: u32,
        keys: &FixedSizeBinaryArray,
    ) -> Result<FixedSizeBinaryArray> {
        let to = self.version();
        if from_version > to {
            return Err(Error::Downgrade {
                from: from_version,
                to,
            });
        }
        self.prepared(from_version)
            .ok_or(Error::UnknownKeyVersion {
                version: from_version,
            })?;
        if keys.value_length() != 32 {
            return Err(Error::LinkKeyLength {
                found: keys.value_length().max(0) as usize,
            });
        }
        let steps: Vec<&HmacSha256> = (from_version + 1..=to)
            .filter_map(|v| self.prepared(v))
            .collect();
        let mut out = Output::new(keys.len());
        for row in 0..keys.len() {
            let valid = keys.is_valid(row);
            out.valid.append(valid);
            if !valid {
                out.nulls += 1;
                continue;
            }
            let mut key: [u8; 32] = keys
                .value(row)
                .try_into()
                .map_err(|_| Error::LinkKeyLength { found: 0 })?;
            for step in &steps {
                key = rekey_with(step, kind, &key);
            }
            out.slots()[row] = key;
        }
        Ok(out.finish())
    }
}

impl HmacSha256 {
    /// The MAC of every value of a string or binary array (nulls stay null): the raw batch
    /// primitive under the link-key batches, and what the benchmark measures.
    pub fn mac_array<T: ByteArrayType>(
        &self,
        messages: &GenericByteArray<T>,
    ) -> FixedSizeBinaryArray
    where
        T::Native: AsRef<[u8]>,
    {
        let rows = messages.len();
        let mut out = Output::new(rows);
        let slots = out.bytes.as_chunks_mut::<32>().0;
        match messages.nulls() {
            None => {
                for (row, slot) in slots.iter_mut().enumerate() {
                    self.mac_into(messages.value(row).as_ref(), slot);
                }
            }
            Some(nulls) => {
                for (row, slot) in slots.iter_mut().enumerate() {
                    if nulls.is_valid(row) {
                        self.mac_into(messages.value(row).as_ref(), slot);
                    }
                }
                out.valid.append_buffer(nulls.inner());
                out.nulls = nulls.null_count();
            }
        }
        out.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keystore::{MemoryKeyStore, SecretKey};
    use crate::kinds::Identity;
    use arrow_array::{BinaryArray, StringArray, StringViewArray};

    fn keyer(n: u8) -> LinkKeyer {
        LinkKeyer::new(&MemoryKeyStore::from_keys(
            (1..=n).map(|i| SecretKey::from_bytes([i; 32])),
        ))
        .unwrap()
    }

    #[test]
    fn batch_equals_single_keys() {
        let k = keyer(2);
        let ins = StringArray::from(vec![
            Some("06130488"),
            Some("０６１３０４８８"),
            Some("06130487"),
            None,
        ]);
        let sym = StringArray::from(vec!["19D", "１９Ｄ", "19D", "19D"]);
        let num = StringViewArray::from(vec!["187", " 187", "187", "187"]);
        let br = StringArray::from(vec!["1", "01", "01", "01"]);
        let b = k.key_batch(KeyKind::Id5, &[&ins, &sym, &num, &br]).unwrap();
        let single = k
            .key(
                KeyKind::Id5,
                &Identity::new()
                    .insurer_number("06130488")
                    .symbol("19D")
                    .number("187")
                    .branch("01"),
            )
            .unwrap();
        assert_eq!(b.version, 2);
        assert_eq!(b.keys.value(0), single.bytes());
        assert_eq!(b.keys.value(1), single.bytes());
        assert!(b.keys.is_null(2) && b.keys.is_null(3));
        assert_eq!(b.errors.len(), 1);
        assert!(matches!(
            b.errors[0],
            RowError {
                row: 2,
                error: Error::CheckDigit { .. }
            }
        ));

        let normalized = StringArray::from(vec!["06130488"]);
        let (s, n, r) = (
            StringArray::from(vec!["19D"]),
            StringArray::from(vec!["187"]),
            StringArray::from(vec!["01"]),
        );
        let fast = k
            .key_batch_normalized(KeyKind::Id5, &[&normalized, &s, &n, &r])
            .unwrap();
        assert_eq!(fast.value(0), single.bytes());
    }

    #[test]
    fn shape_errors() {
        let k = keyer(1);
        let a = StringArray::from(vec!["x"]);
        let b = StringArray::from(vec!["x", "y"]);
        assert!(matches!(
            k.key_batch(KeyKind::Id4, &[&a, &a]),
            Err(Error::ColumnCount { .. })
        ));
        assert!(matches!(
            k.key_batch(KeyKind::Id4, &[&a, &a, &b]),
            Err(Error::LengthMismatch { .. })
        ));
        let bin = BinaryArray::from(vec![b"x".as_ref()]);
        assert!(matches!(
            k.key_batch(KeyKind::Id4, &[&a, &a, &bin]),
            Err(Error::ColumnType { .. })
        ));
    }

    #[test]
    fn upgrade_batch_matches_fresh_keys() {
        let (k1, k3) = (keyer(1), keyer(3));
        let kana = StringArray::from(vec![Some("サトウ"), None]);
        let birth = StringArray::from(vec!["19800405", "19800405"]);
        let sex = StringArray::from(vec!["1", "1"]);
        let cols: [&dyn Array; 3] = [&kana, &birth, &sex];
        let old = k1.key_batch(KeyKind::Id4, &cols).unwrap().keys;
        let up = k3.upgrade_batch(KeyKind::Id4, 1, &old).unwrap();
        let fresh = k3.key_batch(KeyKind::Id4, &cols).unwrap().keys;
        assert_eq!(up, fresh);
        assert!(up.is_null(1));
        assert!(matches!(
            k1.upgrade_batch(KeyKind::Id4, 3, &fresh),
            Err(Error::Downgrade { .. })
        ));
    }

    #[test]
    fn mac_array_matches_single_macs() {
        let h = HmacSha256::new(b"k");
        let msgs = BinaryArray::from(vec![Some(b"a".as_ref()), None, Some(&[0u8; 100][..])]);
        let out = h.mac_array(&msgs);
        assert_eq!(out.value(0), h.mac(b"a"));
        assert!(out.is_null(1));
        assert_eq!(out.value(2), h.mac(&[0u8; 100]));
        let no_nulls = h.mac_array(&StringArray::from(vec!["a"]));
        assert_eq!(no_nulls.null_count(), 0);
        assert_eq!(no_nulls.value(0), h.mac(b"a"));
    }
}
