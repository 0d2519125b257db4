//! The inferred shape of a snapshot: [`Schema`], [`Field`], [`DataType`], [`FieldNote`].

use std::fmt;

use crate::temporal::TimeUnit;

/// The type of a column or of a nested field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DataType {
    /// Only nulls were seen.
    Null,
    /// Booleans.
    Boolean,
    /// 32-bit signed integers (partitions).
    Int32,
    /// 64-bit signed integers.
    Int64,
    /// 64-bit unsigned integers (only values above `i64::MAX` were seen with non-negative ones).
    UInt64,
    /// 64-bit floats.
    Float64,
    /// UTF-8 strings.
    Utf8,
    /// Byte strings.
    Binary,
    /// Timestamps: a count of the unit since 1970-01-01T00:00:00, and the time zone they are
    /// instants in, if any. Without one they are local date-times, except the snapshot's
    /// `_kafka_timestamp`, whose values are UTC (as in the original, whose frames attach no
    /// zone to it).
    Datetime(TimeUnit, Option<String>),
    /// Calendar dates (days since 1970-01-01).
    Date,
    /// Times of day (nanoseconds since midnight, as Polars holds them).
    Time,
    /// Exact decimals: `precision` significant digits (at most 38), `scale` of them after the
    /// point.
    Decimal {
        /// The number of significant digits.
        precision: u8,
        /// The number of digits after the decimal point.
        scale: u8,
    },
    /// Lists whose elements have the given type.
    List(Box<DataType>),
    /// Structs with the given fields, in order.
    Struct(Vec<Field>),
}

impl DataType {
    /// Whether this is a list or a struct.
    pub fn is_nested(&self) -> bool {
        matches!(self, DataType::List(_) | DataType::Struct(_))
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::Null => f.write_str("Null"),
            DataType::Boolean => f.write_str("Boolean"),
            DataType::Int32 => f.write_str("Int32"),
            DataType::Int64 => f.write_str("Int64"),
            DataType::UInt64 => f.write_str("UInt64"),
            DataType::Float64 => f.write_str("Float64"),
            DataType::Utf8 => f.write_str("Utf8"),
            DataType::Binary => f.write_str("Binary"),
            DataType::Datetime(unit, None) => write!(f, "Datetime({unit})"),
            DataType::Datetime(unit, Some(tz)) => write!(f, "Datetime({unit}, {tz})"),
            DataType::Date => f.write_str("Date"),
            DataType::Time => f.write_str("Time"),
            DataType::Decimal { precision, scale } => write!(f, "Decimal({precision}, {scale})"),
            DataType::List(inner) => write!(f, "List<{inner}>"),
            DataType::Struct(fields) => {
                f.write_str("Struct{")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}: {}", field.name, field.data_type)?;
                }
                f.write_str("}")
            }
        }
    }
}

/// Something inference had to decide about a field that a reader should know.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldNote {
    /// The field's values (or its list elements, at any depth) had types that do not share a
    /// column type, so each value is kept as its JSON text in a `Utf8` column.
    MixedTypesAsJsonText {
        /// The types seen, in the order they first appeared.
        seen: Vec<DataType>,
    },
}

impl fmt::Display for FieldNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldNote::MixedTypesAsJsonText { seen } => {
                f.write_str("mixed types kept as JSON text: ")?;
                for (i, t) in seen.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                Ok(())
            }
        }
    }
}

/// A named column or struct field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field {
    /// The name.
    pub name: String,
    /// The type.
    pub data_type: DataType,
    /// Whether nulls were seen (a missing field counts as null).
    pub nullable: bool,
    /// What inference had to decide about this field, if anything.
    pub note: Option<FieldNote>,
}

impl Field {
    /// A field without a note.
    pub fn new(name: impl Into<String>, data_type: DataType, nullable: bool) -> Self {
        Self {
            name: name.into(),
            data_type,
            nullable,
            note: None,
        }
    }

    /// Attaches a note.
    #[must_use]
    pub fn with_note(mut self, note: FieldNote) -> Self {
        self.note = Some(note);
        self
    }
}

