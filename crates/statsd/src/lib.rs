//! StatsD / DogStatsD for lookout, as pure logic: a zero-copy line parser ([`parse_line`],
//! [`lines`]) and a per-window [`Aggregator`] that turns what was parsed into OTLP
//! [`Batch`](lookout_model::Batch)es. No I/O and no clock: the listeners feed datagrams and call
//! [`Aggregator::flush`] with the window bounds.
//!
//! # Parsing
//!
//! A datagram holds lines separated by `\n` ([`lines`] skips empty ones); a trailing `\r` is
//! ignored. A line must be UTF-8 (else `invalid_utf8`). It is an event if it starts with `_e{`,
//! a service check if it starts with `_sc`, a metric otherwise. Every rejection carries a stable
//! snake_case [`ParseError::reason`].
//!
//! **Metric** `name:value[:value…]|type[|field…]`:
//! - the text before the first `|` is split on its first `:` into name and values (no `:`:
//!   `missing_value`; empty name: `empty_name`); there must be a `|type` (`missing_type`), one of
//!   `c g ms h s d` (`unknown_type`);
//! - values: packed values `1:2:3` (DogStatsD v1.1) for every type but `s`, empty items skipped;
//!   each must be a finite decimal number (`NaN`, `inf`, `1e`, `1e999` are `bad_value`, as is an
//!   empty value). A set's value is kept verbatim, `:` included. A gauge value written with a
//!   leading `+` or `-` is a [`GaugeValue::Delta`] (`-5` moves the gauge by -5, as in Etsy
//!   statsd), otherwise a [`GaugeValue::Set`];
//! - fields after the type, in any order, matched by prefix: `@rate` (a number with
//!   `0 < rate <= 1`, else `bad_sample_rate`), `#tags` (comma list; `k:v` or a bare tag; the last
//!   `#` field wins), `c:container-id`, `T<unix seconds>` (only ASCII digits, > 0: `T`, `T-1`,
//!   `T0`, `TABCD` are `bad_timestamp`). `e:`, `card:`, empty and unknown fields are skipped.
//!
//! **Event** `_e{<title bytes>,<text bytes>}:title|text[|d:ts][|h:host][|k:key][|p:low|normal]
//! [|s:source][|t:error|warning|info|success][|#tags]`: the UTF-8 byte lengths delimit title and
//! text (so both may hold `|`); the title must be followed by `|` and the text by `|` or the end
//! of the line. Lengths that are not non-negative integers, exceed the line or split a character,
//! and an empty title, are `bad_event`. In title and text the two characters `\n` become a
//! newline. Unparsable `d:`, `p:` and `t:` values are ignored (priority `normal`, alert type
//! `info` by default); a repeated field takes the last value; unknown fields are skipped.
//!
//! **Service check** `_sc|name|status[|d:ts][|h:host][|#tags][|m:message]`: the name must be
//! non-empty and the status 0 (OK), 1 (WARNING), 2 (CRITICAL) or 3 (UNKNOWN), else
//! `bad_service_check`. `m:` comes last: everything after it, `|` included, is the message,
//! except trailing `|c:`, `|e:` and `|card:` origin fields that clients (the official Datadog
//! client among them) append after it.
//!
//! # Aggregation
//!
//! A **series** is (metric name, kind family, tag set, container id). Kind families: counter
//! (`c`), gauge (`g`), set (`s`), timing (`ms` and `h`), distribution (`d`). The tag set is
//! sorted by key; for a key given twice the last value wins (as OpenTelemetry attribute sets
//! do). Each tag becomes a string attribute (a bare tag has the value `""`), and the container
//! id the attribute `container.id` (replacing a tag of that name). Every metric and log record is
//! emitted under the instrumentation scope `lookout.statsd`, with the resource passed to
//! [`Aggregator::flush`]. Metrics have no unit. Within a batch, metrics are ordered by kind
//! family (counter, gauge, set, timing, distribution) then name; points come in a stable order
//! with the overflow series last.
//!
//! A window ends with [`Aggregator::flush`]`(window_start, now, resource)`:
//! - **Counters**: the sum of `value / rate` over the window, an OTLP **Sum** with
//!   `is_monotonic = false` (StatsD counters accept negative increments; the OpenTelemetry
//!   Collector's statsd receiver reports them non-monotonic by default), as doubles.
//!   [`CounterMode::Delta`] (default): Delta temporality, start = window start, time = now.
//!   [`CounterMode::Cumulative`]: Cumulative temporality, the running total since the series'
//!   first reported window (start = the start of that window); only series that received data
//!   in the window are reported.
//! - **Gauges**: the last value of the window, an OTLP **Gauge** (double, time = now). `+x`/`-x`
//!   move the previous value, also across windows (a delta with no remembered value starts
//!   from 0); only gauges updated in the window are emitted. The sample rate is ignored.
//! - **Sets**: the number of distinct members seen in the window (compared exactly), an OTLP
//!   **Gauge** (int). The sample rate is ignored.
//! - **Timers and histograms** (`ms`, `h`): one [`Sketch`] per series. [`TimerMode::Summary`]
//!   (default): an OTLP **Summary** (start = window start, time = now) with count, sum and
//!   quantiles 0 (the exact minimum), each configured percentile, and 1 (the exact maximum).
//!   [`TimerMode::Histogram`]: an OTLP **ExponentialHistogram**, Delta temporality, with count,
//!   sum, exact min and max, scale, zero count and positive and negative buckets.
//! - **Distributions** (`d`): always an ExponentialHistogram as above.
//! - **Sample rates** (`c`, `ms`, `h`, `d`): each value counts with weight `1 / rate`: sums add
//!   `value / rate`, sketch counts `1 / rate`. Weighted counts are rounded to the nearest integer
//!   only at emission, so that the bucket counts and the zero count add up exactly to `count`.
//! - **Timestamped points** (`|T`, counters and gauges only): not aggregated. Each value becomes
//!   its own point at that time: a counter's `value / rate` as a Delta Sum point (start = time =
//!   the timestamp; in cumulative mode these go in a separate Delta Sum of the same name), a
//!   gauge's value as written (a delta's number is taken as is). The timestamp of the other
//!   kinds is ignored and they are aggregated as usual.
//! - **Cardinality guard**: per metric (name and kind family), at most `max_series_per_metric`
//!   distinct series receive data in a window. Points of further new series go to one overflow
//!   series whose only attribute is `otel.metric.overflow = true` (as the OpenTelemetry SDK
//!   does), so totals stay right; each such line counts in [`AggStats::series_overflowed`].
//! - **Events and service checks** become log records, held until the flush (at most
//!   [`MAX_PENDING_LOGS`] per window). Event: body = text; attributes `statsd.event.title`,
//!   `statsd.event.alert_type`, `statsd.event.priority`, `statsd.event.source_type` and
//!   `statsd.event.aggregation_key` (when given), `host.name` (from `h:`), then the tags;
//!   severity ERROR for `error`, WARN for `warning`, INFO for `info` and `success`. Service
//!   check: body = the message, or `name: STATUS`; attributes `statsd.service_check.name`,
//!   `statsd.service_check.status` (int), `statsd.service_check.status_text`
//!   (`OK`/`WARNING`/`CRITICAL`/`UNKNOWN`), `host.name`, then the tags; severity INFO for OK,
//!   WARN for WARNING and UNKNOWN, ERROR for CRITICAL. Time = `d:` if given, else the `now`
//!   passed when the line was added (also the observed time).
//! - After a flush the window state is reset. Only gauge values and cumulative counter totals
//!   are kept, and those are forgotten after `gauge_idle_windows` consecutive windows without
//!   an update (then a cumulative counter starts over with a new start time).
//!
//! # The sketch
//!
//! [`Sketch`] is the OpenTelemetry base-2 exponential histogram: at scale `s`, base
//! `b = 2^(2^-s)` and bucket `i` = `(b^i, b^(i+1)]`, i.e. `i = ceil(log2(v)·2^s) - 1`. It starts
//! at scale 20 and downscales (merging buckets pairwise) whenever the index span of either sign
//! would exceed `max_buckets`. Zero and magnitudes below `f64::MIN_POSITIVE` count in the zero
//! bucket; negative values go to the negative buckets. Sketches merge exactly
//! ([`Sketch::merge`] gives the sketch of the union). A quantile is answered by the bucket
//! `(L, L·b]` holding its rank as `2·L·b / (1 + b)`, clamped to `[min, max]`: relative error at
//! most `(b - 1) / (b + 1)` ([`relative_error_bound`]). With the default 2048 buckets, data
//! whose max/min ratio is at most `2^(2047/128)` ≈ 65 180 (just under `2^16`; exactly `2^16`
//! needs 2049 buckets) keeps scale ≥ 7, so its percentiles are within 0.28% (0.271%).
//!
//! # Fuzzing
//!
//! [`fuzz_one`] is the body of the `statsd_parse` fuzz target; a unit test runs it on thousands
//! of random and mutated inputs.
#![deny(missing_docs)]

pub mod aggregate;
mod fuzz;
mod inline;
pub mod parse;
pub mod sketch;

pub use aggregate::{
    AggStats, Aggregator, AggregatorConfig, CounterMode, Flushed, TimerMode,
    CONTAINER_ID_ATTRIBUTE, MAX_PENDING_LOGS, OVERFLOW_ATTRIBUTE, SCOPE_NAME,
};
pub use fuzz::fuzz_one;
pub use inline::{InlineVec, IntoIter};
pub use parse::{
    error_json, lines, parse_line, status_text, AlertType, EventLine, GaugeValue, GaugeValues,
    Line, MetricKind, MetricLine, Numbers, ParseError, ParseErrorKind, Priority, ServiceCheckLine,
    Tags, Values,
};
pub use sketch::{relative_error_bound, Sketch};
