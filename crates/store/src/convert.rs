//! OTLP batches to Arrow record batches, one per table, in the columns of [`crate::schema`]:
//! what DuckDB's appender takes in one call, column by column.
//!
//! The mapping follows the ClickHouse exporter: `ServiceName` from the resource's
//! `service.name`, ids as lower-case hex (empty when absent), attribute values as text (arrays
//! and maps rendered as `[a,b]` / `{k=v}`), span kinds and status codes by their proto names
//! (`SPAN_KIND_SERVER`, `STATUS_CODE_ERROR`), `Duration` in nanoseconds, a histogram's missing
//! min/max as 0.

use crate::schema::{Table, Type, TABLES, T_EXP_HISTOGRAM, T_GAUGE, T_HISTOGRAM, T_LOGS, T_SUM};
use crate::schema::{T_SUMMARY, T_TRACES};
use duckdb::arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int32Builder, ListBuilder, MapBuilder, StringBuilder,
    TimestampNanosecondBuilder, TimestampSecondBuilder, UInt32Builder, UInt64Builder, UInt8Builder,
};
use duckdb::arrow::record_batch::RecordBatch;
use lookout_model::otlp::{any_value, AnyValue, KeyValue};
use lookout_model::Batch;
use opentelemetry_proto::tonic::metrics::v1::{exemplar, metric, number_data_point, Exemplar};
use std::fmt::Write;
use std::sync::Arc;

type MapB = MapBuilder<StringBuilder, StringBuilder>;

enum Col {
    TimeNs(TimestampNanosecondBuilder),
    TimeS(TimestampSecondBuilder),
    Str(StringBuilder),
    Map(MapB),
    U8(UInt8Builder),
    U32(UInt32Builder),
    U64(UInt64Builder),
    I32(Int32Builder),
    F64(Float64Builder),
    Bool(BooleanBuilder),
    ListU64(ListBuilder<UInt64Builder>),
    ListF64(ListBuilder<Float64Builder>),
    ListTimeNs(ListBuilder<TimestampNanosecondBuilder>),
    ListStr(ListBuilder<StringBuilder>),
    ListMap(ListBuilder<MapB>),
}

impl Col {
    fn new(ty: Type) -> Col {
        match ty {
            Type::TimeNs => Col::TimeNs(TimestampNanosecondBuilder::new()),
            Type::TimeS => Col::TimeS(TimestampSecondBuilder::new()),
            Type::Str | Type::LowStr => Col::Str(StringBuilder::new()),
            Type::Map => Col::Map(MapBuilder::new(
                None,
                StringBuilder::new(),
                StringBuilder::new(),
            )),
            Type::U8 => Col::U8(UInt8Builder::new()),
            Type::U32 => Col::U32(UInt32Builder::new()),
            Type::U64 => Col::U64(UInt64Builder::new()),
            Type::I32 => Col::I32(Int32Builder::new()),
            Type::F64 => Col::F64(Float64Builder::new()),
            Type::Bool => Col::Bool(BooleanBuilder::new()),
            Type::ListU64 => Col::ListU64(ListBuilder::new(UInt64Builder::new())),
            Type::ListF64 => Col::ListF64(ListBuilder::new(Float64Builder::new())),
            Type::ListTimeNs => {
                Col::ListTimeNs(ListBuilder::new(TimestampNanosecondBuilder::new()))
            }
            Type::ListStr => Col::ListStr(ListBuilder::new(StringBuilder::new())),
            Type::ListMap => Col::ListMap(ListBuilder::new(MapBuilder::new(
                None,
                StringBuilder::new(),
                StringBuilder::new(),
            ))),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Col::TimeNs(b) => Arc::new(b.finish()),
            Col::TimeS(b) => Arc::new(b.finish()),
            Col::Str(b) => Arc::new(b.finish()),
            Col::Map(b) => Arc::new(b.finish()),
            Col::U8(b) => Arc::new(b.finish()),
            Col::U32(b) => Arc::new(b.finish()),
            Col::U64(b) => Arc::new(b.finish()),
            Col::I32(b) => Arc::new(b.finish()),
            Col::F64(b) => Arc::new(b.finish()),
            Col::Bool(b) => Arc::new(b.finish()),
            Col::ListU64(b) => Arc::new(b.finish()),
            Col::ListF64(b) => Arc::new(b.finish()),
            Col::ListTimeNs(b) => Arc::new(b.finish()),
            Col::ListStr(b) => Arc::new(b.finish()),
            Col::ListMap(b) => Arc::new(b.finish()),
        }
    }
}

