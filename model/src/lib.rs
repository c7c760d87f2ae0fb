//! tagpulse's data model, at the bottom of the crate graph: what every stage agrees on.
//!
//! It owns the one definition of every stored table ([`tables`]), the normalised [`Tag`],
//! ISO-week helpers ([`week`]), the observations sources produce ([`observation`]), the
//! [`WeeklyTables`] a transform hands to the store and the report, and the signal
//! parameters ([`signal`]) the transform applies and the report prints. No I/O.

pub mod frame;
pub mod frames;
pub mod observation;
pub mod paths;
pub mod rows;
pub mod signal;
pub mod slices;
pub mod steps;
pub mod tables;
pub mod tag;
pub mod text;
pub mod week;

use chrono::NaiveDate;
use polars::prelude::*;

pub use observation::{
    dedup_latest, implausible_time, DailyCount, ObservationBatch, Snapshot, SnapshotSeries,
};
pub use slices::RowSlices;
pub use tables::{ColumnDef, ColumnType, SchemaError, TableDef, SIGNAL_COLUMNS};
pub use tag::{parse_ident, Tag, TagError};
pub use week::{date_from_days, days_from_date, iso_week_label, parse_iso_week, WeekError};

/// The weekly tables of one transform (one generation), and the taxonomy they used.
#[derive(Debug, Clone)]
pub struct WeeklyTables {
    /// `weekly_tag_metrics`.
    pub tags: DataFrame,
    /// `weekly_occupation_metrics`.
    pub occupations: DataFrame,
    /// `weekly_brand_metrics`.
    pub brands: DataFrame,
    /// `occupation_tags` (occupation, tag): stored beside the metrics so SQL can join them.
    pub occupation_tags: DataFrame,
}

impl WeeklyTables {
    /// The frames paired with their definitions, in [`tables::WEEKLY_TABLES`] order.
    pub fn frames(&self) -> [(&'static TableDef, &DataFrame); 4] {
        [
            (&tables::WEEKLY_TAG_METRICS, &self.tags),
            (&tables::WEEKLY_OCCUPATION_METRICS, &self.occupations),
            (&tables::WEEKLY_BRAND_METRICS, &self.brands),
            (&tables::OCCUPATION_TAGS, &self.occupation_tags),
        ]
    }

    /// Builds the tables from frames in [`tables::WEEKLY_TABLES`] order.
    pub fn from_frames([tags, occupations, brands, occupation_tags]: [DataFrame; 4]) -> Self {
        WeeklyTables {
            tags,
            occupations,
            brands,
            occupation_tags,
        }
    }

    /// Checks every frame against its table definition.
    pub fn check(&self) -> Result<(), SchemaError> {
        self.frames().iter().try_for_each(|(def, df)| def.check(df))
    }

    /// The tag rows' `week_start` as days since 1970 (none when the column is not a date).
    fn week_days(&self) -> Option<Int32Chunked> {
        let weeks = self.tags.column("week_start").ok()?;
        Some(
            weeks
                .as_materialized_series()
                .date()
                .ok()?
                .physical()
                .clone(),
        )
    }

    /// The weeks a report may show: complete ones (an observation at or after their end
    /// exists, so every week before the week of the newest observation) in which at
    /// least one tag has a `gained`. Ascending.
    pub fn complete_weeks(&self) -> Vec<NaiveDate> {
        let (Some(weeks), Ok(gained)) = (self.week_days(), self.tags.column("gained")) else {
            return Vec::new();
        };
        let (Some(newest), Ok(gained)) = (weeks.max(), gained.f64()) else {
            return Vec::new();
        };
        let with_gained: std::collections::BTreeSet<i32> = weeks
            .iter()
            .zip(gained.iter())
            .filter_map(|(w, g)| w.filter(|w| *w < newest && g.is_some()))
            .collect();
        with_gained.into_iter().filter_map(date_from_days).collect()
    }

    /// The week of the newest observation (the newest `week_start`).
    pub fn newest_week(&self) -> Option<NaiveDate> {
        date_from_days(self.week_days()?.max()?)
    }

    /// True when some tag has a row in the week starting `monday`.
    pub fn has_week(&self, monday: NaiveDate) -> bool {
        let day = days_from_date(monday);
        self.week_days()
            .is_some_and(|d| d.iter().any(|w| w == Some(day)))
    }

    /// The latest of [`WeeklyTables::complete_weeks`]: the report's default week.
    pub fn latest_complete_week(&self) -> Option<NaiveDate> {
        self.complete_weeks().last().copied()
    }
}
