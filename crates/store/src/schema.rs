//! The store's schema: the tables and columns of the OpenTelemetry Collector's ClickHouse
//! exporter (`otel_logs`, `otel_traces`, `otel_metrics_{gauge,sum,histogram,
//! exponential_histogram,summary}`), written once here and rendered both as DuckDB DDL (what
//! the store runs) and as ClickHouse DDL (what the exporter creates; tested with chDB), so a
//! query written against one runs on the other.
//!
//! ClickHouse's `Nested(...)` columns are stored flattened, as ClickHouse itself stores them:
//! `Events Nested(Timestamp, Name, Attributes)` is the three array columns `Events.Timestamp`,
//! `Events.Name` and `Events.Attributes` (quote them in DuckDB: `"Events.Name"`).

/// The schema version this build writes. Stored in `lookout_meta`; a store written by a newer
/// version is refused (moved aside), an older one is migrated by [`MIGRATIONS`].
pub const SCHEMA_VERSION: u32 = 1;

/// Steps from version N-1 to N (index 0 is version 1, the tables themselves).
pub const MIGRATIONS: &[&str] = &[];

/// A column type, in both dialects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// `DateTime64(9)` / `TIMESTAMP_NS`.
    TimeNs,
    /// `DateTime` / `TIMESTAMP_S`.
    TimeS,
    /// `String` / `VARCHAR`.
    Str,
    /// `LowCardinality(String)` / `VARCHAR`.
    LowStr,
    /// `Map(LowCardinality(String), String)` / `MAP(VARCHAR, VARCHAR)`.
    Map,
    /// `UInt8` / `UTINYINT`.
    U8,
    /// `UInt32` / `UINTEGER`.
    U32,
    /// `UInt64` / `UBIGINT`.
    U64,
    /// `Int32` / `INTEGER`.
    I32,
    /// `Float64` / `DOUBLE`.
    F64,
    /// `Bool` / `BOOLEAN`.
    Bool,
    /// `Array(UInt64)` / `UBIGINT[]`.
    ListU64,
    /// `Array(Float64)` / `DOUBLE[]`.
    ListF64,
    /// Nested members: arrays of the member type.
    /// `Array(DateTime64(9))` / `TIMESTAMP_NS[]`.
    ListTimeNs,
    /// `Array(String)` / `VARCHAR[]`.
    ListStr,
    /// `Array(Map(...))` / `MAP(VARCHAR, VARCHAR)[]`.
    ListMap,
}

impl Type {
    /// The DuckDB type.
    pub fn duckdb(self) -> &'static str {
        match self {
            Type::TimeNs => "TIMESTAMP_NS",
            Type::TimeS => "TIMESTAMP_S",
            Type::Str | Type::LowStr => "VARCHAR",
            Type::Map => "MAP(VARCHAR, VARCHAR)",
            Type::U8 => "UTINYINT",
            Type::U32 => "UINTEGER",
            Type::U64 => "UBIGINT",
            Type::I32 => "INTEGER",
            Type::F64 => "DOUBLE",
            Type::Bool => "BOOLEAN",
            Type::ListU64 => "UBIGINT[]",
            Type::ListF64 => "DOUBLE[]",
            Type::ListTimeNs => "TIMESTAMP_NS[]",
            Type::ListStr => "VARCHAR[]",
            Type::ListMap => "MAP(VARCHAR, VARCHAR)[]",
        }
    }

    /// The ClickHouse type (of a Nested member: the element type).
    pub fn clickhouse(self) -> &'static str {
        match self {
            Type::TimeNs | Type::ListTimeNs => "DateTime64(9)",
            Type::TimeS => "DateTime",
            Type::Str | Type::ListStr => "String",
            Type::LowStr => "LowCardinality(String)",
            Type::Map | Type::ListMap => "Map(LowCardinality(String), String)",
            Type::U8 => "UInt8",
            Type::U32 => "UInt32",
            Type::U64 => "UInt64",
            Type::I32 => "Int32",
            Type::F64 => "Float64",
            Type::Bool => "Bool",
            Type::ListU64 => "Array(UInt64)",
            Type::ListF64 => "Array(Float64)",
        }
    }
}

/// One column (`Events.Name` for a member of a Nested column).
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Its name.
    pub name: &'static str,
    /// Its type.
    pub ty: Type,
}

/// One table.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    /// Its name.
    pub name: &'static str,
    /// Its columns, in order.
    pub columns: &'static [Column],
    /// The column retention and time filters use.
    pub time: &'static str,
    /// ClickHouse's `PARTITION BY ... ORDER BY ...` clause, as the exporter has it.
    pub clickhouse_order: &'static str,
}

const fn c(name: &'static str, ty: Type) -> Column {
    Column { name, ty }
}

use Type::*;

/// Columns every metrics table starts with.
macro_rules! metric_head {
    () => {
        [
            c("ResourceAttributes", Map),
            c("ResourceSchemaUrl", Str),
            c("ScopeName", Str),
            c("ScopeVersion", Str),
            c("ScopeAttributes", Map),
            c("ScopeDroppedAttrCount", U32),
            c("ScopeSchemaUrl", Str),
            c("ServiceName", LowStr),
            c("MetricName", Str),
            c("MetricDescription", Str),
            c("MetricUnit", Str),
            c("Attributes", Map),
            c("StartTimeUnix", TimeNs),
            c("TimeUnix", TimeNs),
        ]
    };
}