/// A value of an attribute as text; a string is borrowed.
fn text(v: Option<&AnyValue>, scratch: &mut String) -> bool {
    scratch.clear();
    match v.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => scratch.push_str(s),
        other => {
            if other.is_none() {
                return true;
            }
            scratch.push_str(&lookout_model::attr::value_to_string(v));
        }
    }
    true
}

/// Appends attributes to a map builder, the first of a repeated key kept (DuckDB refuses
/// duplicate map keys).
fn push_map(b: &mut MapB, attrs: &[KeyValue], scratch: &mut String) {
    for (i, kv) in attrs.iter().enumerate() {
        if attrs[..i].iter().any(|k| k.key == kv.key) {
            continue;
        }
        text(kv.value.as_ref(), scratch);
        b.keys().append_value(&kv.key);
        b.values().append_value(scratch.as_str());
    }
    // appending `true` cannot fail for builders whose keys and values got the same count
    let _ = b.append(true);
}

fn ns(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

fn hex(id: &[u8]) -> String {
    let mut s = String::with_capacity(id.len() * 2);
    for b in id {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// `fn name(&mut self, v: T) -> &mut Self` appending one value to the next column, which
/// must be of the given variant.
macro_rules! scalar_pushes {
    ($($name:ident($v:ident: $t:ty) => $variant:ident, $what:literal, $conv:expr;)*) => {$(
        fn $name(&mut self, $v: $t) -> &mut Self {
            match self.col() {
                Some(Col::$variant(b)) => b.append_value($conv),
                _ => self.wrong($what),
            }
            self
        }
    )*};
}

/// `fn name(&mut self, v: impl Iterator<Item = T>) -> &mut Self` appending one list.
macro_rules! list_pushes {
    ($($name:ident($x:ident: $t:ty) => $variant:ident, $what:literal, $conv:expr;)*) => {$(
        fn $name(&mut self, v: impl Iterator<Item = $t>) -> &mut Self {
            match self.col() {
                Some(Col::$variant(b)) => {
                    for $x in v {
                        b.values().append_value($conv);
                    }
                    b.append(true);
                }
                _ => self.wrong($what),
            }
            self
        }
    )*};
}

/// The rows of one table being built.
pub struct TableRows {
    /// The table.
    pub table: &'static Table,
    cols: Vec<Col>,
    cursor: usize,
    rows: usize,
    /// A value of the wrong type was pushed (a bug): the batch is refused.
    broken: Option<String>,
    scratch: String,
}

impl TableRows {
    fn new(table: &'static Table) -> Self {
        TableRows {
            table,
            cols: table.columns.iter().map(|c| Col::new(c.ty)).collect(),
            cursor: 0,
            rows: 0,
            broken: None,
            scratch: String::new(),
        }
    }

    /// Rows so far.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    fn col(&mut self) -> Option<&mut Col> {
        let i = self.cursor;
        self.cursor += 1;
        self.cols.get_mut(i)
    }

    fn wrong(&mut self, what: &str) {
        if self.broken.is_none() {
            let col = self
                .table
                .columns
                .get(self.cursor.saturating_sub(1))
                .map_or("?", |c| c.name);
            self.broken = Some(format!("{}.{col}: got {what}", self.table.name));
        }
    }

    scalar_pushes! {
        time_ns(t: u64) => TimeNs, "a timestamp", ns(t);
        time_s(t: u64) => TimeS, "a timestamp in seconds", ns(t / 1_000_000_000);
        str(v: &str) => Str, "a string", v;
        u8(v: u8) => U8, "a u8", v;
        u32(v: u32) => U32, "a u32", v;
        u64(v: u64) => U64, "a u64", v;
        i32(v: i32) => I32, "an i32", v;
        f64(v: f64) => F64, "a float", v;
        bool(v: bool) => Bool, "a bool", v;
    }
    list_pushes! {
        list_f64(x: f64) => ListF64, "a list of floats", x;
        list_time(x: u64) => ListTimeNs, "a list of timestamps", ns(x);
    }
    fn map(&mut self, attrs: &[KeyValue]) -> &mut Self {
        let i = self.cursor;
        self.cursor += 1;
        match self.cols.get_mut(i) {
            Some(Col::Map(b)) => push_map(b, attrs, &mut self.scratch),
            _ => self.wrong("a map"),
        }
        self
    }
    fn list_u64(&mut self, v: &[u64]) -> &mut Self {
        match self.col() {
            Some(Col::ListU64(b)) => {
                b.values().append_slice(v);
                b.append(true);
            }
            _ => self.wrong("a list of u64"),
        }
        self
    }
    fn list_str<S: AsRef<str>>(&mut self, v: impl Iterator<Item = S>) -> &mut Self {
        match self.col() {
            Some(Col::ListStr(b)) => {
                for x in v {
                    b.values().append_value(x);
                }
                b.append(true);
            }
            _ => self.wrong("a list of strings"),
        }
        self
    }
    fn list_map<'a>(&mut self, v: impl Iterator<Item = &'a [KeyValue]>) -> &mut Self {
        let i = self.cursor;
        self.cursor += 1;
        match self.cols.get_mut(i) {
            Some(Col::ListMap(b)) => {
                for attrs in v {
                    push_map(b.values(), attrs, &mut self.scratch);
                }
                b.append(true);
            }
            _ => self.wrong("a list of maps"),
        }
        self
    }
    fn exemplars(&mut self, ex: &[Exemplar]) -> &mut Self {
        self.list_map(ex.iter().map(|e| e.filtered_attributes.as_slice()))
            .list_time(ex.iter().map(|e| e.time_unix_nano))
            .list_f64(ex.iter().map(|e| match e.value {
                Some(exemplar::Value::AsDouble(d)) => d,
                Some(exemplar::Value::AsInt(i)) => i as f64,
                None => 0.0,
            }))
            .list_str(ex.iter().map(|e| hex(&e.span_id)))
            .list_str(ex.iter().map(|e| hex(&e.trace_id)))
    }
    fn end_row(&mut self) {
        if self.cursor != self.cols.len() && self.broken.is_none() {
            self.broken = Some(format!(
                "{}: a row of {} values for {} columns",
                self.table.name,
                self.cursor,
                self.cols.len()
            ));
        }
        self.cursor = 0;
        self.rows += 1;
    }

    /// The rows as one record batch (the builders are emptied).
    pub fn finish(&mut self) -> Result<RecordBatch, String> {
        if let Some(b) = self.broken.take() {
            return Err(format!("internal error converting a batch: {b}"));
        }
        let cols: Vec<(String, ArrayRef)> = self
            .table
            .columns
            .iter()
            .zip(self.cols.iter_mut())
            .map(|(c, b)| (c.name.to_string(), b.finish()))
            .collect();
        self.rows = 0;
        RecordBatch::try_from_iter(cols).map_err(|e| format!("internal error: {e}"))
    }
}

/// Rows for every table, filled batch by batch.
pub struct Rows {
    /// One per table, in [`TABLES`] order.
    pub tables: Vec<TableRows>,
}

impl Default for Rows {
    fn default() -> Self {
        Rows {
            tables: TABLES.iter().map(TableRows::new).collect(),
        }
    }
}

fn service_name(resource: &[KeyValue]) -> &str {
    lookout_model::attr::get_str(resource, "service.name").unwrap_or("")
}

fn span_kind(k: i32) -> &'static str {
    match k {
        1 => "SPAN_KIND_INTERNAL",
        2 => "SPAN_KIND_SERVER",
        3 => "SPAN_KIND_CLIENT",
        4 => "SPAN_KIND_PRODUCER",
        5 => "SPAN_KIND_CONSUMER",
        _ => "SPAN_KIND_UNSPECIFIED",
    }
}