/// The columns of a snapshot, in order: data columns first, then metadata columns.
///
/// Its [`Display`](fmt::Display) is a tree:
///
/// ```
/// use truthound_streaming_core::{DataType, Field, Schema};
///
/// let schema = Schema::new(vec![
///     Field::new("user_id", DataType::Int64, false),
///     Field::new("device", DataType::Struct(vec![
///         Field::new("os", DataType::Utf8, true),
///     ]), false),
///     Field::new("tags", DataType::List(Box::new(DataType::Utf8)), false),
/// ]);
/// assert_eq!(schema.to_string(), "\
/// schema (3 fields)
/// ├── user_id: Int64
/// ├── device: Struct
/// │   └── os: Utf8 (nullable)
/// └── tags: List<Utf8>
/// ");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Schema {
    /// The fields, in column order.
    pub fields: Vec<Field>,
}

impl Schema {
    /// A schema with the given fields.
    pub fn new(fields: Vec<Field>) -> Self {
        Self { fields }
    }

    /// The field named `name`, if any.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The column names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| f.name.as_str())
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no columns.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// Writes `fields` as tree lines under `prefix`.
fn write_tree(f: &mut fmt::Formatter<'_>, fields: &[Field], prefix: &str) -> fmt::Result {
    for (i, field) in fields.iter().enumerate() {
        let last = i + 1 == fields.len();
        let (branch, indent) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        // Struct children are drawn below the field, so the type line only names the kind.
        let mut children: Option<&[Field]> = None;
        let mut list_depth = 0;
        let mut inner = &field.data_type;
        while let DataType::List(t) = inner {
            list_depth += 1;
            inner = t;
        }
        if let DataType::Struct(fs) = inner {
            children = Some(fs);
        }
        write!(f, "{prefix}{branch}{}: ", field.name)?;
        if children.is_some() {
            for _ in 0..list_depth {
                f.write_str("List<")?;
            }
            f.write_str("Struct")?;
            for _ in 0..list_depth {
                f.write_str(">")?;
            }
        } else {
            write!(f, "{}", field.data_type)?;
        }
        if field.nullable {
            f.write_str(" (nullable)")?;
        }
        if let Some(note) = &field.note {
            write!(f, " [{note}]")?;
        }
        f.write_str("\n")?;
        if let Some(children) = children {
            write_tree(f, children, &format!("{prefix}{indent}"))?;
        }
    }
    Ok(())
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.fields.len();
        writeln!(f, "schema ({n} field{})", if n == 1 { "" } else { "s" })?;
        write_tree(f, &self.fields, "")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_display_covers_notes_and_lists_of_structs() {
        let schema = Schema::new(vec![
            Field::new("payload", DataType::Utf8, true).with_note(
                FieldNote::MixedTypesAsJsonText {
                    seen: vec![DataType::Int64, DataType::Utf8],
                },
            ),
            Field::new(
                "items",
                DataType::List(Box::new(DataType::Struct(vec![
                    Field::new("sku", DataType::Utf8, false),
                    Field::new("qty", DataType::Int64, false),
                ]))),
                false,
            ),
            Field::new(
                "_kafka_timestamp",
                DataType::Datetime(TimeUnit::Milliseconds, None),
                false,
            ),
        ]);
        assert_eq!(
            schema.to_string(),
            "schema (3 fields)\n\
             ├── payload: Utf8 (nullable) [mixed types kept as JSON text: Int64, Utf8]\n\
             ├── items: List<Struct>\n\
             │   ├── sku: Utf8\n\
             │   └── qty: Int64\n\
             └── _kafka_timestamp: Datetime(ms)\n"
        );
        assert_eq!(schema.len(), 3);
        assert_eq!(
            schema.names().collect::<Vec<_>>(),
            ["payload", "items", "_kafka_timestamp"]
        );
        assert_eq!(
            schema.field("items").map(|f| f.data_type.to_string()),
            Some("List<Struct{sku: Utf8, qty: Int64}>".to_owned())
        );
        assert!(schema.field("nope").is_none());
        assert!(Schema::default().is_empty());
        assert_eq!(Schema::default().to_string(), "schema (0 fields)\n");
    }
}