const EXEMPLARS: [Column; 5] = [
    c("Exemplars.FilteredAttributes", ListMap),
    c("Exemplars.TimeUnix", ListTimeNs),
    c("Exemplars.Value", ListF64),
    c("Exemplars.SpanId", ListStr),
    c("Exemplars.TraceId", ListStr),
];

const fn concat<const A: usize, const B: usize, const N: usize>(
    a: [Column; A],
    b: [Column; B],
) -> [Column; N] {
    let mut out = [c("", Str); N];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    let mut j = 0;
    while j < B {
        out[A + j] = b[j];
        j += 1;
    }
    out
}

const LOGS: [Column; 16] = [
    c("Timestamp", TimeNs),
    c("TimestampTime", TimeS),
    c("TraceId", Str),
    c("SpanId", Str),
    c("TraceFlags", U8),
    c("SeverityText", LowStr),
    c("SeverityNumber", U8),
    c("ServiceName", LowStr),
    c("Body", Str),
    c("ResourceSchemaUrl", LowStr),
    c("ResourceAttributes", Map),
    c("ScopeSchemaUrl", LowStr),
    c("ScopeName", Str),
    c("ScopeVersion", LowStr),
    c("ScopeAttributes", Map),
    c("LogAttributes", Map),
];

const TRACES: [Column; 22] = [
    c("Timestamp", TimeNs),
    c("TraceId", Str),
    c("SpanId", Str),
    c("ParentSpanId", Str),
    c("TraceState", Str),
    c("SpanName", LowStr),
    c("SpanKind", LowStr),
    c("ServiceName", LowStr),
    c("ResourceAttributes", Map),
    c("ScopeName", Str),
    c("ScopeVersion", Str),
    c("SpanAttributes", Map),
    c("Duration", U64),
    c("StatusCode", LowStr),
    c("StatusMessage", Str),
    c("Events.Timestamp", ListTimeNs),
    c("Events.Name", ListStr),
    c("Events.Attributes", ListMap),
    c("Links.TraceId", ListStr),
    c("Links.SpanId", ListStr),
    c("Links.TraceState", ListStr),
    c("Links.Attributes", ListMap),
];

const GAUGE: [Column; 21] = concat(
    metric_head!(),
    concat::<2, 5, 7>([c("Value", F64), c("Flags", U32)], EXEMPLARS),
);

const SUM: [Column; 23] = concat(
    GAUGE,
    [c("AggregationTemporality", I32), c("IsMonotonic", Bool)],
);

const HISTOGRAM: [Column; 27] = concat(
    metric_head!(),
    concat::<4, 9, 13>(
        [
            c("Count", U64),
            c("Sum", F64),
            c("BucketCounts", ListU64),
            c("ExplicitBounds", ListF64),
        ],
        concat::<5, 4, 9>(
            EXEMPLARS,
            [
                c("Flags", U32),
                c("Min", F64),
                c("Max", F64),
                c("AggregationTemporality", I32),
            ],
        ),
    ),
);

const EXP_HISTOGRAM: [Column; 31] = concat(
    metric_head!(),
    concat::<8, 9, 17>(
        [
            c("Count", U64),
            c("Sum", F64),
            c("Scale", I32),
            c("ZeroCount", U64),
            c("PositiveOffset", I32),
            c("PositiveBucketCounts", ListU64),
            c("NegativeOffset", I32),
            c("NegativeBucketCounts", ListU64),
        ],
        concat::<5, 4, 9>(
            EXEMPLARS,
            [
                c("Flags", U32),
                c("Min", F64),
                c("Max", F64),
                c("AggregationTemporality", I32),
            ],
        ),
    ),
);

const SUMMARY: [Column; 19] = concat(
    metric_head!(),
    [
        c("Count", U64),
        c("Sum", F64),
        c("ValueAtQuantiles.Quantile", ListF64),
        c("ValueAtQuantiles.Value", ListF64),
        c("Flags", U32),
    ],
);

