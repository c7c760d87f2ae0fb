//! The [`table!`] macro: one declaration gives a table's [`TableDef`](super::TableDef),
//! its row struct, and the struct's conversions from and to frames
//! ([`TableRow`](super::TableRow)).

/// Declares a table (or a frame that crosses crates unstored).
///
/// ```text
/// table! {
///     /// Doc of the definition.
///     pub const NAME = "name", row Row: "what one row is", ordered by [key, ...];
///     columns {
///         field: RustType = ColumnType, "meaning";
///         ...
///     }
///     signals;                    // optional: the growth and breakout columns
///     derived { field: Type = "meaning" } // optional: fields not stored, default on read
/// }
/// ```
///
/// The column's Rust type decides its nullability (`Option` is nullable) and must hold
/// its column type; a mismatch does not compile.
macro_rules! table {
    // The signal columns close both weekly metric tables: written once, here.
    (
        $(#[doc = $doc:literal])*
        pub const $def:ident = $name:literal, row $row:ident: $what:literal,
            ordered by [$($key:ident),* $(,)?];
        columns { $($cols:tt)* }
        signals;
        $($rest:tt)*
    ) => {
        $crate::tables::table! {
            $(#[doc = $doc])*
            pub const $def = $name, row $row: $what, ordered by [$($key),*];
            columns {
                $($cols)*
                wow_growth: Option<f64> = F64,
                    "gained / previous week's gained - 1 (null if that is null or <= 0)";
                total_growth: Option<f64> = F64, "total_end / previous week's total_end - 1";
                avg4: Option<f64> = F64,
                    "mean gained of this and the 3 weeks before (all 4 present)";
                momentum: Option<f64> = F64, "gained / mean gained of the 4 weeks before - 1";
                z: Option<f64> = F64,
                    "robust z-score of gained against the 8 weeks before (at least 6 present; scale at least resolution)";
                z_median: Option<f64> = F64,
                    "median gained of the 8 weeks before, the centre of z (null when z is)";
                breakout: bool = Bool, "z >= 3.5 and gained > 0";
            }
            $($rest)*
        }
    };
    (
        $(#[doc = $doc:literal])*
        pub const $def:ident = $name:literal, row $row:ident: $what:literal,
            ordered by [$($key:ident),* $(,)?];
        columns { $($field:ident: $ty:ty = $cty:ident, $meaning:literal;)* }
        $(derived { $($dfield:ident: $dty:ty = $dmeaning:literal),* $(,)? })?
    ) => {
        $(#[doc = $doc])*
        pub const $def: $crate::tables::TableDef = $crate::tables::TableDef {
            name: $name,
            row: $what,
            columns: &[$($crate::tables::ColumnDef {
                name: stringify!($field),
                ty: $crate::tables::ColumnType::$cty,
                nullable: <$ty as $crate::tables::Cell>::NULLABLE,
                meaning: $meaning,
            }),*],
            order_by: &[$(stringify!($key)),*],
        };

        $(const _: () = assert!(
            $crate::tables::holds(
                <$ty as $crate::tables::Cell>::TYPES,
                $crate::tables::ColumnType::$cty,
            ),
            concat!($name, ".", stringify!($field), ": its Rust type cannot hold a ", stringify!($cty)),
        );)*

        #[doc = concat!("A row of `", $name, "`: ", $what, ".")]
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct $row {
            $(#[doc = $meaning] pub $field: $ty,)*
            $($(#[doc = $dmeaning] pub $dfield: $dty,)*)?
        }

        impl $crate::tables::TableRow for $row {
            const TABLE: &'static $crate::tables::TableDef = &$def;

            fn from_frame(
                df: &polars::prelude::DataFrame,
            ) -> Result<Vec<Self>, $crate::rows::RowError> {
                let cols = $crate::frame::Columns::table(df, &$def);
                $(let mut $field = <$ty as $crate::tables::Cell>::read(
                    &cols,
                    stringify!($field),
                    $crate::tables::ColumnType::$cty,
                )?
                .into_iter();)*
                Ok((0..df.height())
                    .map(|_| $row {
                        $($field: $field.next().expect("one value per row"),)*
                        $($($dfield: Default::default(),)*)?
                    })
                    .collect())
            }

            fn to_frame(
                rows: &[Self],
            ) -> polars::prelude::PolarsResult<polars::prelude::DataFrame> {
                polars::prelude::DataFrame::new(
                    rows.len(),
                    vec![$(<$ty as $crate::tables::Cell>::column(
                        stringify!($field),
                        $crate::tables::ColumnType::$cty,
                        rows.iter().map(|r| r.$field.clone()).collect(),
                    )?),*],
                )
            }
        }
    };
}

pub(crate) use table;