fn status_code(c: i32) -> &'static str {
    match c {
        1 => "STATUS_CODE_OK",
        2 => "STATUS_CODE_ERROR",
        _ => "STATUS_CODE_UNSET",
    }
}

impl Rows {
    /// Rows in all tables.
    pub fn len(&self) -> usize {
        self.tables.iter().map(TableRows::len).sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows as record batches, `(table index, batch)` for each table that has rows, as
    /// [`crate::Store::write_blocking`] takes them (the builders are emptied).
    pub fn finish(&mut self) -> Result<Vec<(usize, RecordBatch)>, String> {
        let mut out = Vec::new();
        for (i, t) in self.tables.iter_mut().enumerate() {
            if !t.is_empty() {
                out.push((i, t.finish()?));
            }
        }
        Ok(out)
    }

    fn t(&mut self, table: &Table) -> &mut TableRows {
        let i = TABLES
            .iter()
            .position(|t| t.name == table.name)
            .unwrap_or(0);
        &mut self.tables[i]
    }

    /// Adds the rows of one batch; returns how many.
    pub fn add(&mut self, batch: &Batch) -> usize {
        let before = self.len();
        match batch {
            Batch::Logs(req) => {
                let t = self.t(&T_LOGS);
                let mut body = String::new();
                for rl in &req.resource_logs {
                    let res: &[KeyValue] = rl.resource.as_ref().map_or(&[], |r| &r.attributes);
                    let service = service_name(res);
                    for sl in &rl.scope_logs {
                        let (sname, sver, sattrs): (&str, &str, &[KeyValue]) = sl
                            .scope
                            .as_ref()
                            .map_or(("", "", &[]), |s| (&s.name, &s.version, &s.attributes));
                        for r in &sl.log_records {
                            let ts = if r.time_unix_nano != 0 {
                                r.time_unix_nano
                            } else {
                                r.observed_time_unix_nano
                            };
                            text(r.body.as_ref(), &mut body);
                            t.time_ns(ts)
                                .time_s(ts)
                                .str(&hex(&r.trace_id))
                                .str(&hex(&r.span_id))
                                .u8((r.flags & 0xff) as u8)
                                .str(&r.severity_text)
                                .u8(u8::try_from(r.severity_number).unwrap_or(0))
                                .str(service)
                                .str(&body)
                                .str(&rl.schema_url)
                                .map(res)
                                .str(&sl.schema_url)
                                .str(sname)
                                .str(sver)
                                .map(sattrs)
                                .map(&r.attributes)
                                .end_row();
                        }
                    }
                }
            }
            Batch::Traces(req) => {
                let t = self.t(&T_TRACES);
                for rs in &req.resource_spans {
                    let res: &[KeyValue] = rs.resource.as_ref().map_or(&[], |r| &r.attributes);
                    let service = service_name(res);
                    for ss in &rs.scope_spans {
                        let (sname, sver): (&str, &str) = ss
                            .scope
                            .as_ref()
                            .map_or(("", ""), |s| (&s.name, &s.version));
                        for s in &ss.spans {
                            let (code, msg) = s
                                .status
                                .as_ref()
                                .map_or((0, ""), |st| (st.code, st.message.as_str()));
                            t.time_ns(s.start_time_unix_nano)
                                .str(&hex(&s.trace_id))
                                .str(&hex(&s.span_id))
                                .str(&hex(&s.parent_span_id))
                                .str(&s.trace_state)
                                .str(&s.name)
                                .str(span_kind(s.kind))
                                .str(service)
                                .map(res)
                                .str(sname)
                                .str(sver)
                                .map(&s.attributes)
                                .u64(s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano))
                                .str(status_code(code))
                                .str(msg)
                                .list_time(s.events.iter().map(|e| e.time_unix_nano))
                                .list_str(s.events.iter().map(|e| e.name.as_str()))
                                .list_map(s.events.iter().map(|e| e.attributes.as_slice()))
                                .list_str(s.links.iter().map(|l| hex(&l.trace_id)))
                                .list_str(s.links.iter().map(|l| hex(&l.span_id)))
                                .list_str(s.links.iter().map(|l| l.trace_state.as_str()))
                                .list_map(s.links.iter().map(|l| l.attributes.as_slice()))
                                .end_row();
                        }
                    }
                }
            }
            Batch::Metrics(req) => {
                for rm in &req.resource_metrics {
                    let res: &[KeyValue] = rm.resource.as_ref().map_or(&[], |r| &r.attributes);
                    let service = service_name(res);
                    for sm in &rm.scope_metrics {
                        let (sname, sver, sattrs, sdropped): (&str, &str, &[KeyValue], u32) =
                            sm.scope.as_ref().map_or(("", "", &[], 0), |s| {
                                (
                                    &s.name,
                                    &s.version,
                                    &s.attributes,
                                    s.dropped_attributes_count,
                                )
                            });
                        for m in &sm.metrics {
                            let head =
                                |t: &mut TableRows, attrs: &[KeyValue], start: u64, time: u64| {
                                    t.map(res)
                                        .str(&rm.schema_url)
                                        .str(sname)
                                        .str(sver)
                                        .map(sattrs)
                                        .u32(sdropped)
                                        .str(&sm.schema_url)
                                        .str(service)
                                        .str(&m.name)
                                        .str(&m.description)
                                        .str(&m.unit)
                                        .map(attrs)
                                        .time_ns(start)
                                        .time_ns(time);
                                };
                            let number = |v: &Option<number_data_point::Value>| match v {
                                Some(number_data_point::Value::AsDouble(d)) => *d,
                                Some(number_data_point::Value::AsInt(i)) => *i as f64,
                                None => 0.0,
                            };
                            match &m.data {
                                Some(metric::Data::Gauge(g)) => {
                                    let t = self.t(&T_GAUGE);
                                    for p in &g.data_points {
                                        head(
                                            t,
                                            &p.attributes,
                                            p.start_time_unix_nano,
                                            p.time_unix_nano,
                                        );
                                        t.f64(number(&p.value))
                                            .u32(p.flags)
                                            .exemplars(&p.exemplars)
                                            .end_row();
                                    }
                                }
                                Some(metric::Data::Sum(s)) => {
                                    let t = self.t(&T_SUM);
                                    for p in &s.data_points {
                                        head(
                                            t,
                                            &p.attributes,
                                            p.start_time_unix_nano,
                                            p.time_unix_nano,
                                        );
                                        t.f64(number(&p.value))
                                            .u32(p.flags)
                                            .exemplars(&p.exemplars)
                                            .i32(s.aggregation_temporality)
                                            .bool(s.is_monotonic)
                                            .end_row();
                                    }
                                }
                                Some(metric::Data::Histogram(h)) => {
                                    let t = self.t(&T_HISTOGRAM);
                                    for p in &h.data_points {
                                        head(
                                            t,
                                            &p.attributes,
                                            p.start_time_unix_nano,
                                            p.time_unix_nano,
                                        );
                                        t.u64(p.count)
                                            .f64(p.sum.unwrap_or(0.0))
                                            .list_u64(&p.bucket_counts)
                                            .list_f64(p.explicit_bounds.iter().copied())
                                            .exemplars(&p.exemplars)
                                            .u32(p.flags)
                                            .f64(p.min.unwrap_or(0.0))
                                            .f64(p.max.unwrap_or(0.0))
                                            .i32(h.aggregation_temporality)
                                            .end_row();
                                    }
                                }
                                Some(metric::Data::ExponentialHistogram(h)) => {
                                    let t = self.t(&T_EXP_HISTOGRAM);
                                    for p in &h.data_points {
                                        head(
                                            t,
                                            &p.attributes,
                                            p.start_time_unix_nano,
                                            p.time_unix_nano,
                                        );
                                        let (po, pc) =
                                            p.positive.as_ref().map_or((0, &[][..]), |b| {
                                                (b.offset, b.bucket_counts.as_slice())
                                            });
                                        let (no, nc) =
                                            p.negative.as_ref().map_or((0, &[][..]), |b| {
                                                (b.offset, b.bucket_counts.as_slice())
                                            });
                                        t.u64(p.count)
                                            .f64(p.sum.unwrap_or(0.0))
                                            .i32(p.scale)
                                            .u64(p.zero_count)
                                            .i32(po)
                                            .list_u64(pc)
                                            .i32(no)
                                            .list_u64(nc)
                                            .exemplars(&p.exemplars)
                                            .u32(p.flags)
                                            .f64(p.min.unwrap_or(0.0))
                                            .f64(p.max.unwrap_or(0.0))
                                            .i32(h.aggregation_temporality)
                                            .end_row();
                                    }
                                }
                                Some(metric::Data::Summary(s)) => {
                                    let t = self.t(&T_SUMMARY);
                                    for p in &s.data_points {
                                        head(
                                            t,
                                            &p.attributes,
                                            p.start_time_unix_nano,
                                            p.time_unix_nano,
                                        );
                                        t.u64(p.count)
                                            .f64(p.sum)
                                            .list_f64(p.quantile_values.iter().map(|q| q.quantile))
                                            .list_f64(p.quantile_values.iter().map(|q| q.value))
                                            .u32(p.flags)
                                            .end_row();
                                    }
                                }
                                None => {}
                            }
                        }
                    }
                }
            }
        }
        self.len() - before
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use duckdb::arrow::array::{Array, MapArray, StringArray};

    #[test]
    fn every_table_converts_with_its_columns() {
        // a row of every kind, through the real builders
        let mut rows = Rows::default();
        let n: usize = crate::testdata::every_kind()
            .iter()
            .map(|b| rows.add(b))
            .sum();
        assert_eq!(n, 7);
        for t in &mut rows.tables {
            let n = t.len();
            let name = t.table.name;
            let b = t.finish().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(b.num_columns(), t.table.columns.len(), "{name}");
            assert_eq!(b.num_rows(), n, "{name}");
        }
        let mut rows = Rows::default();
        for b in crate::testdata::every_kind() {
            rows.add(&b);
        }
        let logs = rows.tables[0].finish().unwrap();
        let body = logs
            .column(8)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(body.value(0), "GET /cart 500");
        let attrs = logs.column(15).as_any().downcast_ref::<MapArray>().unwrap();
        assert_eq!(attrs.value(0).len(), 2, "the duplicate key is kept once");
    }
}