/// `otel_logs`.
pub const T_LOGS: Table = Table {
    name: "otel_logs",
    columns: &LOGS,
    time: "Timestamp",
    clickhouse_order:
        "PARTITION BY toDate(TimestampTime) ORDER BY (ServiceName, TimestampTime, Timestamp)",
};
/// `otel_traces`.
pub const T_TRACES: Table = Table {
    name: "otel_traces",
    columns: &TRACES,
    time: "Timestamp",
    clickhouse_order: "PARTITION BY toDate(Timestamp) ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)",
};
/// `otel_metrics_gauge`.
pub const T_GAUGE: Table = Table {
    name: "otel_metrics_gauge",
    columns: &GAUGE,
    time: "TimeUnix",
    clickhouse_order: "PARTITION BY toDate(TimeUnix) ORDER BY (ServiceName, MetricName, Attributes, toUnixTimestamp64Nano(TimeUnix))",
};
/// `otel_metrics_sum`.
pub const T_SUM: Table = Table {
    name: "otel_metrics_sum",
    columns: &SUM,
    time: "TimeUnix",
    clickhouse_order: "PARTITION BY toDate(TimeUnix) ORDER BY (ServiceName, MetricName, Attributes, toUnixTimestamp64Nano(TimeUnix))",
};
/// `otel_metrics_histogram`.
pub const T_HISTOGRAM: Table = Table {
    name: "otel_metrics_histogram",
    columns: &HISTOGRAM,
    time: "TimeUnix",
    clickhouse_order: "PARTITION BY toDate(TimeUnix) ORDER BY (ServiceName, MetricName, Attributes, toUnixTimestamp64Nano(TimeUnix))",
};
/// `otel_metrics_exponential_histogram`.
pub const T_EXP_HISTOGRAM: Table = Table {
    name: "otel_metrics_exponential_histogram",
    columns: &EXP_HISTOGRAM,
    time: "TimeUnix",
    clickhouse_order: "PARTITION BY toDate(TimeUnix) ORDER BY (ServiceName, MetricName, Attributes, toUnixTimestamp64Nano(TimeUnix))",
};
/// `otel_metrics_summary`.
pub const T_SUMMARY: Table = Table {
    name: "otel_metrics_summary",
    columns: &SUMMARY,
    time: "TimeUnix",
    clickhouse_order: "PARTITION BY toDate(TimeUnix) ORDER BY (ServiceName, MetricName, Attributes, toUnixTimestamp64Nano(TimeUnix))",
};

/// Every table.
pub const TABLES: [Table; 7] = [
    T_LOGS,
    T_TRACES,
    T_GAUGE,
    T_SUM,
    T_HISTOGRAM,
    T_EXP_HISTOGRAM,
    T_SUMMARY,
];

/// The table called `name`.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// DuckDB DDL of one table.
pub fn duckdb_ddl(t: &Table) -> String {
    let cols: Vec<String> = t
        .columns
        .iter()
        .map(|c| format!("    {} {}", quote(c.name), c.ty.duckdb()))
        .collect();
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n{}\n);\n",
        t.name,
        cols.join(",\n")
    )
}

/// ClickHouse DDL of one table (MergeTree, as the exporter creates it without a cluster or
/// TTL); dotted columns become one `Nested(...)` column.
pub fn clickhouse_ddl(t: &Table) -> String {
    let mut cols: Vec<String> = Vec::new();
    let mut i = 0;
    while i < t.columns.len() {
        let col = t.columns[i];
        if let Some((group, _)) = col.name.split_once('.') {
            let mut members = Vec::new();
            while i < t.columns.len() && t.columns[i].name.starts_with(&format!("{group}.")) {
                let m = t.columns[i];
                members.push(format!(
                    "{} {}",
                    &m.name[group.len() + 1..],
                    m.ty.clickhouse()
                ));
                i += 1;
            }
            cols.push(format!(
                "    `{group}` Nested({}) CODEC(ZSTD(1))",
                members.join(", ")
            ));
            continue;
        }
        let codec = match col.ty {
            Type::U8 | Type::Bool => "",
            Type::TimeNs if col.name != "StartTimeUnix" => " CODEC(Delta(8), ZSTD(1))",
            Type::TimeS => "",
            _ => " CODEC(ZSTD(1))",
        };
        let default = if col.name == "TimestampTime" {
            " DEFAULT toDateTime(Timestamp)"
        } else {
            ""
        };
        cols.push(format!(
            "    `{}` {}{default}{codec}",
            col.name,
            col.ty.clickhouse()
        ));
        i += 1;
    }
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n{}\n) ENGINE = MergeTree()\n{}\nSETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;\n",
        t.name,
        cols.join(",\n"),
        t.clickhouse_order
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_unique_and_named() {
        for t in TABLES {
            let mut names: Vec<&str> = t.columns.iter().map(|c| c.name).collect();
            assert!(names.iter().all(|n| !n.is_empty()), "{}", t.name);
            assert!(names.contains(&t.time), "{}", t.name);
            names.sort_unstable();
            let n = names.len();
            names.dedup();
            assert_eq!(names.len(), n, "duplicate column in {}", t.name);
        }
    }

    #[test]
    fn clickhouse_ddl_groups_nested_columns() {
        let ddl = clickhouse_ddl(&T_TRACES);
        assert!(ddl.contains("`Events` Nested(Timestamp DateTime64(9), Name String, Attributes Map(LowCardinality(String), String))"), "{ddl}");
        assert!(ddl.contains("`Links` Nested(TraceId String, SpanId String, TraceState String, Attributes Map(LowCardinality(String), String))"), "{ddl}");
        let ddl = clickhouse_ddl(&T_LOGS);
        assert!(
            ddl.contains("`TimestampTime` DateTime DEFAULT toDateTime(Timestamp)"),
            "{ddl}"
        );
        let ddl = duckdb_ddl(&T_SUMMARY);
        assert!(
            ddl.contains("\"ValueAtQuantiles.Quantile\" DOUBLE[]"),
            "{ddl}"
        );
    }
}
